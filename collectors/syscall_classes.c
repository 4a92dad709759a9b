/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The latency classes of container_syscall_latency_seconds{class} and
 * container_syscall_errors_total{class}: a fixed mapping from syscall names
 * (so it holds for every architecture) to eight classes, documented in
 * docs/collectors/syscalls.md. Whatever is not listed is "other". The BPF
 * side only sees the resulting number -> class array.
 */
#include "syscall_table.h"

#include <string.h>

const char *const cgs_syscall_class_names[CGS_SC_COUNT] = {
	[CGS_SC_FILE_IO] = "file_io",
	[CGS_SC_NET_IO] = "net_io",
	[CGS_SC_SYNC] = "sync",
	[CGS_SC_SLEEP] = "sleep",
	[CGS_SC_POLL] = "poll",
	[CGS_SC_PROCESS] = "process",
	[CGS_SC_MEMORY] = "memory",
	[CGS_SC_OTHER] = "other",
};

struct class_entry {
	const char *name;
	unsigned cls;
};

#define F(n) { #n, CGS_SC_FILE_IO }
#define N(n) { #n, CGS_SC_NET_IO }
#define Y(n) { #n, CGS_SC_SYNC }
#define S(n) { #n, CGS_SC_SLEEP }
#define P(n) { #n, CGS_SC_POLL }
#define R(n) { #n, CGS_SC_PROCESS }
#define M(n) { #n, CGS_SC_MEMORY }

static const struct class_entry classes[] = {
	/* file_io: files, pipes, directories, metadata, async and vectored I/O. */
	F(read), F(write), F(pread64), F(pwrite64), F(readv), F(writev), F(preadv), F(pwritev),
	F(preadv2), F(pwritev2), F(open), F(openat), F(openat2), F(creat), F(close), F(close_range),
	F(open_by_handle_at), F(name_to_handle_at), F(lseek), F(stat), F(fstat), F(lstat),
	F(newfstatat), F(statx), F(statfs), F(fstatfs), F(access), F(faccessat), F(faccessat2),
	F(pipe), F(pipe2), F(dup), F(dup2), F(dup3), F(fcntl), F(ioctl), F(fsync), F(fdatasync),
	F(sync), F(syncfs), F(sync_file_range), F(truncate), F(ftruncate), F(fallocate), F(fadvise64),
	F(readahead), F(getdents), F(getdents64), F(rename), F(renameat), F(renameat2), F(mkdir),
	F(mkdirat), F(rmdir), F(link), F(linkat), F(unlink), F(unlinkat), F(symlink), F(symlinkat),
	F(readlink), F(readlinkat), F(chmod), F(fchmod), F(fchmodat), F(fchmodat2), F(chown),
	F(fchown), F(lchown), F(fchownat), F(utime), F(utimes), F(utimensat), F(futimesat), F(mknod),
	F(mknodat), F(sendfile), F(splice), F(tee), F(vmsplice), F(copy_file_range), F(memfd_create),
	F(setxattr), F(lsetxattr), F(fsetxattr), F(getxattr), F(lgetxattr), F(fgetxattr),
	F(listxattr), F(llistxattr), F(flistxattr), F(removexattr), F(lremovexattr),
	F(fremovexattr), F(setxattrat), F(getxattrat), F(listxattrat), F(removexattrat),
	F(file_getattr), F(file_setattr), F(cachestat), F(io_setup), F(io_destroy), F(io_submit),
	F(io_cancel), F(io_getevents), F(io_pgetevents), F(io_uring_setup), F(io_uring_enter),
	F(io_uring_register),
	/* net_io: sockets. */
	N(socket), N(socketpair), N(connect), N(accept), N(accept4), N(bind), N(listen), N(sendto),
	N(recvfrom), N(sendmsg), N(recvmsg), N(sendmmsg), N(recvmmsg), N(shutdown), N(getsockname),
	N(getpeername), N(setsockopt), N(getsockopt),
	/* sync: locks, futexes, System V and POSIX IPC waits, yielding. */
	Y(futex), Y(futex_waitv), Y(futex_wake), Y(futex_wait), Y(futex_requeue), Y(set_robust_list),
	Y(get_robust_list), Y(flock), Y(semop), Y(semtimedop), Y(semget), Y(semctl), Y(msgsnd),
	Y(msgrcv), Y(msgget), Y(msgctl), Y(mq_open), Y(mq_unlink), Y(mq_timedsend),
	Y(mq_timedreceive), Y(mq_notify), Y(mq_getsetattr), Y(membarrier), Y(sched_yield),
	/* sleep: waiting for time or for a signal. */
	S(nanosleep), S(clock_nanosleep), S(pause), S(rt_sigsuspend), S(rt_sigtimedwait),
	/* poll: waiting for file descriptors, and the fds made to be waited on. */
	P(poll), P(ppoll), P(select), P(pselect6), P(epoll_create), P(epoll_create1), P(epoll_ctl),
	P(epoll_wait), P(epoll_pwait), P(epoll_pwait2), P(eventfd), P(eventfd2), P(timerfd_create),
	P(timerfd_settime), P(timerfd_gettime), P(signalfd), P(signalfd4),
	/* process: lifecycle, identity, signals, scheduling attributes, limits. */
	R(fork), R(vfork), R(clone), R(clone3), R(execve), R(execveat), R(exit), R(exit_group),
	R(wait4), R(waitid), R(kill), R(tkill), R(tgkill), R(rt_sigqueueinfo), R(rt_tgsigqueueinfo),
	R(rt_sigaction), R(rt_sigprocmask), R(rt_sigreturn), R(rt_sigpending), R(sigaltstack),
	R(getpid), R(getppid), R(gettid), R(getuid), R(geteuid), R(getgid), R(getegid), R(setuid),
	R(setgid), R(setreuid), R(setregid), R(setresuid), R(getresuid), R(setresgid), R(getresgid),
	R(setfsuid), R(setfsgid), R(getgroups), R(setgroups), R(getpgid), R(setpgid), R(getpgrp),
	R(getsid), R(setsid), R(prctl), R(arch_prctl), R(set_tid_address), R(rseq), R(personality),
	R(seccomp), R(umask), R(chdir), R(fchdir), R(getcwd), R(chroot), R(unshare), R(setns),
	R(capget), R(capset), R(ptrace), R(kcmp), R(pidfd_open), R(pidfd_send_signal),
	R(pidfd_getfd), R(process_vm_readv), R(process_vm_writev), R(sched_setparam),
	R(sched_getparam), R(sched_setscheduler), R(sched_getscheduler), R(sched_get_priority_max),
	R(sched_get_priority_min), R(sched_rr_get_interval), R(sched_setaffinity),
	R(sched_getaffinity), R(sched_setattr), R(sched_getattr), R(getpriority), R(setpriority),
	R(ioprio_set), R(ioprio_get), R(getrlimit), R(setrlimit), R(prlimit64), R(getrusage),
	R(times),
	/* memory: mappings, protection, policy, shared memory. */
	M(mmap), M(munmap), M(mprotect), M(brk), M(mremap), M(madvise), M(msync), M(mlock),
	M(mlock2), M(munlock), M(mlockall), M(munlockall), M(mincore), M(remap_file_pages), M(mbind),
	M(set_mempolicy), M(get_mempolicy), M(set_mempolicy_home_node), M(migrate_pages),
	M(move_pages), M(process_madvise), M(process_mrelease), M(memfd_secret), M(pkey_mprotect),
	M(pkey_alloc), M(pkey_free), M(mseal), M(userfaultfd), M(map_shadow_stack), M(shmget),
	M(shmat), M(shmdt), M(shmctl),
};

unsigned cgs_syscall_class_of_name(const char *name)
{
	if (!name)
		return CGS_SC_OTHER;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strcmp(classes[i].name, name) == 0)
			return classes[i].cls;
	return CGS_SC_OTHER;
}

bool cgs_syscall_class_entry(size_t i, const char **name, unsigned *cls)
{
	if (i >= sizeof(classes) / sizeof(classes[0]))
		return false;
	*name = classes[i].name;
	*cls = classes[i].cls;
	return true;
}

void cgs_syscall_classes_fill(uint32_t table[CGS_SYSCALLS_NR_MAX])
{
	for (unsigned nr = 0; nr < CGS_SYSCALLS_NR_MAX; nr++)
		table[nr] = cgs_syscall_class_of_name(cgs_syscall_name(nr));
}
