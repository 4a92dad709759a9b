/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wire format of the request-span collector (bpf/l7.bpf.c ->
 * collectors/l7.c): one ring-buffer record per socket buffer that may start
 * (or continue) an HTTP/1.x message of a container task, carrying a prefix
 * of the bytes, and one per closed socket that carried such messages. The
 * syscall-number table the BPF side classifies with is filled by userspace
 * (the numbers are the agent's own architecture's).
 */
#ifndef CGS_BPF_L7_H
#define CGS_BPF_L7_H

/* Syscall numbers classified; larger ones (x32, -1) are never traced. */
#define CGS_L7_NR_MAX 512
/* Largest prefix a record can carry (config traces_capture_bytes). */
#define CGS_L7_DATA_MAX 4096

/* Syscall classes: values of the nr_class table. */
#define CGS_L7_SYS_READ    1 /* read, recvfrom: (fd, buf, ...) */
#define CGS_L7_SYS_READV   2 /* readv: (fd, iov, iovcnt) */
#define CGS_L7_SYS_RECVMSG 3 /* recvmsg: (fd, msghdr, flags) */
#define CGS_L7_SYS_WRITE   4 /* write, sendto: (fd, buf, ...) */
#define CGS_L7_SYS_WRITEV  5 /* writev: (fd, iov, iovcnt) */
#define CGS_L7_SYS_SENDMSG 6 /* sendmsg: (fd, msghdr, flags) */
#define CGS_L7_SYS_ACCEPT  7 /* accept, accept4: the new fd is the return value */
#define CGS_L7_SYS_CONNECT 8 /* connect: (fd, ...) */
#define CGS_L7_SYS_CLOSE   9 /* close: (fd) */

/* Record kinds. */
#define CGS_L7_EV_DATA  1
#define CGS_L7_EV_CLOSE 2

/* Record flags. */
#define CGS_L7_F_EGRESS   0x01 /* the task wrote the bytes (else it read them) */
#define CGS_L7_F_REQUEST  0x02 /* the bytes start like an HTTP request line */
#define CGS_L7_F_RESPONSE 0x04 /* the bytes start like an HTTP/1.x status line */
#define CGS_L7_F_CONT     0x08 /* captured as the continuation of a message head */
#define CGS_L7_F_ACCEPTED 0x10 /* the connection was accepted by the task (server side) */
#define CGS_L7_F_CONNECTED 0x20 /* the connection was opened by the task (client side) */

/* Buffers captured after a message start whose bytes did not end in CRLFCRLF. */
#define CGS_L7_CONT_MAX 2

struct cgs_l7_event {
	__u64 ts_enter;   /* bpf_ktime_get_ns() at syscall entry */
	__u64 ts_exit;    /* ... and at exit */
	__u64 cgroup_id;  /* the task's cgroup (v2) */
	__u64 sock;       /* opaque identity of the socket (tells a reused fd apart) */
	__u32 tgid;
	__u32 tid;
	__s32 fd;
	__u32 kind;       /* CGS_L7_EV_* */
	__u32 flags;      /* CGS_L7_F_* */
	__u32 len;        /* bytes the syscall moved */
	__u32 cap_len;    /* bytes in data[] (<= len, <= the configured prefix) */
	__s32 slot;       /* container slot */
	__u16 family;     /* AF_INET or AF_INET6 */
	__u16 lport;      /* local port, host order */
	__u16 rport;      /* remote port, host order */
	__u16 pad;
	__u32 netns;      /* inode number of the socket's network namespace */
	__u32 pad2;
	__u8 laddr[16];   /* local address: 4 bytes for AF_INET, else 16 */
	__u8 raddr[16];   /* remote address */
	/* followed by cap_len bytes of data */
};

_Static_assert(sizeof(struct cgs_l7_event) == 112, "cgs_l7_event layout");

#endif
