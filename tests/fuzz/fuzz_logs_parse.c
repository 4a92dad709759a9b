// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: what the log pipeline reads from outside: container log
// lines (CRI, Docker json-file, RFC 3339 times) and log file paths (pod,
// namespace and container names come from them, then the Forward tag). Each
// line is parsed from an exact-size copy (a read past it is an ASan report);
// the parsers' contracts are checked on what they return.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/logs.h"

static void one_line(const char *data, size_t n, char *scratch)
{
	char *l = malloc(n ? n : 1);
	struct cgs_log_line o;
	int64_t ns;
	enum cgs_log_format f;

	if (!l)
		return;
	memcpy(l, data, n);
	f = cgs_log_detect(l, n);
	if (f != CGS_LOG_FMT_UNKNOWN && f != CGS_LOG_FMT_CRI && f != CGS_LOG_FMT_DOCKER)
		abort();
	memset(&o, 0, sizeof(o));
	if (cgs_log_parse_cri(l, n, &o) == 0) {
		if (o.msg < l || o.msg + o.len > l + n || (o.stream != CGS_LOG_STDOUT && o.stream != CGS_LOG_STDERR))
			abort();
	}
	memset(&o, 0, sizeof(o));
	if (cgs_log_parse_docker(l, n, scratch, &o) == 0) {
		/* Unescaping never grows a string: the message fits the line's own length. */
		if (o.msg != scratch || o.len > n || (o.stream != CGS_LOG_STDOUT && o.stream != CGS_LOG_STDERR))
			abort();
	}
	cgs_log_parse_time(l, n, &ns);
	free(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *scratch = malloc(size ? size : 1), *path = malloc(size + 1), tag[512];
	struct cgs_logpath lp;
	struct lg_meta m;

	if (!scratch || !path)
		goto out;
	/* Every line, then the whole input as one line. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		one_line(p, n, scratch);
		p += n + (nl != NULL);
	}
	one_line((const char *)data, size, scratch);

	memcpy(path, data, size);
	path[size] = '\0';
	cgs_logs_parse_path(path, &lp);
	if (strnlen(lp.namespace_name, sizeof(lp.namespace_name)) == sizeof(lp.namespace_name) ||
	    strnlen(lp.pod_name, sizeof(lp.pod_name)) == sizeof(lp.pod_name) ||
	    strnlen(lp.pod_id, sizeof(lp.pod_id)) == sizeof(lp.pod_id) ||
	    strnlen(lp.container_name, sizeof(lp.container_name)) == sizeof(lp.container_name) ||
	    strnlen(lp.container_id, sizeof(lp.container_id)) == sizeof(lp.container_id))
		abort();
	/* What a path says ends up in the tag. */
	memset(&m, 0, sizeof(m));
	m.namespace_name = lp.namespace_name;
	m.pod_name = lp.pod_name;
	m.pod_id = lp.pod_id;
	m.container_name = lp.container_name;
	m.container_id = lp.container_id;
	m.name = path;
	m.runtime = lp.container_id;
	int r = cgs_logs_render_tag("kube.{namespace}.{pod}.{container}.{container_id}.{name}.{runtime}.{stream}", &m,
				    "stdout", tag, sizeof(tag));
	if ((r != 0 && r != -ENAMETOOLONG) || strnlen(tag, sizeof(tag)) == sizeof(tag))
		abort();
out:
	free(scratch);
	free(path);
	return 0;
}
