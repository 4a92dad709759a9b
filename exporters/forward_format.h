/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fluentd Forward protocol v1, the bytes only: log entries ([EventTime,
 * record]), the PackedForward / CompressedPackedForward frame around a
 * chunk of entries, the handshake (HELO / PING / PONG, SHA-512 digests) and
 * the server's messages (acks). Pure functions built on msgpack-c: data in,
 * bytes out, no I/O, so they are tested against an independent decoder.
 * Encoders append to a cgs_buf and latch allocation failures in it.
 */
#ifndef CGS_FORWARD_FORMAT_H
#define CGS_FORWARD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../agent/buf.h"

/* Record flags, shipped as boolean keys of the record. */
#define CGS_FWD_F_MALFORMED 1u /* the line was neither CRI nor Docker JSON: "log" is the raw line */
#define CGS_FWD_F_SPLIT     2u /* one piece of a line longer than the record limit */

/* Where a record comes from: the "kubernetes" map of every record (Fluent Bit's key names). */
struct cgs_fwd_meta {
	const char *namespace_name, *pod_name, *pod_id, *container_name, *container_id, *container_image,
		*host; /* NULL is written as "" */
};

/* One log record. */
struct cgs_fwd_record {
	int64_t time_ns;        /* since the epoch */
	const char *log;        /* the message, without its line terminator */
	size_t log_len;
	const char *stream;     /* "stdout", "stderr" or "" */
	const char *meta;       /* cgs_fwd_pack_meta output, or NULL for none */
	size_t meta_len;
	unsigned flags;         /* CGS_FWD_F_* */
};

/* Appends the msgpack map of `m` (to be passed as cgs_fwd_record.meta). */
void cgs_fwd_pack_meta(struct cgs_buf *out, const struct cgs_fwd_meta *m);

/*
 * Appends one entry [EventTime(ext 0: be32 seconds, be32 nanoseconds),
 * {"log", "stream", "kubernetes", ["malformed": true], ["split": true]}].
 * A concatenation of entries is the payload of a PackedForward frame.
 */
void cgs_fwd_pack_entry(struct cgs_buf *out, const struct cgs_fwd_record *r);

/*
 * A frame is head + payload + tail: [tag, bin(payload), {"size": records,
 * "chunk": id[, "compressed": "gzip"]}]. The payload is not copied, so the
 * caller can write the three parts with writev. head and tail hold at most
 * CGS_FWD_HEAD_MAX and CGS_FWD_TAIL_MAX bytes for a tag/id within limits.
 */
#define CGS_FWD_TAG_MAX 255
#define CGS_FWD_CHUNK_ID_MAX 64
#define CGS_FWD_HEAD_MAX (1 + 2 + CGS_FWD_TAG_MAX + 5)
#define CGS_FWD_TAIL_MAX (1 + 5 + 5 + 6 + 2 + CGS_FWD_CHUNK_ID_MAX + 11 + 5)
/* Both return the length written to `dst`, or -EINVAL (tag or id too long). */
int cgs_fwd_frame_head(char dst[CGS_FWD_HEAD_MAX], const char *tag, size_t payload_len);
int cgs_fwd_frame_tail(char dst[CGS_FWD_TAIL_MAX], uint32_t records, const char *chunk_id, bool gzip);

/* gzip (RFC 1952) of `in` appended to `out`. 0 or -ENOMEM/-EIO. */
int cgs_fwd_gzip(const void *in, size_t len, int level, struct cgs_buf *out);

/* A chunk id: base64 of 16 bytes (24 characters and a NUL), as Fluentd makes them. */
#define CGS_FWD_CHUNK_ID_LEN 24
void cgs_fwd_chunk_id(const uint8_t raw[16], char out[CGS_FWD_CHUNK_ID_LEN + 1]);
/* The 16 bytes back from an id; -EINVAL if `id` is not one of ours. */
int cgs_fwd_chunk_id_parse(const char *id, size_t len, uint8_t raw[16]);

/* What a server sends. */
enum cgs_fwd_msg_type {
	CGS_FWD_MSG_OTHER = 0, /* valid msgpack we do not know: ignored */
	CGS_FWD_MSG_ACK,       /* {"ack": chunk} */
	CGS_FWD_MSG_HELO,      /* ["HELO", {"nonce", "auth", "keepalive"}] */
	CGS_FWD_MSG_PONG,      /* ["PONG", ok, reason, hostname, digest] */
};

#define CGS_FWD_NONCE_MAX 64
struct cgs_fwd_msg {
	enum cgs_fwd_msg_type type;
	char ack[CGS_FWD_CHUNK_ID_MAX + 1];
	size_t ack_len;
	uint8_t nonce[CGS_FWD_NONCE_MAX]; /* HELO */
	size_t nonce_len;
	size_t auth_len;                  /* HELO: non-zero when the server wants user authentication */
	bool keepalive;
	bool pong_ok;                     /* PONG */
	char reason[128];
	char hostname[CGS_FWD_TAG_MAX + 1];
	char digest[129];
};

/*
 * Decodes the first server message in buf[0..len). Returns the bytes it
 * took (> 0), 0 when more bytes are needed, -EBADMSG when the stream is not
 * msgpack or a known message is malformed, -ENOMEM.
 */
ssize_t cgs_fwd_parse_server(const char *buf, size_t len, struct cgs_fwd_msg *msg);

/*
 * The shared-key digest: hex SHA-512 of salt + hostname + nonce + key, as
 * PING carries it (our hostname) and PONG answers it (the server's).
 */
void cgs_fwd_shared_key_digest(const char *salt, size_t salt_len, const char *hostname, const uint8_t *nonce,
			       size_t nonce_len, const char *key, size_t key_len, char hex[129]);

/* Appends ["PING", hostname, salt, digest, "", ""] (no user authentication). */
void cgs_fwd_pack_ping(struct cgs_buf *out, const char *hostname, const char *salt, const uint8_t *nonce,
		       size_t nonce_len, const char *key, size_t key_len);

/* Checks a PONG: 0 when the server authenticated us and proved it knows the key; -EACCES otherwise. */
int cgs_fwd_check_pong(const struct cgs_fwd_msg *pong, const char *own_hostname, const char *salt,
		       const uint8_t *nonce, size_t nonce_len, const char *key, size_t key_len);

/* SHA-512 (FIPS 180-4). */
struct cgs_sha512 {
	uint64_t h[8];
	uint64_t len;       /* bytes so far */
	uint8_t block[128];
	size_t fill;
};
void cgs_sha512_init(struct cgs_sha512 *s);
void cgs_sha512_update(struct cgs_sha512 *s, const void *data, size_t len);
void cgs_sha512_final(struct cgs_sha512 *s, uint8_t out[64]);

#endif
