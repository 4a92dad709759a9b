/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One Fluentd Forward connection, non-blocking, driven by the caller's
 * event loop: name resolution (numeric at once, names through
 * getaddrinfo_a), connect, the optional shared-key handshake (HELO, PING,
 * PONG), writes of frames the caller encoded, and reading the server's
 * acks. It owns no queue and no retry policy: the caller decides what to
 * send, when to give up on an ack, and when to reconnect.
 */
#ifndef CGS_FORWARD_H
#define CGS_FORWARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct cgs_fwd_opts {
	const char *address;      /* "host:port", "[v6]:port" or ":port" (loopback) */
	const char *hostname;     /* ours, sent in PING */
	const char *shared_key;   /* NULL: no handshake expected */
	size_t shared_key_len;
	/* Called for each {"ack": id} the server sends. */
	void (*on_ack)(void *arg, const char *id, size_t len);
	void *arg;
};

enum cgs_fwd_state {
	CGS_FWD_DOWN = 0,
	CGS_FWD_RESOLVING,  /* no fd yet: call cgs_fwd_process(f, 0) from a timer */
	CGS_FWD_CONNECTING, /* wait for EPOLLOUT */
	CGS_FWD_HANDSHAKE,  /* wait for EPOLLIN (HELO, then PONG) */
	CGS_FWD_READY,      /* frames may be written */
};

struct cgs_fwd;

/* NULL with errno set. The options' strings are copied. */
struct cgs_fwd *cgs_fwd_new(const struct cgs_fwd_opts *o);
void cgs_fwd_free(struct cgs_fwd *f);

/* Starts a connection from DOWN. 0 (in progress), or -errno (it stays DOWN). */
int cgs_fwd_connect(struct cgs_fwd *f);
/* Closes the connection (if any); the state is DOWN afterwards. */
void cgs_fwd_close(struct cgs_fwd *f);

/* The socket, -1 when there is none. It changes with every connection. */
int cgs_fwd_fd(const struct cgs_fwd *f);
enum cgs_fwd_state cgs_fwd_state(const struct cgs_fwd *f);

/*
 * Makes progress after `events` (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP, or 0
 * from a timer while resolving): completes the connect and the handshake,
 * reads acks (on_ack). 0, or -errno when the connection failed; it is then
 * closed and *reason names the step ("connect", "handshake", "closed",
 * "protocol").
 */
int cgs_fwd_process(struct cgs_fwd *f, uint32_t events, const char **reason);

/* Writes what the socket takes now: bytes written (maybe 0), or -errno (the connection is closed). */
ssize_t cgs_fwd_writev(struct cgs_fwd *f, const struct iovec *iov, int n);

#endif
