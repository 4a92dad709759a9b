// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: what a Fluentd (Forward protocol) server sends back:
// a msgpack stream of HELO, PONG and ack messages, decoded message by
// message from an exact-size copy, with the PONG check and the chunk id
// parser run on what is decoded.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/forward_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nonce[16] = "0123456789abcdef";
	char *p = malloc(size ? size : 1);
	size_t off = 0;

	if (!p)
		return 0;
	memcpy(p, data, size);
	while (off < size) {
		struct cgs_fwd_msg m;
		uint8_t raw[16];
		ssize_t r = cgs_fwd_parse_server(p + off, size - off, &m);

		if (r <= 0) {
			if (r != 0 && r != -EBADMSG && r != -ENOMEM)
				abort();
			break;
		}
		if ((size_t)r > size - off)
			abort();
		switch (m.type) {
		case CGS_FWD_MSG_ACK:
			if (m.ack_len > CGS_FWD_CHUNK_ID_MAX || strlen(m.ack) != m.ack_len)
				abort();
			cgs_fwd_chunk_id_parse(m.ack, m.ack_len, raw);
			break;
		case CGS_FWD_MSG_HELO:
			if (m.nonce_len > CGS_FWD_NONCE_MAX)
				abort();
			break;
		case CGS_FWD_MSG_PONG:
			if (strnlen(m.reason, sizeof(m.reason)) == sizeof(m.reason) ||
			    strnlen(m.hostname, sizeof(m.hostname)) == sizeof(m.hostname) ||
			    strnlen(m.digest, sizeof(m.digest)) == sizeof(m.digest))
				abort();
			cgs_fwd_check_pong(&m, "fuzz-node", "salt", nonce, sizeof(nonce), "key", 3);
			break;
		default:
			break;
		}
		off += (size_t)r;
	}
	free(p);
	return 0;
}
