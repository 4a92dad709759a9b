/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Fluentd Forward connection (see forward.h). Everything is non-blocking:
 * connect(2) with EINPROGRESS, reads and writes that stop at EAGAIN, and
 * host names resolved by getaddrinfo_a, polled from the caller's timer.
 * TCP keepalive finds a peer that vanished; TCP_NODELAY keeps small frames
 * from waiting.
 */
#include "forward.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../agent/buf.h"
#include "../agent/config.h"
#include "forward_format.h"

/* The server sends small messages (acks, HELO, PONG): more than this unparsed is a protocol error. */
#define FWD_RBUF_MAX (256 * 1024)

struct cgs_fwd {
	char host[CGS_CFG_STR], port[8];
	char *hostname;
	char *key;
	size_t key_len;
	void (*on_ack)(void *arg, const char *id, size_t len);
	void *arg;
	enum cgs_fwd_state state;
	int fd;
	struct gaicb *gai;         /* a resolution in progress */
	struct addrinfo gai_hints;
	struct cgs_buf rbuf;
	bool got_helo;
	uint8_t nonce[CGS_FWD_NONCE_MAX];
	size_t nonce_len;
	char salt[33];
};

struct cgs_fwd *cgs_fwd_new(const struct cgs_fwd_opts *o)
{
	struct cgs_fwd *f = calloc(1, sizeof(*f));
	uint16_t port;

	if (!f)
		return NULL;
	f->fd = -1;
	if (cgs_config_listen_split(o->address, f->host, sizeof(f->host), &port) < 0 || port == 0) {
		free(f);
		errno = EINVAL;
		return NULL;
	}
	if (!f->host[0])
		snprintf(f->host, sizeof(f->host), "127.0.0.1");
	snprintf(f->port, sizeof(f->port), "%u", port);
	f->hostname = strdup(o->hostname ? o->hostname : "");
	if (o->shared_key) {
		f->key = malloc(o->shared_key_len + 1);
		if (f->key) {
			memcpy(f->key, o->shared_key, o->shared_key_len);
			f->key[o->shared_key_len] = '\0';
			f->key_len = o->shared_key_len;
		}
	}
	f->on_ack = o->on_ack;
	f->arg = o->arg;
	cgs_buf_init(&f->rbuf);
	if (!f->hostname || (o->shared_key && !f->key)) {
		cgs_fwd_free(f);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}

static void gai_drop(struct cgs_fwd *f)
{
	if (!f->gai)
		return;
	if (gai_cancel(f->gai) == EAI_NOTCANCELED) {
		/*
		 * glibc's resolver thread still owns the request and will write
		 * to it: leave it (a few hundred bytes, only on shutdown or
		 * reconnect during a slow lookup) rather than free it under the
		 * thread's feet.
		 */
		f->gai = NULL;
		return;
	}
	if (f->gai->ar_result)
		freeaddrinfo(f->gai->ar_result);
	free(f->gai);
	f->gai = NULL;
}

void cgs_fwd_close(struct cgs_fwd *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	gai_drop(f);
	f->rbuf.len = 0;
	f->got_helo = false;
	f->state = CGS_FWD_DOWN;
}

void cgs_fwd_free(struct cgs_fwd *f)
{
	if (!f)
		return;
	cgs_fwd_close(f);
	cgs_buf_free(&f->rbuf);
	free(f->hostname);
	if (f->key) {
		explicit_bzero(f->key, f->key_len);
		free(f->key);
	}
	free(f);
}

int cgs_fwd_fd(const struct cgs_fwd *f)
{
	return f->fd;
}

enum cgs_fwd_state cgs_fwd_state(const struct cgs_fwd *f)
{
	return f->state;
}

static int start_connect(struct cgs_fwd *f, const struct addrinfo *ai)
{
	int one = 1, idle = 30, intvl = 10, cnt = 3;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
		int e = -errno;

		close(fd);
		return e;
	}
	f->fd = fd;
	f->state = CGS_FWD_CONNECTING;
	return 0;
}

int cgs_fwd_connect(struct cgs_fwd *f)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int r;

	if (f->state != CGS_FWD_DOWN)
		return -EALREADY;
	if (getaddrinfo(f->host, f->port, &hints, &res) == 0) {
		/* A numeric address resolves without any lookup. */
		r = start_connect(f, res);
		freeaddrinfo(res);
		return r;
	}
	f->gai = calloc(1, sizeof(*f->gai));
	if (!f->gai)
		return -ENOMEM;
	memset(&f->gai_hints, 0, sizeof(f->gai_hints));
	f->gai_hints.ai_socktype = SOCK_STREAM;
	f->gai_hints.ai_flags = AI_NUMERICSERV;
	f->gai->ar_name = f->host;
	f->gai->ar_service = f->port;
	f->gai->ar_request = &f->gai_hints;
	struct gaicb *list[1] = { f->gai };

	if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
		free(f->gai);
		f->gai = NULL;
		return -EHOSTUNREACH;
	}
	f->state = CGS_FWD_RESOLVING;
	return 0;
}

static int fail(struct cgs_fwd *f, int e, const char *why, const char **reason)
{
	cgs_fwd_close(f);
	if (reason)
		*reason = why;
	return e < 0 ? e : -EIO;
}

static void become_ready_or_wait(struct cgs_fwd *f)
{
	f->state = f->key ? CGS_FWD_HANDSHAKE : CGS_FWD_READY;
}

/* Writes a small handshake message whole; the socket buffer is empty at this point. */
static int send_small(struct cgs_fwd *f, const struct cgs_buf *b)
{
	ssize_t n = send(f->fd, b->p, b->len, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return (size_t)n == b->len ? 0 : -EAGAIN;
}

static int on_message(struct cgs_fwd *f, const struct cgs_fwd_msg *m, const char **reason)
{
	switch (m->type) {
	case CGS_FWD_MSG_ACK:
		if (f->on_ack)
			f->on_ack(f->arg, m->ack, m->ack_len);
		return 0;
	case CGS_FWD_MSG_HELO: {
		struct cgs_buf b;
		uint8_t rnd[16];
		int r;

		if (!f->key)
			return fail(f, -EACCES, "handshake (the server wants a shared key: set fluentd_shared_key_file)",
				    reason);
		if (f->state != CGS_FWD_HANDSHAKE || f->got_helo)
			return fail(f, -EPROTO, "protocol (unexpected HELO)", reason);
		if (m->auth_len)
			return fail(f, -EACCES, "handshake (the server wants a user name and password: not supported)",
				    reason);
		f->got_helo = true;
		memcpy(f->nonce, m->nonce, m->nonce_len);
		f->nonce_len = m->nonce_len;
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return fail(f, -EIO, "handshake (no random bytes)", reason);
		for (int i = 0; i < 16; i++)
			snprintf(f->salt + 2 * i, 3, "%02x", rnd[i]);
		cgs_buf_init(&b);
		cgs_fwd_pack_ping(&b, f->hostname, f->salt, f->nonce, f->nonce_len, f->key, f->key_len);
		r = b.err ? b.err : send_small(f, &b);
		cgs_buf_free(&b);
		return r < 0 ? fail(f, r, "handshake (sending PING)", reason) : 0;
	}
	case CGS_FWD_MSG_PONG:
		if (f->state != CGS_FWD_HANDSHAKE || !f->got_helo)
			return fail(f, -EPROTO, "protocol (unexpected PONG)", reason);
		if (cgs_fwd_check_pong(m, f->hostname, f->salt, f->nonce, f->nonce_len, f->key, f->key_len) < 0)
			return fail(f, -EACCES,
				    m->pong_ok ? "handshake (the server does not know our shared key)"
					       : "handshake (the server refused our shared key)",
				    reason);
		f->state = CGS_FWD_READY;
		return 0;
	case CGS_FWD_MSG_OTHER:
		return 0;
	}
	return 0;
}

static int read_messages(struct cgs_fwd *f, const char **reason)
{
	for (;;) {
		if (cgs_buf_reserve(&f->rbuf, 16384) < 0)
			return fail(f, -ENOMEM, "protocol (out of memory)", reason);
		ssize_t n = recv(f->fd, f->rbuf.p + f->rbuf.len, f->rbuf.cap - f->rbuf.len - 1, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return fail(f, -errno, "closed", reason);
		}
		if (n == 0)
			return fail(f, -ECONNRESET, "closed", reason);
		f->rbuf.len += (size_t)n;
		size_t off = 0;

		while (off < f->rbuf.len && f->fd >= 0) {
			struct cgs_fwd_msg m;
			ssize_t used = cgs_fwd_parse_server(f->rbuf.p + off, f->rbuf.len - off, &m);

			if (used < 0)
				return fail(f, (int)used, "protocol (not a Forward server)", reason);
			if (used == 0)
				break;
			off += (size_t)used;
			int r = on_message(f, &m, reason);

			if (r < 0)
				return r;
		}
		if (f->fd < 0)
			return 0;
		memmove(f->rbuf.p, f->rbuf.p + off, f->rbuf.len - off);
		f->rbuf.len -= off;
		if (f->rbuf.len > FWD_RBUF_MAX)
			return fail(f, -EPROTO, "protocol (oversized message)", reason);
	}
	return 0;
}

int cgs_fwd_process(struct cgs_fwd *f, uint32_t events, const char **reason)
{
	if (f->state == CGS_FWD_RESOLVING) {
		int e = gai_error(f->gai);

		if (e == EAI_INPROGRESS)
			return 0;
		if (e != 0 || !f->gai->ar_result)
			return fail(f, -EHOSTUNREACH, "connect (cannot resolve the host name)", reason);
		struct addrinfo *res = f->gai->ar_result;

		f->gai->ar_result = NULL;
		free(f->gai);
		f->gai = NULL;
		f->state = CGS_FWD_DOWN;
		e = start_connect(f, res);
		freeaddrinfo(res);
		return e < 0 ? fail(f, e, "connect", reason) : 0;
	}
	if (f->fd < 0)
		return 0;
	if (f->state == CGS_FWD_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return 0;
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == EINPROGRESS)
			return 0;
		if (err)
			return fail(f, -err, "connect", reason);
		become_ready_or_wait(f);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		int r = read_messages(f, reason);

		if (r < 0)
			return r;
	}
	return 0;
}

ssize_t cgs_fwd_writev(struct cgs_fwd *f, const struct iovec *iov, int n)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)(uintptr_t)iov, .msg_iovlen = (size_t)n };
	ssize_t w;

	if (f->state != CGS_FWD_READY)
		return -ENOTCONN;
	do
		w = sendmsg(f->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w >= 0)
		return w;
	if (errno == EAGAIN)
		return 0;
	w = -errno;
	cgs_fwd_close(f);
	return w;
}
