// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Request capture for the span collector: raw_syscalls sys_enter/sys_exit,
 * narrowed to the socket syscalls of container tasks. At sys_exit of a
 * read/recv or write/send family call on a TCP socket, the first 8 bytes of
 * the first buffer are compared with the openings of an HTTP/1.x request
 * line or status line; on a match a prefix of the buffer (rodata
 * capture_bytes) goes to the ring buffer with the connection's addresses.
 * accept/accept4/connect remember the socket and its addresses per
 * (tgid, fd) in an LRU hash, so a message costs a hash lookup rather than a
 * walk of the task's file table; close forgets it (and tells userspace when
 * the socket carried HTTP). All parsing happens in userspace.
 *
 * Hot-path order: syscall number (a rodata table), then the task's
 * container slot (task storage + lib/slots.bpf.h), then the work. Every
 * other syscall and every task outside containers leaves after the first
 * or second check.
 *
 * tp_btf programs with raw_tp twins (chosen by probing in userspace).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "l7.h"
#include "lib/slots.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

/* Knobs, set by userspace before load. */
const volatile bool include_host = false;
const volatile __u32 self_tgid = 0;          /* the agent: its own exports are never traced */
const volatile __u32 capture_bytes = 256;    /* <= CGS_L7_DATA_MAX */
/*
 * 0: the ring buffer's own policy (wake the reader when it had caught up).
 * Else records are written without a wakeup, except the one that makes the
 * unread data cross a multiple of wakeup_bytes: at most one wakeup per that
 * many bytes however far behind the reader is (userspace also drains on a
 * timer). A power of two.
 */
const volatile __u64 wakeup_bytes = 0;
const volatile __u8 nr_class[CGS_L7_NR_MAX]; /* syscall number -> CGS_L7_SYS_* (0: not traced) */
const volatile bool filtered = false;         /* only slots marked in traced_slots (config traces_cgroups) */

/* Slot -> 1 when its container is traced; consulted only when `filtered`. Sized by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} traced_slots SEC(".maps");

/* Per-task state between sys_enter and sys_exit. */
struct task_ctx {
	struct cgs_slot_cache cache;
	__u64 arg;      /* buffer, iovec or msghdr pointer */
	__u64 ts;       /* sys_enter time */
	__s32 fd;
	__u32 cls;      /* CGS_L7_SYS_* in flight, 0 when none */
	__s32 slot;
	__u32 cont;     /* a connection of this thread awaits the continuation of a message head */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* A socket of a container task: (tgid << 32 | fd) -> addresses. */
struct conn {
	__u64 sock;
	__u8 laddr[16];
	__u8 raddr[16];
	__u16 family;
	__u16 lport;
	__u16 rport;
	__u8 role;      /* CGS_L7_F_ACCEPTED, CGS_L7_F_CONNECTED or 0 (found later) */
	__u8 http;      /* an HTTP record was emitted: report the close */
	__u8 cont;      /* buffers still to capture as a head's continuation */
	__u8 cont_egress;
	__u8 pad[2];
	__u32 netns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* sized by userspace */
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* sized by userspace */
} events SEC(".maps");

__u64 lost = 0;

/* The first four bytes of `s` as a little- or big-endian word, matching a u32 load. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define W4(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)
#else
#define W4(a, b, c, d) ((__u32)(d) | (__u32)(c) << 8 | (__u32)(b) << 16 | (__u32)(a) << 24)
#endif

/* CGS_L7_F_REQUEST / _RESPONSE when 8 bytes may open an HTTP/1.x message; 0 otherwise. */
static __always_inline __u32 classify(__u64 head)
{
	__u32 w0 = (__u32)head, w1 = (__u32)(head >> 32);

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	w0 = (__u32)(head >> 32);
	w1 = (__u32)head;
#endif
	switch (w0) {
	case W4('G', 'E', 'T', ' '):
	case W4('P', 'O', 'S', 'T'):
	case W4('P', 'U', 'T', ' '):
	case W4('H', 'E', 'A', 'D'):
	case W4('D', 'E', 'L', 'E'):
	case W4('P', 'A', 'T', 'C'):
	case W4('O', 'P', 'T', 'I'):
	case W4('C', 'O', 'N', 'N'):
	case W4('T', 'R', 'A', 'C'):
		return CGS_L7_F_REQUEST;
	case W4('H', 'T', 'T', 'P'):
		/* "/1." */
		if ((w1 & W4(0xff, 0xff, 0xff, 0)) == W4('/', '1', '.', 0))
			return CGS_L7_F_RESPONSE;
		return 0;
	}
	return 0;
}

/* The TCP socket behind `fd` of the current task, or NULL. CO-RE walk of the file table. */
static __always_inline struct sock *fd_tcp_sock(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *f = NULL;
	struct socket *so;
	struct sock *sk;
	__u16 family, type;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	so = BPF_CORE_READ(f, private_data);
	sk = BPF_CORE_READ(so, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	type = (__u16)BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
	if (type != SOCK_STREAM)
		return NULL;
	return sk;
}

/* Remembers `fd` as a TCP socket of the task with its addresses; NULL when it is none. */
static __always_inline struct conn *conn_add(__u64 key, int fd, __u8 role)
{
	struct sock *sk = fd_tcp_sock(fd);
	struct conn c = {};

	if (!sk)
		return NULL;
	c.sock = (__u64)(unsigned long)sk;
	c.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	c.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	c.role = role;
	c.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (c.family == AF_INET) {
		BPF_CORE_READ_INTO(&c.laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(&c.raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&c.laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&c.raddr, sk, __sk_common.skc_v6_daddr);
	}
	bpf_map_update_elem(&conns, &key, &c, BPF_ANY);
	return bpf_map_lookup_elem(&conns, &key);
}

/*
 * Writes one record: header and the capture of `n` bytes at `buf` (none for
 * a close), straight into the ring buffer (records are sized for the
 * configured prefix, whatever was captured). Returns 1 when the captured
 * bytes end a message head (CRLFCRLF), 0 when not, -1 when the record was
 * lost (no room).
 */
static __always_inline int emit(struct task_ctx *t, __u64 key, struct conn *c, __u32 kind, __u32 flags, long ret,
				const void *buf, __u32 n, __u64 ts_enter, __u64 now)
{
	__u32 size = sizeof(struct cgs_l7_event) + capture_bytes;
	struct cgs_l7_event *e;
	__u64 wake = 0;
	char *d;
	int ended = 0;

	if (wakeup_bytes) {
		__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

		wake = avail / wakeup_bytes != (avail + size) / wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return -1;
	}
	if (n > capture_bytes)
		n = capture_bytes;
	e->ts_enter = ts_enter;
	e->ts_exit = now;
	e->cgroup_id = t->cache.cgid;
	e->sock = c->sock;
	e->tgid = (__u32)(key >> 32);
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->fd = (__s32)(__u32)key;
	e->kind = kind;
	e->flags = flags | c->role;
	e->len = ret > 0 ? (__u32)ret : 0;
	e->slot = t->slot;
	e->family = c->family;
	e->lport = c->lport;
	e->rport = c->rport;
	e->pad = 0;
	e->netns = c->netns;
	e->pad2 = 0;
	__builtin_memcpy(e->laddr, c->laddr, 16);
	__builtin_memcpy(e->raddr, c->raddr, 16);
	d = (char *)(e + 1);
	if (n && bpf_probe_read_user(d, n, buf))
		n = 0;
	e->cap_len = n;
	bpf_ringbuf_submit(e, wake);
	if (n >= 4) {
		/* The tail again from the user's buffer: an index into the record would need bounds the
		 * verifier cannot follow through the clamps above. */
		__u32 tail = 0;

		if (!bpf_probe_read_user(&tail, sizeof(tail), (const char *)buf + n - 4))
			ended = tail == W4('\r', '\n', '\r', '\n');
	}
	return ended;
}

/* The first buffer of a read/write family call: its address and length. */
static __always_inline int first_buffer(__u32 cls, __u64 arg, long ret, const void **buf, __u64 *len)
{
	__u64 iov[2];

	switch (cls) {
	case CGS_L7_SYS_READ:
	case CGS_L7_SYS_WRITE:
		*buf = (const void *)(unsigned long)arg;
		*len = (__u64)ret;
		return 0;
	case CGS_L7_SYS_RECVMSG:
	case CGS_L7_SYS_SENDMSG:
		/* struct msghdr (user ABI, 64-bit): msg_iov at offset 16. */
		if (bpf_probe_read_user(&arg, sizeof(arg), (const void *)(unsigned long)(arg + 16)))
			return -1;
		/* fallthrough */
	case CGS_L7_SYS_READV:
	case CGS_L7_SYS_WRITEV:
		/* struct iovec (user ABI, 64-bit): base, len. */
		if (bpf_probe_read_user(iov, sizeof(iov), (const void *)(unsigned long)arg))
			return -1;
		*buf = (const void *)(unsigned long)iov[0];
		*len = iov[1] < (__u64)ret ? iov[1] : (__u64)ret;
		return 0;
	}
	return -1;
}

/*
 * The task's state and container slot, or NULL for tasks that are not
 * traced (outside containers unless include_host, the agent itself).
 */
static __always_inline struct task_ctx *traced_task(void)
{
	struct task_ctx *t;
	int slot;

	t = bpf_task_storage_get(&task_ctxs, bpf_get_current_task_btf(), NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return NULL;
	slot = cgs_slot_current(&t->cache);
	if (slot < 0) {
		if (!include_host)
			return NULL;
		slot = CGS_SLOT_HOST;
	}
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return NULL;
	if (filtered) {
		__u32 k = (__u32)slot;
		__u8 *on = bpf_map_lookup_elem(&traced_slots, &k);

		if (!on || !*on)
			return NULL;
	}
	t->slot = slot;
	return t;
}

/*
 * A read or write that moved `ret` > 0 bytes on `fd`. `t` is the task's
 * state for writes (stamped at entry); reads come without one (their
 * arguments are still in the registers at exit) and look it up only when
 * the bytes matter, so a read that returns nothing, or returns bytes that
 * are no HTTP, costs no more than looking at its first 8 bytes.
 */
static __always_inline int on_data(struct task_ctx *t, int fd, __u64 arg, __u32 cls, long ret, __u64 ts_enter,
				   __u64 now)
{
	__u32 egress = cls >= CGS_L7_SYS_WRITE ? CGS_L7_F_EGRESS : 0;
	__u64 key = (bpf_get_current_pid_tgid() & 0xffffffff00000000ull) | (__u32)fd;
	const void *buf = NULL;
	__u64 len = 0, head = 0;
	struct conn *c = NULL;
	__u32 flags, n;
	int ended;

	if (first_buffer(cls, arg, ret, &buf, &len) || !buf)
		return 0;
	if (len >= 8 && bpf_probe_read_user(&head, sizeof(head), buf))
		return 0;
	flags = len >= 8 ? classify(head) : 0;
	if (!flags) {
		/* Not a message start: only the awaited continuation of a head is captured. */
		if (!t)
			t = bpf_task_storage_get(&task_ctxs, bpf_get_current_task_btf(), NULL, 0);
		if (!t || !t->cont)
			return 0;
		c = bpf_map_lookup_elem(&conns, &key);
		if (!c || !c->cont || c->cont_egress != egress) {
			if (!c || !c->cont)
				t->cont = 0;
			return 0;
		}
		c->cont--;
		flags = CGS_L7_F_CONT;
	} else {
		if (!t && !(t = traced_task()))
			return 0;
		c = bpf_map_lookup_elem(&conns, &key);
		if (!c) {
			c = conn_add(key, fd, 0);
			if (!c)
				return 0;
		}
	}
	n = len < capture_bytes ? (__u32)len : capture_bytes;
	c->http = 1;
	ended = emit(t, key, c, CGS_L7_EV_DATA, flags | egress, ret, buf, n, ts_enter, now);
	/* A head that did not end in what was captured continues in the next buffer(s). */
	if (n == (__u64)ret && ended == 0) {
		if (!(flags & CGS_L7_F_CONT))
			c->cont = CGS_L7_CONT_MAX;
		c->cont_egress = (__u8)egress;
		t->cont = c->cont ? 1 : t->cont;
	} else {
		c->cont = 0;
	}
	return 0;
}

static __always_inline int on_close(struct task_ctx *t, int fd, __u64 now)
{
	__u64 key = (bpf_get_current_pid_tgid() & 0xffffffff00000000ull) | (__u32)fd;
	struct conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c)
		return 0;
	if (c->http)
		emit(t, key, c, CGS_L7_EV_CLOSE, 0, 0, NULL, 0, now, now);
	bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* The first two syscall arguments: direct loads from a BTF pointer (tp_btf) or CO-RE reads (raw_tp).
 * At sys_exit the registers still hold them (arm64: x0 holds the return value, orig_x0 the argument). */
#if defined(__TARGET_ARCH_x86)
#define ARG1_BTF(regs) ((regs)->di)
#define ARG2_BTF(regs) ((regs)->si)
#define ARG1_CORE(regs) BPF_CORE_READ((regs), di)
#define ARG2_CORE(regs) BPF_CORE_READ((regs), si)
#define SYSCALL_NR_BTF(regs) ((regs)->orig_ax)
#define SYSCALL_NR_CORE(regs) BPF_CORE_READ((regs), orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define ARG1_BTF(regs) ((regs)->orig_x0)
#define ARG2_BTF(regs) ((regs)->regs[1])
#define ARG1_CORE(regs) BPF_CORE_READ((regs), orig_x0)
#define ARG2_CORE(regs) BPF_CORE_READ((regs), regs[1])
#define SYSCALL_NR_BTF(regs) ((regs)->syscallno)
#define SYSCALL_NR_CORE(regs) BPF_CORE_READ((regs), syscallno)
#else
#error "l7.bpf.c: syscall registers unknown for this architecture"
#endif

/* sys_enter: only writes (their entry time matters) and close (the fd is gone at exit). */
static __always_inline int enter(struct pt_regs *regs, long id, bool btf)
{
	struct task_ctx *t;
	__u32 cls;

	if ((unsigned long)id >= CGS_L7_NR_MAX)
		return 0;
	cls = nr_class[id];
	if (cls < CGS_L7_SYS_WRITE || cls == CGS_L7_SYS_ACCEPT || cls == CGS_L7_SYS_CONNECT)
		return 0;
	t = traced_task();
	if (!t)
		return 0;
	t->ts = bpf_ktime_get_ns();
	t->fd = (int)(btf ? ARG1_BTF(regs) : ARG1_CORE(regs));
	if (cls == CGS_L7_SYS_CLOSE)
		return on_close(t, t->fd, t->ts);
	t->arg = btf ? ARG2_BTF(regs) : ARG2_CORE(regs);
	t->cls = cls;
	return 0;
}

static __always_inline int leave(struct pt_regs *regs, long ret, bool btf)
{
	long nr = btf ? (long)SYSCALL_NR_BTF(regs) : (long)SYSCALL_NR_CORE(regs);
	struct task_ctx *t;
	__u64 now, key;
	__u32 cls;
	int fd;

	if ((unsigned long)nr >= CGS_L7_NR_MAX)
		return 0;
	cls = nr_class[nr];
	switch (cls) {
	case 0:
	case CGS_L7_SYS_CLOSE:
		return 0;
	case CGS_L7_SYS_READ:
	case CGS_L7_SYS_READV:
	case CGS_L7_SYS_RECVMSG:
		if (ret <= 0)
			return 0;
		now = bpf_ktime_get_ns();
		return on_data(NULL, (int)(btf ? ARG1_BTF(regs) : ARG1_CORE(regs)),
			       btf ? ARG2_BTF(regs) : ARG2_CORE(regs), cls, ret, now, now);
	case CGS_L7_SYS_ACCEPT:
	case CGS_L7_SYS_CONNECT:
		fd = cls == CGS_L7_SYS_ACCEPT ? (int)ret : (int)(btf ? ARG1_BTF(regs) : ARG1_CORE(regs));
		if (cls == CGS_L7_SYS_ACCEPT ? ret < 0 : ret != 0 && ret != -EINPROGRESS)
			return 0;
		if (!traced_task())
			return 0;
		key = (bpf_get_current_pid_tgid() & 0xffffffff00000000ull) | (__u32)fd;
		conn_add(key, fd, cls == CGS_L7_SYS_ACCEPT ? CGS_L7_F_ACCEPTED : CGS_L7_F_CONNECTED);
		return 0;
	}
	t = bpf_task_storage_get(&task_ctxs, bpf_get_current_task_btf(), NULL, 0);
	if (!t || t->cls != cls)
		return 0;
	t->cls = 0;
	if (ret <= 0)
		return 0;
	return on_data(t, t->fd, t->arg, cls, ret, t->ts, bpf_ktime_get_ns());
}

SEC("tp_btf/sys_enter")
int BPF_PROG(handle_sys_enter, struct pt_regs *regs, long id)
{
	return enter(regs, id, true);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	return leave(regs, ret, true);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(handle_sys_enter_raw, struct pt_regs *regs, long id)
{
	return enter(regs, id, false);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(handle_sys_exit_raw, struct pt_regs *regs, long ret)
{
	return leave(regs, ret, false);
}
