/*
 * forbid.h: seccomp filters that fail one system call with EPERM, as a
 * container runtime's profile may (the unit tests and tests/noiouring),
 * or one socket option with EINVAL, as an older kernel does
 * (tests/nomcnotify).
 */
#ifndef SHMNET_FORBID_H
#define SHMNET_FORBID_H

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* tu_seccomp: install filter f (n instructions) for this process and
 * what it executes; 0 or -1 */
static inline int
tu_seccomp(struct sock_filter *f, unsigned short n)
{
	struct sock_fprog prog = { n, f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* tu_forbid: a seccomp filter that fails system call nr with EPERM, as a
 * container runtime's profile may; 0 or -1 */
static inline int
tu_forbid(unsigned int nr)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return tu_seccomp(f, sizeof(f) / sizeof(f[0]));
}

/* tu_forbid_sockopt: a seccomp filter that fails setsockopt(2) of
 * (level, optname) with EINVAL, whatever its value; 0 or -1 (x86-64 and
 * other 64-bit ABIs: the arguments' low words are compared) */
static inline int
tu_forbid_sockopt(unsigned int level, unsigned int optname)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setsockopt, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, level, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, optname, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return tu_seccomp(f, sizeof(f) / sizeof(f[0]));
}

#endif /* SHMNET_FORBID_H */
