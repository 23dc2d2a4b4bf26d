/*
 * siphash.c: SipHash-2-4 (Aumasson and Bernstein), a keyed hash whose
 * outputs cannot be predicted without the key.  The connection table
 * places flows with it, so that clients outside the cluster, who choose
 * their addresses and ports, cannot aim their flows at one bucket.
 */
#include "config.h"

#include <string.h>

#include "shmnet_private.h"

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

/* sip_round: one SipRound over the state v[0..3]. */
static void
sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

/* sip_le64: eight bytes, little endian. */
static uint64_t
sip_le64(const uint8_t *p)
{
	uint64_t x = 0;
	int i;

	for (i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

/* sip_block: absorb one 64-bit message word. */
static void
sip_block(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

/* siphash24: the 64-bit SipHash-2-4 of len bytes under a 16-byte key. */
uint64_t
siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len)
{
	const uint8_t *p = msg;
	uint64_t k0 = sip_le64(key), k1 = sip_le64(key + 8), v[4];
	uint8_t tail[8] = { 0 };
	size_t i;

	v[0] = k0 ^ 0x736f6d6570736575ull;
	v[1] = k1 ^ 0x646f72616e646f6dull;
	v[2] = k0 ^ 0x6c7967656e657261ull;
	v[3] = k1 ^ 0x7465646279746573ull;
	for (i = 0; i + 8 <= len; i += 8)
		sip_block(v, sip_le64(p + i));
	memcpy(tail, p + i, len - i);
	sip_block(v, sip_le64(tail) | ((uint64_t)(len & 0xff) << 56));
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
