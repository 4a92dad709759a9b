/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Forward protocol encoders and decoders
 * (exporters/forward_format.c, forward_sha512.c). Frames are decoded by an
 * independent implementation, Debian's python3-msgpack (and Python's gzip,
 * base64 and hashlib), and compared field by field; server messages are
 * packed by Python and decoded by ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exporters/forward_format.h"

#define PY "/usr/bin/python3"

/* Python prologue: decode a Forward frame from the file argv[1] into comparable JSON. */
static const char *decode_frame =
	"import sys, json, gzip, msgpack\n"
	"def ext(c, d):\n"
	"    assert c == 0 and len(d) == 8, (c, d)\n"
	"    return [int.from_bytes(d[:4], 'big'), int.from_bytes(d[4:], 'big')]\n"
	"data = open(sys.argv[1], 'rb').read()\n"
	"up = msgpack.Unpacker(raw=False, ext_hook=ext, strict_map_key=False)\n"
	"up.feed(data)\n"
	"frames = list(up)\n"
	"assert len(frames) == 1, len(frames)\n"
	"tag, body, opt = frames[0]\n"
	"assert isinstance(body, bytes)\n"
	"if opt.get('compressed') == 'gzip': body = gzip.decompress(body)\n"
	"e = msgpack.Unpacker(raw=False, ext_hook=ext, strict_map_key=False, max_str_len=1<<24)\n"
	"e.feed(body)\n"
	"ents = list(e)\n"
	"print(json.dumps({'tag': tag, 'opt': opt, 'n': len(ents), 'entries': ents[:4]}, sort_keys=True))\n";

/* Runs a Python script on `data` (a temp file as argv[1]) and returns its stdout (static buffer). */
static const char *py(const char *script, const void *data, size_t len)
{
	static char out[1 << 16];
	char in[] = "/tmp/cgs-fwd-test.XXXXXX", sc[] = "/tmp/cgs-fwd-py.XXXXXX", cmd[256];
	int fd = mkstemp(in), sfd = mkstemp(sc);
	FILE *p;
	size_t n;

	assert_true(fd >= 0 && sfd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(write(sfd, script, strlen(script)), (ssize_t)strlen(script));
	close(fd);
	close(sfd);
	snprintf(cmd, sizeof(cmd), PY " %s %s", sc, in);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	unlink(in);
	unlink(sc);
	while (n && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

/* A frame: head + payload + tail. */
static void frame(struct cgs_buf *out, const char *tag, const struct cgs_buf *payload, uint32_t n, const char *id,
		  bool gzip)
{
	char head[CGS_FWD_HEAD_MAX], tail[CGS_FWD_TAIL_MAX];
	int hl = cgs_fwd_frame_head(head, tag, payload->len), tl = cgs_fwd_frame_tail(tail, n, id, gzip);

	assert_true(hl > 0 && tl > 0);
	cgs_buf_append(out, head, (size_t)hl);
	cgs_buf_append(out, payload->p, payload->len);
	cgs_buf_append(out, tail, (size_t)tl);
}

static void entries(struct cgs_buf *b, struct cgs_buf *meta)
{
	struct cgs_fwd_meta m = { .namespace_name = "shop", .pod_name = "web-1", .pod_id = "uid-1",
				  .container_name = "nginx", .container_id = "abc123", .container_image = NULL,
				  .host = "node-a" };
	struct cgs_fwd_record r1 = { .time_ns = 1709287200LL * 1000000000 + 123456789, .log = "hello \"world\"",
				     .log_len = 13, .stream = "stdout" };
	struct cgs_fwd_record r2 = { .time_ns = 1709287201LL * 1000000000, .log = "raw\xc3\xa9", .log_len = 5,
				     .stream = "", .flags = CGS_FWD_F_MALFORMED | CGS_FWD_F_SPLIT };

	cgs_fwd_pack_meta(meta, &m);
	r1.meta = meta->p;
	r1.meta_len = meta->len;
	r2.meta = meta->p;
	r2.meta_len = meta->len;
	cgs_fwd_pack_entry(b, &r1);
	cgs_fwd_pack_entry(b, &r2);
	assert_int_equal(b->err, 0);
}

static const char *want_entries =
	"[[[1709287200, 123456789], {\"kubernetes\": {\"container_image\": \"\", \"container_name\": \"nginx\", "
	"\"docker_id\": \"abc123\", \"host\": \"node-a\", \"namespace_name\": \"shop\", \"pod_id\": \"uid-1\", "
	"\"pod_name\": \"web-1\"}, \"log\": \"hello \\\"world\\\"\", \"stream\": \"stdout\"}], "
	"[[1709287201, 0], {\"kubernetes\": {\"container_image\": \"\", \"container_name\": \"nginx\", "
	"\"docker_id\": \"abc123\", \"host\": \"node-a\", \"namespace_name\": \"shop\", \"pod_id\": \"uid-1\", "
	"\"pod_name\": \"web-1\"}, \"log\": \"raw\\u00e9\", \"malformed\": true, \"split\": true, \"stream\": \"\"}]]";

static void test_packed_forward(void **state)
{
	struct cgs_buf b, meta, f;
	char want[4096];
	(void)state;

	cgs_buf_init(&b);
	cgs_buf_init(&meta);
	cgs_buf_init(&f);
	entries(&b, &meta);
	frame(&f, "kube.shop.web-1.nginx", &b, 2, "AAAAAAAAAAAAAAAAAAAAAA==", false);
	snprintf(want, sizeof(want),
		 "{\"entries\": %s, \"n\": 2, \"opt\": {\"chunk\": \"AAAAAAAAAAAAAAAAAAAAAA==\", \"size\": 2}, "
		 "\"tag\": \"kube.shop.web-1.nginx\"}",
		 want_entries);
	assert_string_equal(py(decode_frame, f.p, f.len), want);
	/* Without an ack request: no chunk option. */
	f.len = 0;
	frame(&f, "t", &b, 2, NULL, false);
	assert_non_null(strstr(py(decode_frame, f.p, f.len), "\"opt\": {\"size\": 2}"));
	cgs_buf_free(&b);
	cgs_buf_free(&meta);
	cgs_buf_free(&f);
}

static void test_compressed(void **state)
{
	struct cgs_buf b, meta, z, f;
	char want[4096];
	(void)state;

	cgs_buf_init(&b);
	cgs_buf_init(&meta);
	cgs_buf_init(&z);
	cgs_buf_init(&f);
	entries(&b, &meta);
	assert_int_equal(cgs_fwd_gzip(b.p, b.len, 6, &z), 0);
	frame(&f, "kube.x", &z, 2, "BBBBBBBBBBBBBBBBBBBBBA==", true);
	snprintf(want, sizeof(want),
		 "{\"entries\": %s, \"n\": 2, \"opt\": {\"chunk\": \"BBBBBBBBBBBBBBBBBBBBBA==\", \"compressed\": \"gzip\", "
		 "\"size\": 2}, \"tag\": \"kube.x\"}",
		 want_entries);
	assert_string_equal(py(decode_frame, f.p, f.len), want);
	cgs_buf_free(&b);
	cgs_buf_free(&meta);
	cgs_buf_free(&z);
	cgs_buf_free(&f);
}

static void test_sizes_and_times(void **state)
{
	struct cgs_buf b, f;
	size_t big = 300000;
	char *msg = malloc(big);
	(void)state;

	memset(msg, 'q', big);
	cgs_buf_init(&b);
	cgs_buf_init(&f);
	/* str32 message; times before the epoch and beyond 2106 clamp; a zero-length message. */
	struct cgs_fwd_record r = { .time_ns = 5, .log = msg, .log_len = big, .stream = "stderr" };

	cgs_fwd_pack_entry(&b, &r);
	r.time_ns = -1;
	r.log_len = 0;
	cgs_fwd_pack_entry(&b, &r);
	r.time_ns = (int64_t)1 << 62;
	cgs_fwd_pack_entry(&b, &r);
	frame(&f, "t", &b, 3, "id", false);
	const char *got = py("import sys, msgpack\n"
			     "def ext(c, d): return [int.from_bytes(d[:4], 'big'), int.from_bytes(d[4:], 'big')]\n"
			     "up = msgpack.Unpacker(raw=False, ext_hook=ext, max_bin_len=1<<30)\n"
			     "up.feed(open(sys.argv[1], 'rb').read())\n"
			     "tag, body, opt = next(up)\n"
			     "e = msgpack.Unpacker(raw=False, ext_hook=ext, max_str_len=1<<30); e.feed(body)\n"
			     "for t, rec in e: print(t, len(rec['log']), rec['stream'])\n",
			     f.p, f.len);
	assert_string_equal(got, "[0, 5] 300000 stderr\n[0, 0] 0 stderr\n[4294967295, 0] 0 stderr");
	/* Bounds of the frame parts. */
	char head[CGS_FWD_HEAD_MAX], tail[CGS_FWD_TAIL_MAX], longtag[CGS_FWD_TAG_MAX + 2];
	char longid[CGS_FWD_CHUNK_ID_MAX + 2];

	memset(longtag, 't', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	assert_int_equal(cgs_fwd_frame_head(head, longtag, 1), -EINVAL);
	longtag[CGS_FWD_TAG_MAX] = '\0';
	assert_true(cgs_fwd_frame_head(head, longtag, UINT32_MAX) > 0);
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(cgs_fwd_frame_tail(tail, 1, longid, true), -EINVAL);
	longid[CGS_FWD_CHUNK_ID_MAX] = '\0';
	assert_true(cgs_fwd_frame_tail(tail, UINT32_MAX, longid, true) > 0);
	free(msg);
	cgs_buf_free(&b);
	cgs_buf_free(&f);
}

static void test_chunk_id(void **state)
{
	uint8_t raw[16], back[16];
	char id[CGS_FWD_CHUNK_ID_LEN + 1], want[64];
	(void)state;

	for (int i = 0; i < 16; i++)
		raw[i] = (uint8_t)(i * 37 + 250);
	cgs_fwd_chunk_id(raw, id);
	assert_int_equal(strlen(id), 24);
	assert_string_equal(py("import sys, base64; print(base64.b64encode(open(sys.argv[1], 'rb').read()).decode())",
			       raw, 16),
			    id);
	assert_int_equal(cgs_fwd_chunk_id_parse(id, strlen(id), back), 0);
	assert_memory_equal(raw, back, 16);
	snprintf(want, sizeof(want), "%s", id);
	want[3] = '*';
	assert_int_equal(cgs_fwd_chunk_id_parse(want, 24, back), -EINVAL);
	assert_int_equal(cgs_fwd_chunk_id_parse(id, 23, back), -EINVAL);
}

/* Packs a Python expression with msgpack into buf; returns its length. */
static size_t pypack(const char *expr, char *buf, size_t cap)
{
	char script[1024];
	const char *hex;
	size_t n = 0;

	snprintf(script, sizeof(script), "import msgpack, sys\nprint(msgpack.packb(%s, use_bin_type=True).hex())\n", expr);
	hex = py(script, "", 0);
	for (; hex[2 * n] && n < cap; n++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * n, "%2x", &v), 1);
		buf[n] = (char)v;
	}
	return n;
}

static void test_server_messages(void **state)
{
	char buf[1024];
	struct cgs_fwd_msg m;
	size_t n;
	(void)state;

	n = pypack("{'ack': 'AAAAAAAAAAAAAAAAAAAAAA=='}", buf, sizeof(buf));
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), (ssize_t)n);
	assert_int_equal(m.type, CGS_FWD_MSG_ACK);
	assert_string_equal(m.ack, "AAAAAAAAAAAAAAAAAAAAAA==");
	/* incomplete: more bytes needed, for every prefix */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(cgs_fwd_parse_server(buf, k, &m), 0);
	/* two messages back to back: one at a time */
	memcpy(buf + n, buf, n);
	assert_int_equal(cgs_fwd_parse_server(buf, 2 * n, &m), (ssize_t)n);
	n = pypack("['HELO', {'nonce': b'0123456789abcdef', 'auth': b'', 'keepalive': True}]", buf, sizeof(buf));
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), (ssize_t)n);
	assert_int_equal(m.type, CGS_FWD_MSG_HELO);
	assert_int_equal(m.nonce_len, 16);
	assert_memory_equal(m.nonce, "0123456789abcdef", 16);
	assert_int_equal(m.auth_len, 0);
	assert_true(m.keepalive);
	n = pypack("['HELO', {'auth': 'salt'}]", buf, sizeof(buf)); /* no nonce */
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), -EBADMSG);
	n = pypack("['PONG', True, '', 'server-1', 'ab' * 64]", buf, sizeof(buf));
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), (ssize_t)n);
	assert_int_equal(m.type, CGS_FWD_MSG_PONG);
	assert_true(m.pong_ok);
	assert_string_equal(m.hostname, "server-1");
	n = pypack("['PONG', 'yes']", buf, sizeof(buf));
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), -EBADMSG);
	n = pypack("[1, 2, 3]", buf, sizeof(buf)); /* valid msgpack, unknown: ignored */
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), (ssize_t)n);
	assert_int_equal(m.type, CGS_FWD_MSG_OTHER);
	buf[0] = (char)0xc1; /* never used in msgpack */
	assert_int_equal(cgs_fwd_parse_server(buf, 4, &m), -EBADMSG);
	n = pypack("{'ack': 'x' * 100}", buf, sizeof(buf)); /* longer than any id of ours */
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), -EBADMSG);
	/*
	 * Headers claiming more elements or bytes than follow (found by fuzzing:
	 * msgpack-c allocated by the claim): incomplete, nothing allocated; the
	 * same message completed parses.
	 */
	const char huge[][8] = { "\xdf\x7f\xff\xff\xff\xa3", "\xdd\xff\xff\xff\xff\x01", "\xdb\xff\xff\xff\xf0\x61\x62",
				 "\x92\xa4PONG\xdf\xff" };

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
		assert_int_equal(cgs_fwd_parse_server(huge[i], 6, &m), 0);
	n = pypack("[{'a': [1, 2, {'b': b'x' * 300}]}, 'y' * 400, 1.5, -3, 2**40, None, True, {}]", buf, sizeof(buf));
	assert_true(n > 700 && n < sizeof(buf));
	for (size_t k = 1; k < n; k += 7)
		assert_int_equal(cgs_fwd_parse_server(buf, k, &m), 0);
	assert_int_equal(cgs_fwd_parse_server(buf, n, &m), (ssize_t)n);
}

static void test_handshake(void **state)
{
	struct cgs_buf b;
	struct cgs_fwd_msg pong;
	const uint8_t nonce[] = { 0, 1, 2, 250, 255, 7, 8, 9 };
	const char *key = "s3cr3t key";
	char script[2048], hexkey[64];
	(void)state;

	cgs_buf_init(&b);
	cgs_fwd_pack_ping(&b, "agent-node", "salt1234", nonce, sizeof(nonce), key, strlen(key));
	assert_int_equal(b.err, 0);
	/* Python checks the PING as a server does, and answers a PONG computed with hashlib. */
	snprintf(script, sizeof(script),
		 "import sys, msgpack, hashlib\n"
		 "m = msgpack.unpackb(open(sys.argv[1], 'rb').read(), raw=False)\n"
		 "nonce = bytes([0, 1, 2, 250, 255, 7, 8, 9]); key = b's3cr3t key'\n"
		 "assert m[0] == 'PING' and m[1] == 'agent-node' and m[2] == 'salt1234' and m[4] == '' and m[5] == '', m\n"
		 "d = hashlib.sha512(m[2].encode() + m[1].encode() + nonce + key).hexdigest()\n"
		 "assert m[3] == d, (m[3], d)\n"
		 "p = hashlib.sha512(m[2].encode() + b'fluentd-1' + nonce + key).hexdigest()\n"
		 "print(msgpack.packb(['PONG', True, '', 'fluentd-1', p]).hex())\n");
	const char *hex = py(script, b.p, b.len);
	char msg[512];
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		msg[i] = (char)v;
	}
	assert_int_equal(cgs_fwd_parse_server(msg, n, &pong), (ssize_t)n);
	assert_int_equal(cgs_fwd_check_pong(&pong, "agent-node", "salt1234", nonce, sizeof(nonce), key, strlen(key)), 0);
	/* The wrong key, our own hostname, or a refusal: not authenticated. */
	assert_int_equal(cgs_fwd_check_pong(&pong, "agent-node", "salt1234", nonce, sizeof(nonce), "other", 5), -EACCES);
	assert_int_equal(cgs_fwd_check_pong(&pong, "fluentd-1", "salt1234", nonce, sizeof(nonce), key, strlen(key)),
			 -EACCES);
	pong.pong_ok = false;
	assert_int_equal(cgs_fwd_check_pong(&pong, "agent-node", "salt1234", nonce, sizeof(nonce), key, strlen(key)),
			 -EACCES);
	(void)hexkey;
	cgs_buf_free(&b);
}

static void hex64(const uint8_t *d, char *out)
{
	for (int i = 0; i < 64; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha512(void **state)
{
	struct cgs_sha512 s;
	uint8_t d[64];
	char hex[129], *buf = malloc(1000000);
	(void)state;

	/* FIPS 180-2 examples */
	cgs_sha512_init(&s);
	cgs_sha512_final(&s, d);
	hex64(d, hex);
	assert_string_equal(hex, "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
				 "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
	cgs_sha512_init(&s);
	cgs_sha512_update(&s, "abc", 3);
	cgs_sha512_final(&s, d);
	hex64(d, hex);
	assert_string_equal(hex, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
				 "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	/* Block-boundary lengths, fed in uneven pieces, against hashlib. */
	for (size_t i = 0; i < 1000000; i++)
		buf[i] = (char)(i * 7 + i / 256);
	size_t lens[] = { 111, 112, 113, 127, 128, 129, 239, 240, 1000, 1000000 };
	char want[4096] = "", got[4096] = "";

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		cgs_sha512_init(&s);
		for (size_t o = 0; o < lens[k];) {
			size_t step = (o % 3 + 1) * 37;

			if (step > lens[k] - o)
				step = lens[k] - o;
			cgs_sha512_update(&s, buf + o, step);
			o += step;
		}
		cgs_sha512_final(&s, d);
		hex64(d, hex);
		strcat(got, hex);
		strcat(got, "\n");
	}
	snprintf(want, sizeof(want), "%s",
		 py("import sys, hashlib\nb = open(sys.argv[1], 'rb').read()\n"
		    "for n in (111, 112, 113, 127, 128, 129, 239, 240, 1000, 1000000): print(hashlib.sha512(b[:n]).hexdigest())\n",
		    buf, 1000000));
	strcat(want, "\n");
	assert_string_equal(got, want);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packed_forward),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_sizes_and_times),
		cmocka_unit_test(test_chunk_id),
		cmocka_unit_test(test_server_messages),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_sha512),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
