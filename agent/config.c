/* SPDX-License-Identifier: Apache-2.0 */
/* Configuration table and loader; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "log.h"

#define OFF(f) offsetof(struct cgs_config, f)
#define U64MAX UINT64_MAX

const struct cgs_cfg_key cgs_cfg_keys[] = {
	{ "listen", CGS_CFG_LISTEN, ":9338", 0, 0, OFF(listen),
	  "Address and port of the HTTP endpoint (/metrics, /healthz, /api/v1/containers)." },
	{ "http_token_file", CGS_CFG_PATH, "", 0, 0, OFF(http_token_file),
	  "File holding a bearer token that /metrics and /api/v1/containers require (/healthz stays open for probes); empty: no authentication." },
	{ "http_tls_cert_file", CGS_CFG_PATH, "", 0, 0, OFF(http_tls_cert_file),
	  "PEM certificate (chain) to serve HTTPS with; set together with http_tls_key_file. Empty: plain HTTP." },
	{ "http_tls_key_file", CGS_CFG_PATH, "", 0, 0, OFF(http_tls_key_file),
	  "PEM private key of http_tls_cert_file." },
	{ "log_level", CGS_CFG_LOGLEVEL, "info", 0, 0, OFF(log_level),
	  "One of error, warn, info, debug." },
	{ "interval", CGS_CFG_DURATION, "15s", 100, 3600000, OFF(interval_ms),
	  "How often every container's values are collected." },
	{ "rescan_interval", CGS_CFG_DURATION, "30s", 1000, 3600000, OFF(rescan_interval_ms),
	  "How often the whole cgroup tree is walked as a safety net for missed lifecycle events." },
	{ "cgroup_root", CGS_CFG_PATH, "", 0, 0, OFF(cgroup_root),
	  "Root of the cgroup mounts (e.g. /host/sys/fs/cgroup); empty: found in /proc/self/mountinfo." },
	{ "proc_root", CGS_CFG_PATH, "/proc", 0, 0, OFF(proc_root),
	  "The host's /proc (e.g. /host/proc inside a pod)." },
	{ "containerd_state_dir", CGS_CFG_PATH, "/run/containerd/io.containerd.runtime.v2.task", 0, 0,
	  OFF(containerd_state_dir), "containerd task state: <namespace>/<id>/config.json; empty disables." },
	{ "crio_state_dir", CGS_CFG_PATH, "/run/containers/storage/overlay-containers", 0, 0,
	  OFF(crio_state_dir), "CRI-O container state: <id>/userdata/config.json; empty disables." },
	{ "docker_state_dir", CGS_CFG_PATH, "/var/lib/docker/containers", 0, 0, OFF(docker_state_dir),
	  "Docker container state: <id>/config.v2.json; empty disables." },
	{ "podman_state_dir", CGS_CFG_PATH, "/var/lib/containers/storage/overlay-containers", 0, 0,
	  OFF(podman_state_dir), "Podman container state: <id>/userdata/config.json; empty disables." },
	{ "max_containers", CGS_CFG_UINT, "5000", 1, 1000000, OFF(max_containers),
	  "Most containers tracked; more are counted in cgsight_series_dropped_total." },
	{ "max_series_per_container", CGS_CFG_UINT, "300", 10, 100000, OFF(max_series_per_container),
	  "Cardinality budget: most series exported per container, a histogram counting one per bucket plus _sum and _count (the default collectors make at most 265). Series past it are left out (logged once per container) and counted at every collection in cgsight_series_dropped_total{reason=\"max_series_per_container\"}." },
	{ "bpf", CGS_CFG_BOOL, "true", 0, 0, OFF(bpf),
	  "Load the eBPF collectors (false: cgroupfs only, lifecycle by rescans)." },
	{ "bpf_max_containers", CGS_CFG_UINT, "1024", 1, 65535, OFF(bpf_max_containers),
	  "Containers the eBPF collectors keep per-container state for; more are counted, not measured." },
	{ "drop_capabilities", CGS_CFG_BOOL, "true", 0, 0, OFF(drop_capabilities),
	  "After loading and attaching the BPF programs, drop every capability but CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE (reading other users' files and /proc entries)." },
	{ "include_host", CGS_CFG_BOOL, "false", 0, 0, OFF(include_host),
	  "Also measure tasks outside containers, exported as the container id=\"/\" (like cAdvisor's root)." },
	/* anchor:keys-sched */
	{ "syscalls_top_k", CGS_CFG_UINT, "10", 1, 100, OFF(syscalls_top_k),
	  "container_syscalls_total: the K syscalls a container calls most get a series each, the rest count in syscall=\"other\"; a syscall that drops out of the top K keeps its series until K + K/4 (rounded up) are taken." },
	{ "syscalls_max_containers", CGS_CFG_UINT, "4096", 1, 65535, OFF(syscalls_max_containers),
	  "Containers the syscall collector measures at once (at most bpf_max_containers); its counters take 2944 bytes per container per CPU. More are counted in cgsight_series_dropped_total{reason=\"syscalls_max_containers\"}, not measured." },
	/* anchor:keys-syscalls */
	{ "tcp_peer_top_n", CGS_CFG_UINT, "0", 0, CGS_TCP_PEER_TOP_MAX, OFF(tcp_peer_top_n),
	  "Per-destination TCP series (container_tcp_peer_*{destination=\"ip:port\"}) for each container's N busiest destinations of active opens; 0: off." },
	/* anchor:keys-net */
	{ "logs", CGS_CFG_BOOL, "false", 0, 0, OFF(logs),
	  "Tail the containers' log files and ship them to Fluentd (Forward protocol, at least once)." },
	{ "log_paths", CGS_CFG_PATH_LIST,
	  "/var/log/containers/*.log,/var/lib/docker/containers/*/*-json.log,"
	  "/var/lib/containers/storage/overlay-containers/*/userdata/ctr.log",
	  0, 0, OFF(log_paths),
	  "Glob patterns of the log files to tail: CRI files (Kubernetes, Podman k8s-file) and Docker json-file." },
	{ "log_link_roots", CGS_CFG_PATH_LIST, "/var/log/pods", 0, 0, OFF(log_link_roots),
	  "Where a log_paths match that is a symlink may lead, besides the directories of the log_paths patterns themselves (Kubernetes links /var/log/containers/*.log into /var/log/pods); a file resolving elsewhere is not read, counted in cgsight_logs_rejected_files_total." },
	{ "log_position_file", CGS_CFG_PATH, "/var/lib/cgsight/logs.pos", 0, 0, OFF(log_position_file),
	  "Where the acknowledged offset of every tailed file is kept (survives restarts and kill -9)." },
	{ "log_spool_dir", CGS_CFG_PATH, "/var/lib/cgsight/spool", 0, 0, OFF(log_spool_dir),
	  "On-disk buffer for chunks past log_buffer_bytes while Fluentd takes no data; empty disables it." },
	{ "log_buffer_bytes", CGS_CFG_UINT, "16777216", 65536, UINT64_C(1) << 36, OFF(log_buffer_bytes),
	  "Memory for log records read but not yet acknowledged; when full (and the spool too) reading pauses." },
	{ "log_spool_bytes", CGS_CFG_UINT, "268435456", 0, UINT64_C(1) << 42, OFF(log_spool_bytes),
	  "Most bytes kept in log_spool_dir." },
	{ "log_chunk_bytes", CGS_CFG_UINT, "1048576", 4096, UINT64_C(1) << 26, OFF(log_chunk_bytes),
	  "Target size of one Forward chunk (records of one tag, acknowledged as a whole)." },
	{ "log_max_line_bytes", CGS_CFG_UINT, "262144", 1024, UINT64_C(1) << 26, OFF(log_max_line_bytes),
	  "Longest record; a longer line is shipped in pieces of this size, flagged split." },
	{ "log_max_files", CGS_CFG_UINT, "16384", 1, 1000000, OFF(log_max_files),
	  "Most log files held open at once (further ones wait, counted in cgsight_logs_files{state=\"waiting\"})." },
	{ "log_read_from_head", CGS_CFG_BOOL, "true", 0, 0, OFF(log_read_from_head),
	  "Read files that have no recorded position from their start (false: from their end, at the first scan only)." },
	{ "log_flush_interval", CGS_CFG_DURATION, "200ms", 10, 60000, OFF(log_flush_interval_ms),
	  "Longest a record waits for its chunk to fill before the chunk is sent." },
	{ "log_commit_interval", CGS_CFG_DURATION, "1s", 10, 600000, OFF(log_commit_interval_ms),
	  "How often acknowledged offsets are written to log_position_file (and at shutdown)." },
	{ "log_rotate_wait", CGS_CFG_DURATION, "5s", 0, 3600000, OFF(log_rotate_wait_ms),
	  "How long a rotated or deleted file is still read after its last write before it is closed." },
	{ "log_rescan_interval", CGS_CFG_DURATION, "10s", 100, 3600000, OFF(log_rescan_interval_ms),
	  "How often log_paths are expanded again as a safety net for missed inotify events." },
	{ "fluentd_address", CGS_CFG_LISTEN, "127.0.0.1:24224", 0, 0, OFF(fluentd_address),
	  "Fluentd (or Fluent Bit) forward input: HOST:PORT." },
	{ "fluentd_tag", CGS_CFG_STRING, "kube.{namespace}.{pod}.{container}", 0, 0, OFF(fluentd_tag),
	  "Tag of each record; {namespace} {pod} {container} {container_id} {name} {runtime} {stream} are replaced." },
	{ "fluentd_require_ack", CGS_CFG_BOOL, "true", 0, 0, OFF(fluentd_require_ack),
	  "Ask Fluentd to acknowledge every chunk; offsets are committed only after the ack (false: after the write)." },
	{ "fluentd_ack_timeout", CGS_CFG_DURATION, "60s", 100, 3600000, OFF(fluentd_ack_timeout_ms),
	  "A chunk not acknowledged within this time is sent again (over a new connection)." },
	{ "fluentd_compress", CGS_CFG_BOOL, "false", 0, 0, OFF(fluentd_compress),
	  "Send gzip-compressed chunks (CompressedPackedForward)." },
	{ "fluentd_shared_key_file", CGS_CFG_PATH, "", 0, 0, OFF(fluentd_shared_key_file),
	  "File holding the shared key for the forward handshake (HELO/PING/PONG); empty: no handshake." },
	{ "fluentd_hostname", CGS_CFG_STRING, "", 0, 0, OFF(fluentd_hostname),
	  "Our hostname in the handshake; empty: node_name, else the host name." },
	{ "fluentd_window_bytes", CGS_CFG_UINT, "4194304", 4096, UINT64_C(1) << 32, OFF(fluentd_window_bytes),
	  "Most chunk bytes sent and not yet acknowledged." },
	{ "fluentd_retry_wait", CGS_CFG_DURATION, "1s", 10, 3600000, OFF(fluentd_retry_wait_ms),
	  "First wait before reconnecting after a failure; doubles per failure, with jitter." },
	{ "fluentd_retry_max_wait", CGS_CFG_DURATION, "60s", 10, 3600000, OFF(fluentd_retry_max_wait_ms),
	  "Longest wait between reconnection attempts." },
	{ "events_file", CGS_CFG_PATH, "/var/lib/cgsight/events.log", 0, 0, OFF(events_file),
	  "Structured agent events (OOM kills) are appended here as JSON lines, whether or not logs is on; with logs: true they are shipped to Fluentd from it. Empty: no file (the API only)." },
	{ "events_file_max_bytes", CGS_CFG_UINT, "16777216", 4096, UINT64_C(1) << 40, OFF(events_file_max_bytes),
	  "Past this size events_file is renamed to <events_file>.1 (replacing the previous one) and started anew." },
	{ "events_tag", CGS_CFG_STRING, "cgsight.events", 0, 0, OFF(events_tag),
	  "Fluentd tag of the event records; the placeholders of fluentd_tag are replaced with the event's container ({stream} is \"event\")." },
	/* anchor:keys-logs */
	/* anchor:keys-top */
	{ "traces", CGS_CFG_BOOL, "false", 0, 0, OFF(traces),
	  "Follow the containers' HTTP/1.x requests from their socket syscalls: RED metrics and OTLP spans." },
	{ "otlp_endpoint", CGS_CFG_STRING, "", 0, 0, OFF(otlp_endpoint),
	  "OTLP/HTTP endpoint for spans: http(s)://HOST:PORT (POST /v1/traces) or a full URL; empty: no spans." },
	{ "otlp_gzip", CGS_CFG_BOOL, "false", 0, 0, OFF(otlp_gzip),
	  "Send export requests gzip-compressed." },
	{ "otlp_timeout", CGS_CFG_DURATION, "10s", 100, 600000, OFF(otlp_timeout_ms),
	  "Longest one export request may take." },
	{ "otlp_batch_spans", CGS_CFG_UINT, "512", 1, 100000, OFF(otlp_batch_spans),
	  "Most spans per export request." },
	{ "otlp_flush_interval", CGS_CFG_DURATION, "1s", 10, 600000, OFF(otlp_flush_interval_ms),
	  "Longest a span waits for its batch to fill." },
	{ "otlp_queue_spans", CGS_CFG_UINT, "8192", 1, 10000000, OFF(otlp_queue_spans),
	  "Most spans held for export; more are dropped and counted in cgsight_spans_total{result=\"dropped_queue_full\"}." },
	{ "otlp_max_retries", CGS_CFG_UINT, "5", 0, 100, OFF(otlp_max_retries),
	  "Retries of a batch answered 429, 502, 503 or 504 or lost in transport, before it is dropped." },
	{ "otlp_retry_backoff", CGS_CFG_DURATION, "1s", 10, 600000, OFF(otlp_retry_backoff_ms),
	  "First retry delay; doubles per retry (up to 32 times); a Retry-After in seconds wins." },
	{ "traces_sample_percent", CGS_CFG_UINT, "100", 0, 100, OFF(traces_sample_percent),
	  "Head sampling: percentage of traces whose spans are exported (decided on the trace id)." },
	{ "traces_slow_threshold", CGS_CFG_DURATION, "500ms", 0, 3600000, OFF(traces_slow_threshold_ms),
	  "Spans at least this long are always exported, whatever the sampling (0: off); so are errors." },
	{ "traces_span_budget", CGS_CFG_UINT, "10000", 0, 10000000, OFF(traces_span_budget),
	  "Most spans exported per second (0: no limit); more are counted in cgsight_spans_total{result=\"dropped_budget\"}." },
	{ "traces_capture_bytes", CGS_CFG_UINT, "256", 64, 4096, OFF(traces_capture_bytes),
	  "Bytes copied from the start of each HTTP message (headers past them are not seen)." },
	{ "traces_max_connections", CGS_CFG_UINT, "65536", 64, 4194304, OFF(traces_max_connections),
	  "Most connections followed at once (kernel and agent); the least recently used are forgotten." },
	{ "traces_redact_headers", CGS_CFG_STRING, "", 0, 0, OFF(traces_redact_headers),
	  "Comma-separated header names never exported, on top of Authorization, Proxy-Authorization, Cookie, Set-Cookie." },
	{ "traces_redact_query", CGS_CFG_STRING, "token,access_token,api_key,apikey,key,password,secret,signature,sig",
	  0, 0, OFF(traces_redact_query),
	  "Comma-separated query keys whose values are exported as REDACTED." },
	{ "traces_capture_headers", CGS_CFG_STRING, "", 0, 0, OFF(traces_capture_headers),
	  "Comma-separated header names exported as http.request.header.<name> / http.response.header.<name>." },
	{ "traces_cgroups", CGS_CFG_STRING, "", 0, 0, OFF(traces_cgroups),
	  "Comma-separated glob patterns of the container cgroup paths (the id label) to trace; empty: every container." },
	{ "traces_ring_buffer_bytes", CGS_CFG_UINT, "16777216", 1048576, 1073741824, OFF(traces_ring_buffer_bytes),
	  "Kernel ring buffer for captured messages (rounded up to a power of two); it absorbs the agent's pauses." },
	/* anchor:keys-l7 */
	{ "node_name", CGS_CFG_STRING, "", 0, 0, OFF(node_name),
	  "Name of this node (the DaemonSet sets CGSIGHT_NODE_NAME from the downward API)." },
};
const size_t cgs_cfg_nkeys = sizeof(cgs_cfg_keys) / sizeof(cgs_cfg_keys[0]);

static const struct cgs_cfg_key *find_key(const char *key)
{
	char norm[64];
	size_t i;

	for (i = 0; key[i] && i + 1 < sizeof(norm); i++)
		norm[i] = key[i] == '-' ? '_' : (char)tolower((unsigned char)key[i]);
	if (key[i])
		return NULL;
	norm[i] = '\0';
	for (i = 0; i < cgs_cfg_nkeys; i++)
		if (strcmp(cgs_cfg_keys[i].key, norm) == 0)
			return &cgs_cfg_keys[i];
	return NULL;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	*v = x;
	return *end ? -EINVAL : 0;
}

static int parse_duration_ms(const char *s, uint64_t *ms)
{
	char *end;
	double x;
	double mult = 1000.0;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s || x < 0 || x != x)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mult = 1.0;
	else if (!strcmp(end, "s") || !*end)
		mult = 1000.0;
	else if (!strcmp(end, "m"))
		mult = 60000.0;
	else if (!strcmp(end, "h"))
		mult = 3600000.0;
	else
		return -EINVAL;
	if (x * mult > 1e15)
		return -ERANGE;
	*ms = (uint64_t)(x * mult + 0.5);
	return 0;
}

int cgs_config_listen_split(const char *listen, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hl;
	uint64_t p;

	if (!colon || parse_u64(colon + 1, &p) < 0 || p > 65535) /* 0: any free port */
		return -EINVAL;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	} else if (memchr(h, ':', hl)) {
		return -EINVAL; /* IPv6 needs brackets */
	}
	if (hl >= hostlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* Stores trimmed, non-empty items as "a\0b\0\0" (see CGS_CFG_LIST_MAX); the field is left alone on error. */
static int set_list_items(const struct cgs_cfg_key *k, char *field, const char *const *items, size_t n,
			  const char *where, char *err, size_t errlen)
{
	char buf[CGS_CFG_LIST_MAX];
	size_t len = 0;

	memset(buf, 0, sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		const char *s = items[i], *e;

		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e == s)
			continue;
		if (k->type == CGS_CFG_PATH_LIST && *s != '/') {
			snprintf(err, errlen, "%s: '%s' expects absolute paths, got '%.*s'", where, k->key,
				 (int)(e - s), s);
			return -EINVAL;
		}
		if (len + (size_t)(e - s) + 2 > sizeof(buf)) {
			snprintf(err, errlen, "%s: '%s' is too long (at most %d bytes)", where, k->key,
				 CGS_CFG_LIST_MAX - 2);
			return -EINVAL;
		}
		memcpy(buf + len, s, (size_t)(e - s));
		len += (size_t)(e - s) + 1;
	}
	memcpy(field, buf, sizeof(buf));
	return 0;
}

/* Comma-separated text (environment, flags, a YAML scalar) into a list. */
static int set_list_text(const struct cgs_cfg_key *k, char *field, const char *value, const char *where,
			 char *err, size_t errlen)
{
	char copy[CGS_CFG_LIST_MAX];
	const char *items[CGS_CFG_LIST_MAX / 2];
	size_t n = 0;
	char *p, *save = NULL;

	if (strlen(value) >= sizeof(copy)) {
		snprintf(err, errlen, "%s: '%s' is too long (at most %d bytes)", where, k->key, CGS_CFG_LIST_MAX - 2);
		return -EINVAL;
	}
	memcpy(copy, value, strlen(value) + 1);
	for (p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
		items[n++] = p;
	return set_list_items(k, field, items, n, where, err, errlen);
}

int cgs_config_set_list(struct cgs_config *cfg, const char *key, const char *const *items, size_t n,
			const char *where, char *err, size_t errlen)
{
	const struct cgs_cfg_key *k = find_key(key);

	if (!k) {
		snprintf(err, errlen, "%s: unknown key '%s'", where, key);
		return -ENOENT;
	}
	if (k->type != CGS_CFG_LIST && k->type != CGS_CFG_PATH_LIST) {
		snprintf(err, errlen, "%s: '%s' expects a single value, not a list", where, k->key);
		return -EINVAL;
	}
	return set_list_items(k, (char *)cfg + k->off, items, n, where, err, errlen);
}

int cgs_config_set(struct cgs_config *cfg, const char *key, const char *value, const char *where,
		   char *err, size_t errlen)
{
	const struct cgs_cfg_key *k = find_key(key);
	char *field;
	uint64_t u;
	int r;

	if (!k) {
		snprintf(err, errlen, "%s: unknown key '%s'", where, key);
		return -ENOENT;
	}
	field = (char *)cfg + k->off;
	switch (k->type) {
	case CGS_CFG_STRING:
	case CGS_CFG_PATH: {
		size_t cap = k->type == CGS_CFG_PATH ? PATH_MAX : CGS_CFG_STR;

		if (strlen(value) >= cap) {
			snprintf(err, errlen, "%s: '%s' is too long (at most %zu bytes)", where, k->key, cap - 1);
			return -EINVAL;
		}
		if (k->type == CGS_CFG_PATH && value[0] && value[0] != '/') {
			snprintf(err, errlen, "%s: '%s' must be an absolute path, got '%s'", where, k->key, value);
			return -EINVAL;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	case CGS_CFG_UINT:
	case CGS_CFG_DURATION:
		r = k->type == CGS_CFG_UINT ? parse_u64(value, &u) : parse_duration_ms(value, &u);
		if (r < 0) {
			snprintf(err, errlen, "%s: '%s' expects %s, got '%s'", where, k->key,
				 k->type == CGS_CFG_UINT ? "a non-negative integer"
							  : "a duration such as 10s, 500ms or 2m",
				 value);
			return -EINVAL;
		}
		if (u < k->min || u > k->max) {
			if (k->type == CGS_CFG_UINT)
				snprintf(err, errlen, "%s: '%s' must be between %llu and %llu, got %llu", where,
					 k->key, (unsigned long long)k->min, (unsigned long long)k->max,
					 (unsigned long long)u);
			else
				snprintf(err, errlen, "%s: '%s' must be between %llums and %llums, got '%s'",
					 where, k->key, (unsigned long long)k->min, (unsigned long long)k->max,
					 value);
			return -EINVAL;
		}
		*(uint64_t *)(void *)field = u;
		return 0;
	case CGS_CFG_BOOL:
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1") || !strcmp(value, "on"))
			*(bool *)field = true;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0") ||
			 !strcmp(value, "off"))
			*(bool *)field = false;
		else {
			snprintf(err, errlen, "%s: '%s' expects true or false, got '%s'", where, k->key, value);
			return -EINVAL;
		}
		return 0;
	case CGS_CFG_LOGLEVEL:
		r = cgs_log_level_parse(value);
		if (r < 0) {
			snprintf(err, errlen, "%s: '%s' expects one of error, warn, info, debug, got '%s'", where,
				 k->key, value);
			return -EINVAL;
		}
		*(int *)(void *)field = r;
		return 0;
	case CGS_CFG_LISTEN: {
		char host[CGS_CFG_STR];
		uint16_t port;

		if (strlen(value) >= CGS_CFG_STR ||
		    cgs_config_listen_split(value, host, sizeof(host), &port) < 0) {
			snprintf(err, errlen, "%s: '%s' expects ADDR:PORT, [ADDR]:PORT or :PORT, got '%s'", where,
				 k->key, value);
			return -EINVAL;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	case CGS_CFG_LIST:
	case CGS_CFG_PATH_LIST:
		return set_list_text(k, field, value, where, err, errlen);
	}
	return -EINVAL;
}

bool cgs_config_key_equal(const struct cgs_cfg_key *k, const struct cgs_config *a, const struct cgs_config *b)
{
	const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;

	switch (k->type) {
	case CGS_CFG_STRING:
	case CGS_CFG_PATH:
	case CGS_CFG_LISTEN:
		return !strcmp(x, y);
	case CGS_CFG_UINT:
	case CGS_CFG_DURATION:
		return *(const uint64_t *)(const void *)x == *(const uint64_t *)(const void *)y;
	case CGS_CFG_BOOL:
		return *(const bool *)x == *(const bool *)y;
	case CGS_CFG_LOGLEVEL:
		return *(const int *)(const void *)x == *(const int *)(const void *)y;
	case CGS_CFG_LIST:
	case CGS_CFG_PATH_LIST:
		return !memcmp(x, y, CGS_CFG_LIST_MAX); /* NUL-separated items, zero-filled */
	}
	return false;
}

void cgs_config_defaults(struct cgs_config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < cgs_cfg_nkeys; i++)
		if (cgs_config_set(cfg, cgs_cfg_keys[i].key, cgs_cfg_keys[i].def, "default", err, sizeof(err)))
			abort(); /* the table itself is wrong: a build-time bug */
}

int cgs_config_load_string(struct cgs_config *cfg, const char *yaml, size_t len, const char *name,
			   char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	char key[128] = "", where[PATH_MAX + 32];
	int depth = 0, want_key = 1, r = 0, done = 0;
	unsigned long key_line = 0;
	/* A sequence given to a list key: items packed NUL-separated. */
	static const size_t seq_cap = CGS_CFG_LIST_MAX;
	char *seq = NULL;
	size_t seq_len = 0, seq_n = 0;
	int in_seq = 0;

	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	while (!done && !r) {
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errlen, "%s: line %lu: YAML syntax error: %s", name,
				 (unsigned long)p.problem_mark.line + 1, p.problem ? p.problem : "unknown");
			r = -EINVAL;
			break;
		}
		unsigned long line = (unsigned long)ev.start_mark.line + 1;

		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			if (in_seq) {
				snprintf(err, errlen, "%s: line %lu: '%s' expects a list of values, not of mappings",
					 name, line, key);
				r = -EINVAL;
			} else if (depth == 0) {
				depth = 1;
			} else {
				snprintf(err, errlen, "%s: line %lu: '%s' expects a single value, not a mapping",
					 name, line, key);
				r = -EINVAL;
			}
			break;
		case YAML_SEQUENCE_START_EVENT: {
			const struct cgs_cfg_key *k = depth && !want_key ? find_key(key) : NULL;

			if (!in_seq && k && (k->type == CGS_CFG_LIST || k->type == CGS_CFG_PATH_LIST)) {
				if (!seq && !(seq = malloc(seq_cap))) {
					r = -ENOMEM;
					snprintf(err, errlen, "%s: out of memory", name);
					break;
				}
				in_seq = 1;
				seq_len = seq_n = 0;
				break;
			}
			if (in_seq)
				snprintf(err, errlen, "%s: line %lu: '%s' expects a list of values, not of lists", name,
					 line, key);
			else
				snprintf(err, errlen, "%s: line %lu: %s%s%s expects a single value, not a list", name,
					 line, depth ? "'" : "", depth ? key : "the document", depth ? "'" : "");
			r = -EINVAL;
			break;
		}
		case YAML_SEQUENCE_END_EVENT: {
			const char *items[CGS_CFG_LIST_MAX / 2];
			size_t off = 0;

			if (!in_seq)
				break;
			for (size_t i = 0; i < seq_n; i++) {
				items[i] = seq + off;
				off += strlen(seq + off) + 1;
			}
			snprintf(where, sizeof(where), "%s: line %lu", name, key_line);
			r = cgs_config_set_list(cfg, key, items, seq_n, where, err, errlen);
			in_seq = 0;
			want_key = 1;
			break;
		}
		case YAML_MAPPING_END_EVENT:
			depth = 0;
			break;
		case YAML_ALIAS_EVENT:
			snprintf(err, errlen, "%s: line %lu: aliases are not supported", name, line);
			r = -EINVAL;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;

			if (in_seq) {
				if (memchr(v, '\0', ev.data.scalar.length)) {
					snprintf(err, errlen, "%s: line %lu: '%s' holds a NUL character", name, line, key);
					r = -EINVAL;
					break;
				}
				if (seq_len + ev.data.scalar.length + 1 > seq_cap || seq_n >= CGS_CFG_LIST_MAX / 2) {
					snprintf(err, errlen, "%s: line %lu: '%s' is too long (at most %d bytes)", name,
						 line, key, CGS_CFG_LIST_MAX - 2);
					r = -EINVAL;
					break;
				}
				memcpy(seq + seq_len, v, ev.data.scalar.length + 1);
				seq_len += ev.data.scalar.length + 1;
				seq_n++;
			} else if (depth == 0) {
				/* An empty document is fine; a bare scalar is not. */
				if (ev.data.scalar.length) {
					snprintf(err, errlen, "%s: line %lu: expected a mapping of keys to values",
						 name, line);
					r = -EINVAL;
				}
			} else if (want_key) {
				snprintf(key, sizeof(key), "%s", v);
				key_line = line;
				if (!find_key(key) || strchr(key, '-')) {
					snprintf(err, errlen, "%s: line %lu: unknown key '%s'", name, line, key);
					r = -ENOENT;
				}
				want_key = 0;
			} else {
				/* A YAML null (`key:` or `key: ~`) means the default: leave it. */
				int is_null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					      (!ev.data.scalar.length || !strcmp(v, "~") || !strcmp(v, "null"));

				snprintf(where, sizeof(where), "%s: line %lu", name, key_line);
				if (!is_null)
					r = cgs_config_set(cfg, key, v, where, err, errlen);
				want_key = 1;
			}
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	free(seq);
	return r;
}

int cgs_config_load_file(struct cgs_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return r;
	}
	buf = malloc(1 << 20);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, 1 << 20, f);
	if (ferror(f) || n == 1 << 20) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ? "read error" : "larger than 1 MiB");
		fclose(f);
		free(buf);
		return -EINVAL;
	}
	fclose(f);
	r = cgs_config_load_string(cfg, buf, n, path, err, errlen);
	free(buf);
	return r;
}

int cgs_config_load_env(struct cgs_config *cfg, char **envp, char *err, size_t errlen)
{
	for (char **e = envp; e && *e; e++) {
		const char *eq;
		char key[96];

		if (strncmp(*e, "CGSIGHT_", 8) != 0 || !(eq = strchr(*e, '=')))
			continue;
		size_t kl = (size_t)(eq - (*e + 8));
		if (kl >= sizeof(key))
			kl = sizeof(key) - 1;
		memcpy(key, *e + 8, kl);
		key[kl] = '\0';
		char where[128];

		snprintf(where, sizeof(where), "environment CGSIGHT_%s", key);
		/*
		 * CGSIGHT_CONFIG names the file (the caller reads it). Other names
		 * that are not keys are skipped: Kubernetes injects
		 * CGSIGHT_SERVICE_HOST, CGSIGHT_PORT_... for a Service named cgsight.
		 */
		if (!strcmp(key, "CONFIG"))
			continue;
		if (!find_key(key)) {
			cgs_log_debug("config", "%s is not a configuration key: ignored", where);
			continue;
		}
		int r = cgs_config_set(cfg, key, eq + 1, where, err, errlen);

		if (r)
			return r;
	}
	return 0;
}

static const char *type_hint(enum cgs_cfg_type t)
{
	switch (t) {
	case CGS_CFG_STRING: return "STRING";
	case CGS_CFG_PATH: return "PATH";
	case CGS_CFG_UINT: return "N";
	case CGS_CFG_DURATION: return "DURATION";
	case CGS_CFG_BOOL: return "true|false";
	case CGS_CFG_LOGLEVEL: return "LEVEL";
	case CGS_CFG_LISTEN: return "ADDR:PORT";
	case CGS_CFG_LIST: return "ITEM,...";
	case CGS_CFG_PATH_LIST: return "PATH,...";
	}
	return "VALUE";
}

void cgs_config_write_defaults(FILE *f)
{
	fprintf(f, "# cgsight agent configuration. Every key is optional; shown are the defaults.\n"
		   "# Each key can also be set with CGSIGHT_<KEY> in the environment or --<key> on the\n"
		   "# command line (later sources win: file, environment, flags).\n");
	for (size_t i = 0; i < cgs_cfg_nkeys; i++) {
		const struct cgs_cfg_key *k = &cgs_cfg_keys[i];

		fprintf(f, "\n# %s\n%s:", k->help, k->key);
		if (k->type == CGS_CFG_STRING || k->type == CGS_CFG_PATH || k->type == CGS_CFG_LISTEN) {
			fprintf(f, " \"%s\"\n", k->def);
		} else if (k->type == CGS_CFG_LIST || k->type == CGS_CFG_PATH_LIST) {
			/* One item per line; the defaults hold no commas, quotes or backslashes. */
			const char *p = k->def;

			fprintf(f, "%s", *p ? "\n" : " []\n");
			while (*p) {
				size_t n = strcspn(p, ",");

				fprintf(f, "  - \"%.*s\"\n", (int)n, p);
				p += n + (p[n] == ',');
			}
		} else {
			fprintf(f, " %s\n", k->def);
		}
	}
}

void cgs_config_write_help(FILE *f)
{
	for (size_t i = 0; i < cgs_cfg_nkeys; i++) {
		const struct cgs_cfg_key *k = &cgs_cfg_keys[i];
		char flag[64];
		size_t j;

		for (j = 0; k->key[j] && j + 1 < sizeof(flag); j++)
			flag[j] = k->key[j] == '_' ? '-' : k->key[j];
		flag[j] = '\0';
		fprintf(f, "  --%s %s\n      %s (default: %s%s%s)\n", flag, type_hint(k->type), k->help,
			k->def[0] ? "" : "\"", k->def, k->def[0] ? "" : "\"");
	}
}
