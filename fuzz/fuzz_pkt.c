/*
 * fuzz_pkt: the global network's frame parser (libshmnet/pkt.c) on
 * arbitrary frames, IPv4 and IPv6, as an application may send them.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shmnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_g g = { .g4 = { 0x01ca000a, 0x02ca000a, 0x03ca000a },
		.has6 = 1,
		.g6 = { 0xfd, 0x53, 0x4d, 0x47, [15] = 1 } };
	struct pkt_info pi;

	if (size > 70000)
		return 0;
	(void)pkt_parse(data, (uint32_t)size, &g, &pi);
	return 0;
}
