/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forward protocol encoders and decoders (see forward_format.h): entries
 * and frame parts are packed with msgpack-c into a cgs_buf, server
 * messages are unpacked with msgpack_unpack_next, gzip comes from zlib.
 */
#include "forward_format.h"

#include <errno.h>
#include <msgpack.h>
#include <string.h>
#include <zlib.h>

static int buf_write(void *data, const char *p, size_t n)
{
	struct cgs_buf *b = data;

	cgs_buf_append(b, p, n);
	return b->err;
}

/* A packer writing into a fixed array (frame head and tail); sizes are checked by the callers. */
struct fixed {
	char *p;
	size_t len, cap;
};

static int fixed_write(void *data, const char *p, size_t n)
{
	struct fixed *f = data;

	if (f->len + n > f->cap)
		return -1;
	memcpy(f->p + f->len, p, n);
	f->len += n;
	return 0;
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s ? s : "", n);
}

static void pack_kv(msgpack_packer *pk, const char *k, const char *v)
{
	pack_cstr(pk, k);
	pack_cstr(pk, v);
}

void cgs_fwd_pack_meta(struct cgs_buf *out, const struct cgs_fwd_meta *m)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_map(&pk, 7);
	pack_kv(&pk, "namespace_name", m->namespace_name);
	pack_kv(&pk, "pod_name", m->pod_name);
	pack_kv(&pk, "pod_id", m->pod_id);
	pack_kv(&pk, "container_name", m->container_name);
	pack_kv(&pk, "docker_id", m->container_id);
	pack_kv(&pk, "container_image", m->container_image);
	pack_kv(&pk, "host", m->host);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void cgs_fwd_pack_entry(struct cgs_buf *out, const struct cgs_fwd_record *r)
{
	msgpack_packer pk;
	uint8_t et[8];
	int64_t sec = r->time_ns / 1000000000, nsec = r->time_ns % 1000000000;
	uint32_t nkeys = 2 + (r->meta != NULL) + !!(r->flags & CGS_FWD_F_MALFORMED) +
			 !!(r->flags & CGS_FWD_F_SPLIT);

	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	/* EventTime is unsigned 32-bit seconds: clamp what cannot be represented. */
	if (sec < 0)
		sec = nsec = 0;
	else if (sec > UINT32_MAX)
		sec = UINT32_MAX, nsec = 0;
	put_be32(et, (uint32_t)sec);
	put_be32(et + 4, (uint32_t)nsec);
	cgs_buf_reserve(out, r->log_len + r->meta_len + 64);
	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_ext(&pk, 8, 0);
	msgpack_pack_ext_body(&pk, et, 8);
	msgpack_pack_map(&pk, nkeys);
	msgpack_pack_str_with_body(&pk, "log", 3);
	msgpack_pack_str_with_body(&pk, r->log, r->log_len);
	msgpack_pack_str_with_body(&pk, "stream", 6);
	pack_cstr(&pk, r->stream);
	if (r->meta) {
		msgpack_pack_str_with_body(&pk, "kubernetes", 10);
		cgs_buf_append(out, r->meta, r->meta_len);
	}
	if (r->flags & CGS_FWD_F_MALFORMED) {
		msgpack_pack_str_with_body(&pk, "malformed", 9);
		msgpack_pack_true(&pk);
	}
	if (r->flags & CGS_FWD_F_SPLIT) {
		msgpack_pack_str_with_body(&pk, "split", 5);
		msgpack_pack_true(&pk);
	}
}

int cgs_fwd_frame_head(char dst[CGS_FWD_HEAD_MAX], const char *tag, size_t payload_len)
{
	struct fixed f = { dst, 0, CGS_FWD_HEAD_MAX };
	msgpack_packer pk;
	size_t tl = strlen(tag);

	if (tl > CGS_FWD_TAG_MAX || payload_len > UINT32_MAX)
		return -EINVAL;
	msgpack_packer_init(&pk, &f, fixed_write);
	if (msgpack_pack_array(&pk, 3) || msgpack_pack_str_with_body(&pk, tag, tl) || msgpack_pack_bin(&pk, payload_len))
		return -EINVAL;
	return (int)f.len;
}

int cgs_fwd_frame_tail(char dst[CGS_FWD_TAIL_MAX], uint32_t records, const char *chunk_id, bool gzip)
{
	struct fixed f = { dst, 0, CGS_FWD_TAIL_MAX };
	msgpack_packer pk;
	size_t il = chunk_id ? strlen(chunk_id) : 0;
	int e = 0;

	if (il > CGS_FWD_CHUNK_ID_MAX)
		return -EINVAL;
	msgpack_packer_init(&pk, &f, fixed_write);
	e |= msgpack_pack_map(&pk, 1 + (chunk_id != NULL) + gzip);
	e |= msgpack_pack_str_with_body(&pk, "size", 4);
	e |= msgpack_pack_uint32(&pk, records);
	if (chunk_id) {
		e |= msgpack_pack_str_with_body(&pk, "chunk", 5);
		e |= msgpack_pack_str_with_body(&pk, chunk_id, il);
	}
	if (gzip) {
		e |= msgpack_pack_str_with_body(&pk, "compressed", 10);
		e |= msgpack_pack_str_with_body(&pk, "gzip", 4);
	}
	return e ? -EINVAL : (int)f.len;
}

int cgs_fwd_gzip(const void *in, size_t len, int level, struct cgs_buf *out)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer around the deflate stream. */
	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	size_t bound = deflateBound(&z, (uLong)len);

	if (cgs_buf_reserve(out, bound) < 0) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->p + out->len;
	z.avail_out = (uInt)(out->cap - out->len - 1);
	r = deflate(&z, Z_FINISH);
	if (r == Z_STREAM_END)
		out->len += z.total_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? 0 : -EIO;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void cgs_fwd_chunk_id(const uint8_t raw[16], char out[CGS_FWD_CHUNK_ID_LEN + 1])
{
	size_t o = 0;

	for (size_t i = 0; i < 16; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;

		if (i + 1 < 16)
			v |= (uint32_t)raw[i + 1] << 8;
		if (i + 2 < 16)
			v |= raw[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < 16 ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < 16 ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int cgs_fwd_chunk_id_parse(const char *id, size_t len, uint8_t raw[16])
{
	size_t o = 0;

	if (len != CGS_FWD_CHUNK_ID_LEN || id[22] != '=' || id[23] != '=')
		return -EINVAL;
	for (size_t i = 0; i < 24; i += 4) {
		int a = b64_val(id[i]), b = b64_val(id[i + 1]);
		int c = i + 2 < 22 ? b64_val(id[i + 2]) : 0, d = i + 3 < 22 ? b64_val(id[i + 3]) : 0;

		if (a < 0 || b < 0 || c < 0 || d < 0)
			return -EINVAL;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;

		raw[o++] = (uint8_t)(v >> 16);
		if (o < 16)
			raw[o++] = (uint8_t)(v >> 8);
		if (o < 16)
			raw[o++] = (uint8_t)v;
		if (o >= 16)
			break;
	}
	return 0;
}

/* A msgpack string or bin: pointer and size, or NULL. */
static const char *raw_of(const msgpack_object *o, size_t *len)
{
	if (o->type == MSGPACK_OBJECT_STR) {
		*len = o->via.str.size;
		return o->via.str.ptr;
	}
	if (o->type == MSGPACK_OBJECT_BIN) {
		*len = o->via.bin.size;
		return o->via.bin.ptr;
	}
	return NULL;
}

static bool raw_eq(const msgpack_object *o, const char *s)
{
	size_t n;
	const char *p = raw_of(o, &n);

	return p && n == strlen(s) && !memcmp(p, s, n);
}

static int copy_str(const msgpack_object *o, char *dst, size_t cap)
{
	size_t n;
	const char *p = raw_of(o, &n);

	if (!p || n >= cap)
		return -EBADMSG;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

static int decode_msg(const msgpack_object *o, struct cgs_fwd_msg *m)
{
	if (o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (raw_eq(&kv->key, "ack")) {
				if (copy_str(&kv->val, m->ack, sizeof(m->ack)) < 0)
					return -EBADMSG;
				m->ack_len = strlen(m->ack);
				m->type = CGS_FWD_MSG_ACK;
			}
		}
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1)
		return 0;
	const msgpack_object *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;

	if (raw_eq(&a[0], "HELO")) {
		if (n != 2 || a[1].type != MSGPACK_OBJECT_MAP)
			return -EBADMSG;
		m->type = CGS_FWD_MSG_HELO;
		m->keepalive = true;
		for (uint32_t i = 0; i < a[1].via.map.size; i++) {
			const msgpack_object_kv *kv = &a[1].via.map.ptr[i];
			size_t len;
			const char *p;

			if (raw_eq(&kv->key, "nonce")) {
				p = raw_of(&kv->val, &len);
				if (!p || len > CGS_FWD_NONCE_MAX)
					return -EBADMSG;
				memcpy(m->nonce, p, len);
				m->nonce_len = len;
			} else if (raw_eq(&kv->key, "auth")) {
				p = raw_of(&kv->val, &len);
				m->auth_len = p ? len : 0;
			} else if (raw_eq(&kv->key, "keepalive") && kv->val.type == MSGPACK_OBJECT_BOOLEAN) {
				m->keepalive = kv->val.via.boolean;
			}
		}
		return m->nonce_len ? 0 : -EBADMSG;
	}
	if (raw_eq(&a[0], "PONG")) {
		if (n != 5 || a[1].type != MSGPACK_OBJECT_BOOLEAN)
			return -EBADMSG;
		m->type = CGS_FWD_MSG_PONG;
		m->pong_ok = a[1].via.boolean;
		if (copy_str(&a[2], m->reason, sizeof(m->reason)) < 0)
			snprintf(m->reason, sizeof(m->reason), "(unreadable reason)");
		if (copy_str(&a[3], m->hostname, sizeof(m->hostname)) < 0 ||
		    copy_str(&a[4], m->digest, sizeof(m->digest)) < 0)
			return -EBADMSG;
	}
	return 0;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Bytes of the first msgpack object in p[0..len): > 0, 0 when it is not
 * complete yet, -EBADMSG. No allocation: msgpack-c allocates containers by
 * the element counts their headers claim (a 5-byte header can ask for
 * gigabytes), so only a complete object, whose counts its own bytes bound,
 * is given to it.
 */
static ssize_t mp_object_len(const unsigned char *p, size_t len, int depth)
{
	/* Total sizes of the fixed-size types from 0xc0: nil, (never used), false, true, then by code. */
	static const unsigned char fixed[0x20] = {
		[0x00] = 1, [0x02] = 1, [0x03] = 1, [0x0a] = 5, [0x0b] = 9, [0x0c] = 2, [0x0d] = 3, [0x0e] = 5,
		[0x0f] = 9, [0x10] = 2, [0x11] = 3, [0x12] = 5, [0x13] = 9, [0x14] = 3, [0x15] = 4, [0x16] = 6,
		[0x17] = 10, [0x18] = 18,
	};
	size_t hdr, off;
	uint64_t n = 0, body = 0;
	unsigned c;

	if (!len)
		return 0;
	if (depth > 32)
		return -EBADMSG;
	c = p[0];
	if (c <= 0x7f || c >= 0xe0)
		return 1;
	if ((c & 0xf0) == 0x80 || (c & 0xf0) == 0x90) {
		hdr = 1;
		n = (uint64_t)(c & 0x0f) * ((c & 0xf0) == 0x80 ? 2 : 1);
	} else if ((c & 0xe0) == 0xa0) {
		hdr = 1;
		body = c & 0x1f;
	} else if (fixed[c - 0xc0]) {
		return len >= fixed[c - 0xc0] ? fixed[c - 0xc0] : 0;
	} else {
		switch (c) {
		case 0xc4: case 0xd9: hdr = 2; break;  /* bin8, str8 */
		case 0xc5: case 0xda: hdr = 3; break;  /* bin16, str16 */
		case 0xc6: case 0xdb: hdr = 5; break;  /* bin32, str32 */
		case 0xc7: hdr = 3; break;             /* ext8: size, type */
		case 0xc8: hdr = 4; break;
		case 0xc9: hdr = 6; break;
		case 0xdc: case 0xde: hdr = 3; break;  /* array16, map16 */
		case 0xdd: case 0xdf: hdr = 5; break;  /* array32, map32 */
		default: return -EBADMSG;              /* 0xc1 */
		}
		if (len < hdr)
			return 0;
		if (c >= 0xdc)
			n = be(p + 1, (int)hdr - 1) * (c >= 0xde ? 2 : 1);
		else
			body = be(p + 1, c >= 0xc7 && c <= 0xc9 ? (int)hdr - 2 : (int)hdr - 1);
	}
	if (len - hdr < body)
		return 0;
	off = hdr + (size_t)body;
	/* Every element takes a byte at least: a count past the bytes at hand is incomplete. */
	for (uint64_t i = 0; i < n; i++) {
		ssize_t r = mp_object_len(p + off, len - off, depth + 1);

		if (r <= 0)
			return r;
		off += (size_t)r;
	}
	return (ssize_t)off;
}

ssize_t cgs_fwd_parse_server(const char *buf, size_t len, struct cgs_fwd_msg *msg)
{
	msgpack_unpacked u;
	size_t off = 0;
	ssize_t r, olen;

	memset(msg, 0, sizeof(*msg));
	olen = mp_object_len((const unsigned char *)buf, len, 0);
	if (olen <= 0)
		return olen;
	msgpack_unpacked_init(&u);
	switch (msgpack_unpack_next(&u, buf, (size_t)olen, &off)) {
	case MSGPACK_UNPACK_SUCCESS:
		r = decode_msg(&u.data, msg);
		if (r == 0)
			r = (ssize_t)off;
		break;
	case MSGPACK_UNPACK_CONTINUE:
		r = 0;
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		r = -ENOMEM;
		break;
	default:
		r = -EBADMSG;
		break;
	}
	msgpack_unpacked_destroy(&u);
	return r;
}

void cgs_fwd_shared_key_digest(const char *salt, size_t salt_len, const char *hostname, const uint8_t *nonce,
			       size_t nonce_len, const char *key, size_t key_len, char hex[129])
{
	struct cgs_sha512 s;
	uint8_t d[64];

	cgs_sha512_init(&s);
	cgs_sha512_update(&s, salt, salt_len);
	cgs_sha512_update(&s, hostname, strlen(hostname));
	cgs_sha512_update(&s, nonce, nonce_len);
	cgs_sha512_update(&s, key, key_len);
	cgs_sha512_final(&s, d);
	for (int i = 0; i < 64; i++) {
		hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
	}
	hex[128] = '\0';
}

void cgs_fwd_pack_ping(struct cgs_buf *out, const char *hostname, const char *salt, const uint8_t *nonce,
		       size_t nonce_len, const char *key, size_t key_len)
{
	msgpack_packer pk;
	char hex[129];

	cgs_fwd_shared_key_digest(salt, strlen(salt), hostname, nonce, nonce_len, key, key_len, hex);
	msgpack_packer_init(&pk, out, buf_write);
	msgpack_pack_array(&pk, 6);
	pack_cstr(&pk, "PING");
	pack_cstr(&pk, hostname);
	pack_cstr(&pk, salt);
	pack_cstr(&pk, hex);
	pack_cstr(&pk, "");
	pack_cstr(&pk, "");
}

int cgs_fwd_check_pong(const struct cgs_fwd_msg *pong, const char *own_hostname, const char *salt,
		       const uint8_t *nonce, size_t nonce_len, const char *key, size_t key_len)
{
	char hex[129];

	if (pong->type != CGS_FWD_MSG_PONG || !pong->pong_ok || !strcmp(pong->hostname, own_hostname))
		return -EACCES;
	cgs_fwd_shared_key_digest(salt, strlen(salt), pong->hostname, nonce, nonce_len, key, key_len, hex);
	return strcmp(hex, pong->digest) ? -EACCES : 0;
}
