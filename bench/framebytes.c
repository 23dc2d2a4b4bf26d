/*
 * framebytes: shared-memory bytes a pair ring spends per frame, measured
 * by pushing frames of one size through a real ring (libshmnet's own
 * reservation: slots spanned, pads at the wrap, the descriptor of every
 * slot) until it has moved many, for 64-byte, 1500-byte and 64 KiB
 * frames, at the given slot sizes (default: 256, the default, and 2048,
 * the slot size before slot partitions shrank).
 *
 *   framebytes [SLOT_SIZE...]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "shmnet.h"

#define FB_FRAMES 20000
#define FB_RING   (1u << 20) /* frame data bytes, as ring-size */

/* fb_measure: bytes of ring consumed per frame of len at slot_size. */
static double
fb_measure(uint32_t slot_size, uint32_t len, uint8_t *frame)
{
	uint32_t slots = FB_RING / slot_size, i;
	uint64_t bytes = ring_bytes(slots, slot_size), used = 0, start;
	struct ring_tx tx;
	struct ring_rx rx;
	struct ring_slot s;
	void *mem;

	if ((mem = calloc(1, bytes)) == NULL ||
	    ring_init(mem, bytes, slots, slot_size, 1, 2, 1, 0, 1) != 0 ||
	    ring_tx_attach(&tx, mem, bytes, 1, 1, 2) != 0 ||
	    ring_rx_attach(&rx, mem, bytes, 1, 1, 2) != 0) {
		free(mem);
		return -1;
	}
	for (i = 0; i < FB_FRAMES; i++) {
		start = tx.widx;
		if (ring_tx_push(&tx, NULL, frame, len) != 0)
			break;
		used += tx.widx - start; /* slots, pads included */
		while (ring_rx_peek(&rx, &s) == 1)
			ring_rx_consume(&rx, &s);
		ring_rx_publish(&rx);
	}
	free(mem);
	if (i < FB_FRAMES)
		return -1;
	return (double)used * (slot_size + sizeof(struct shm_desc)) / i;
}

int
main(int argc, char **argv)
{
	static const uint32_t lens[] = { 64, 1500, SHM_FRAME_MAX };
	static const char *def[] = { "256", "2048" };
	const char **sizes = argc > 1 ? (const char **)argv + 1 : def;
	int n = argc > 1 ? argc - 1 : 2, i;
	uint8_t *frame = calloc(1, SHM_FRAME_MAX);
	double b;
	size_t j;

	if (frame == NULL)
		return 1;
	frame[0] = 0x02;
	printf("%-10s %14s %14s %14s\n", "slot-size", "64 B", "1500 B",
	    "64 KiB");
	for (i = 0; i < n; i++) {
		uint32_t ss = (uint32_t)strtoul(sizes[i], NULL, 0);

		printf("%-10u", ss);
		for (j = 0; j < sizeof(lens) / sizeof(*lens); j++) {
			b = fb_measure(ss, lens[j], frame);
			if (b < 0)
				printf(" %14s", "-");
			else
				printf(" %7.0f B %5.2fx", b, b / lens[j]);
		}
		printf("\n");
	}
	free(frame);
	return 0;
}
