/*
 * steer.c: learn the CPU each frame was sent from, through the TAP's
 * queue-steering eBPF hook.
 *
 * The kernel picks a transmit queue of a multi-queue TAP by running the
 * program set with TUNSETSTEERINGEBPF, on the sending CPU, for every
 * frame.  The program here sends every frame to queue 0 (the daemon
 * reads only that one) and, on the way, stores bpf_get_smp_processor_id()
 * in a one-element BPF array that the daemon maps: the exact CPU of the
 * last send, readable with one load.  The store is skipped when the value
 * is already there, so a flow from one CPU writes it once.
 *
 * The hook runs only on a device with more than one queue: a second
 * queue is attached and never read (nothing is steered to it).  Where
 * bpf(2) is refused (no CAP_BPF or CAP_SYS_ADMIN, a seccomp filter) or
 * the kernel lacks the hook, tap_steer_open fails, the TAP stays single
 * queue and the caller does without.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bsd/string.h>

#include "tap.h"

#define INSN(code, dst, src, off, imm) \
	((struct bpf_insn){ (code), (dst), (src), (off), (imm) })

/* steer_bpf: the bpf(2) system call (glibc has no wrapper). */
static int
steer_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(__NR_bpf, cmd, a, sizeof(*a));
}

/* steer_map: a one-element u32 array the daemon can mmap. */
static int
steer_map(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	a.map_flags = BPF_F_MMAPABLE;
	return steer_bpf(BPF_MAP_CREATE, &a);
}

/* steer_prog: cpu = bpf_get_smp_processor_id(); if (map[0] != cpu)
 * map[0] = cpu; return 0 (queue 0). */
static int
steer_prog(int map_fd)
{
	const struct bpf_insn p[] = {
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0,
		    BPF_FUNC_get_smp_processor_id),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_0, 0, 0),
		INSN(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0,
		    map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 3, 0),
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_0, 0, 0),
		INSN(BPF_JMP | BPF_JEQ | BPF_X, BPF_REG_1, BPF_REG_6, 1, 0),
		INSN(BPF_STX | BPF_MEM | BPF_W, BPF_REG_0, BPF_REG_6, 0, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uintptr_t)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (uintptr_t) "GPL";
	return steer_bpf(BPF_PROG_LOAD, &a);
}

/* steer_queue: attach a second queue to multi-queue TAP t. */
static int
steer_queue(const struct tap *t)
{
	struct ifreq ifr;
	int fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, t->name, sizeof(ifr.ifr_name));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* tap_steer_open: see tap.h. */
int
tap_steer_open(struct tap *t)
{
	int map = -1, prog = -1, rc;
	void *m = MAP_FAILED;

	if (!t->multi_queue)
		return -EOPNOTSUPP;
	if ((map = steer_map()) == -1 ||
	    (m = mmap(NULL, sizeof(uint32_t), PROT_READ | PROT_WRITE,
		 MAP_SHARED, map, 0)) == MAP_FAILED ||
	    (prog = steer_prog(map)) == -1 ||
	    (t->queue2 = steer_queue(t)) == -1 ||
	    ioctl(t->fd, TUNSETSTEERINGEBPF, &prog) == -1)
		goto fail;
	close(prog); /* the TAP and the mapping hold references */
	close(map);
	t->send_cpu = m;
	atomic_store_explicit(t->send_cpu, TAP_CPU_NONE, memory_order_relaxed);
	return 0;
fail:
	rc = -errno;
	if (t->queue2 != -1)
		close(t->queue2); /* single queue again */
	t->queue2 = -1;
	if (m != MAP_FAILED)
		munmap(m, sizeof(uint32_t));
	if (prog != -1)
		close(prog);
	if (map != -1)
		close(map);
	return rc;
}

/* tap_steer_close: the second queue and the mapping. */
void
tap_steer_close(struct tap *t)
{
	if (t->queue2 != -1)
		close(t->queue2);
	t->queue2 = -1;
	if (t->send_cpu != NULL)
		munmap((void *)t->send_cpu, sizeof(uint32_t));
	t->send_cpu = NULL;
}
