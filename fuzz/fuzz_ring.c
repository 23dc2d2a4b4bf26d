/*
 * fuzz_ring: the ring readers over arbitrary shared-memory contents.  The
 * first input bytes choose a geometry; a valid pair ring and broadcast
 * ring of that geometry are laid out, and the rest of the input is
 * written over their indexes and descriptors (a peer scribbling on them).
 * The consumer, the producer and the broadcast reader must reject what
 * cannot be valid without touching memory outside the rings (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shmnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* scribble: overwrite ring bytes from `from` on with the input. */
static void
scribble(uint8_t *mem, uint64_t len, const uint8_t *data, size_t size)
{
	size_t i;
	uint64_t at;

	/* pairs of (offset within the first 64 KiB, byte) */
	for (i = 0; i + 2 < size; i += 3) {
		at = ((uint64_t)data[i] | ((uint64_t)data[i + 1] << 8)) % len;
		mem[at] = data[i + 2];
	}
}

static void
drain_pair(uint8_t *mem, uint64_t bytes)
{
	struct ring_rx rx;
	struct ring_tx tx;
	struct ring_slot s;
	uint8_t frame[64] = { 0 };
	int i, rc;

	if (ring_rx_attach(&rx, mem, bytes, 7, 1, 2) == 0)
		for (i = 0; i < 512 && (rc = ring_rx_peek(&rx, &s)) == 1; i++) {
			volatile uint8_t sink = s.data[s.len - 1];
			(void)sink;
			ring_rx_consume(&rx, &s);
			ring_rx_publish(&rx);
		}
	if (ring_tx_attach(&tx, mem, bytes, 7, 1, 2) == 0)
		for (i = 0; i < 64; i++)
			if (ring_tx_push(&tx, NULL, frame, sizeof(frame)) != 0)
				break;
}

static void
drain_cast(uint8_t *mem, uint64_t bytes)
{
	static uint8_t buf[SHM_FRAME_MAX];
	struct cast_rx rx;
	uint8_t vnet[SHM_VNET_HDR_LEN];
	uint64_t lost = 0;
	uint32_t len;
	uint16_t from;
	int i;

	if (cast_attach(&rx, mem, bytes) != 0)
		return;
	rx.cursor -= (uint32_t)rx.v.slots / 2; /* start behind the writer */
	for (i = 0; i < 512; i++)
		if (cast_read(&rx, buf, sizeof(buf), &len, vnet, &from,
			&lost) != 1)
			break;
	(void)cast_write_locked(mem, bytes, 1, NULL, buf, 64);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t slots, slot_size;
	uint64_t bytes;
	uint8_t *mem;

	if (size < 2)
		return 0;
	slots = 2u << (data[0] % 8);      /* 2 .. 256 */
	slot_size = 64u << (data[1] % 6); /* 64 .. 2048 */
	bytes = ring_bytes(slots, slot_size);
	if ((mem = calloc(1, bytes)) == NULL)
		return 0;
	if (ring_init(mem, bytes, slots, slot_size, 1, 2, 1, 0, 7) == 0) {
		scribble(mem, bytes, data + 2, size - 2);
		drain_pair(mem, bytes);
	}
	memset(mem, 0, bytes);
	if (cast_init(mem, bytes, slots, slot_size, 0) == 0) {
		scribble(mem, bytes, data + 2, size - 2);
		drain_cast(mem, bytes);
	}
	free(mem);
	return 0;
}
