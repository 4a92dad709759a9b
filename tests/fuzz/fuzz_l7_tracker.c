// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the request tracker on arbitrary sequences of capture
// records (which connection, direction, flags, truncation and bytes come
// from the input), spans built and freed, connection table bounded, every
// byte released at the end (leaks are reports).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/l7.h"

static struct cgs_resource *res(void *arg, int slot, uint64_t cgroup_id)
{
	(void)slot;
	(void)cgroup_id;
	return cgs_resource_ref(arg);
}

static void span(void *arg, struct cgs_span *s)
{
	(void)arg;
	cgs_span_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kv[] = { "service.name", "fuzz", "container.id", "abc" };
	struct cgs_resource *r = cgs_resource_new(kv, 2);
	struct cgs_l7_redact *red = cgs_l7_redact_new("", "token", "x-a");
	struct cgs_l7_sink sink = { .arg = r, .resource = res, .span = span };
	struct cgs_l7_tracker_opts o = { .sample_percent = 50, .max_conns = 4, .spans = true, .redact = red, .seed = 1 };
	struct cgs_l7_tracker *t = r && red ? cgs_l7_tracker_new(&o, &sink) : NULL;
	size_t off = 0;
	uint64_t ts = 1000;

	/* Each record: 4 control bytes, then up to 255 bytes of data. */
	while (t && off + 4 <= size) {
		const uint8_t *c = data + off;
		size_t n = c[3] < size - off - 4 ? c[3] : size - off - 4;
		char *buf = malloc(sizeof(struct cgs_l7_event) + n + 1);
		struct cgs_l7_event *e = (struct cgs_l7_event *)buf;

		if (!buf)
			break;
		memset(e, 0, sizeof(*e));
		e->tgid = 1 + (c[0] & 1);
		e->fd = (c[0] >> 1) & 3;
		e->sock = (c[0] >> 3) & 1;
		e->kind = (c[0] & 0x80) ? CGS_L7_EV_CLOSE : CGS_L7_EV_DATA;
		e->flags = c[1] & 0x3f;
		e->tid = c[2] & 3;
		e->len = (uint32_t)n + ((c[2] & 4) ? 100 : 0);
		e->cap_len = (uint32_t)n;
		e->ts_enter = ts;
		e->ts_exit = ts + (c[2] >> 4);
		e->family = 2;
		e->lport = (uint16_t)(c[1] >> 6);
		e->rport = (uint16_t)(c[2] >> 6);
		e->netns = 1;
		e->slot = 1;
		memcpy(buf + sizeof(*e), c + 4, n);
		cgs_l7_tracker_record(t, e, buf + sizeof(*e), 0);
		free(buf);
		ts += 1000;
		off += 4 + n;
		if (c[0] == 0x7f)
			cgs_l7_tracker_tick(t, ts + 10000000000ull, 0);
	}
	cgs_l7_tracker_free(t);
	cgs_l7_redact_free(red);
	cgs_resource_unref(r);
	return 0;
}
