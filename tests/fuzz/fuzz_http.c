// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the HTTP endpoint's request decision (method, path,
// Authorization, Accept-Encoding and the configured token -> route), the
// part of /metrics and /api/v1/containers handling that is ours (libmicrohttpd
// parses the bytes). Input: the five fields separated by '\n' (a missing
// header is a missing field; an empty token field means no token). Checked:
// nothing but GET and HEAD is served; with a token, nothing but /healthz is
// served without exactly "Bearer <token>".
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/http.h"

static int bearer_ok(const char *auth, const char *token)
{
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return strcmp(auth, token) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *field[5] = { 0 };
	struct cgs_http_decision d;
	struct cgs_http_request rq;
	size_t nf = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; nf < 5; nf++) {
		field[nf] = p;
		p = strchr(p, '\n');
		if (!p) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	rq.method = field[0];
	rq.path = field[1];
	rq.authorization = field[2];
	rq.accept_encoding = field[3];
	const char *token = field[4] && field[4][0] ? field[4] : NULL;

	cgs_http_decide(&rq, token, &d);
	if ((unsigned)d.route >= CGS_HTTP_ROUTE__COUNT)
		abort();
	int get = rq.method && (!strcmp(rq.method, "GET") || !strcmp(rq.method, "HEAD"));

	if (!get != (d.route == CGS_HTTP_ROUTE_BAD_METHOD))
		abort();
	if (token && d.route != CGS_HTTP_ROUTE_BAD_METHOD && d.route != CGS_HTTP_ROUTE_HEALTHZ &&
	    d.route != CGS_HTTP_ROUTE_UNAUTHORIZED && !bearer_ok(rq.authorization, token))
		abort();
	if (token && d.route == CGS_HTTP_ROUTE_UNAUTHORIZED && bearer_ok(rq.authorization, token))
		abort();
	if (d.gzip && d.route != CGS_HTTP_ROUTE_METRICS)
		abort();
	free(buf);
	return 0;
}
