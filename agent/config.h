/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Configuration: one declarative table of keys (type, default, range, help)
 * and one validating loader. Sources, later ones winning: built-in
 * defaults, the YAML file, CGSIGHT_<KEY> environment variables, command
 * line flags (--key value / --key=value, '_' may be written '-').
 * Unknown keys and bad values are errors that name the key and the line.
 */
#ifndef CGS_CONFIG_H
#define CGS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CGS_CFG_STR 256
/*
 * A list value (CGS_CFG_LIST, CGS_CFG_PATH_LIST) is stored in a char array
 * of this size as NUL-separated items ended by an empty item ("a\0b\0\0"):
 *   for (const char *p = cfg->log_paths; *p; p += strlen(p) + 1) ...
 * It is written as a YAML sequence or as comma-separated text (environment,
 * flags, or a YAML scalar); items are trimmed and empty ones skipped.
 */
#define CGS_CFG_LIST_MAX 4096

/* Most destinations per container tcp_peer_top_n may ask for. */
#define CGS_TCP_PEER_TOP_MAX 100

struct cgs_config {
	char listen[CGS_CFG_STR];
	char http_token_file[PATH_MAX];
	char http_tls_cert_file[PATH_MAX];
	char http_tls_key_file[PATH_MAX];
	int log_level;
	uint64_t interval_ms;
	uint64_t rescan_interval_ms;
	char cgroup_root[PATH_MAX];
	char proc_root[PATH_MAX];
	char containerd_state_dir[PATH_MAX];
	char crio_state_dir[PATH_MAX];
	char docker_state_dir[PATH_MAX];
	char podman_state_dir[PATH_MAX];
	uint64_t max_containers;
	uint64_t max_series_per_container;
	bool bpf;
	uint64_t bpf_max_containers;
	bool include_host;
	bool drop_capabilities;
	char node_name[CGS_CFG_STR];
	/* anchor:config-sched */
	uint64_t syscalls_top_k;
	uint64_t syscalls_max_containers;
	/* anchor:config-syscalls */
	uint64_t tcp_peer_top_n;
	/* anchor:config-net */
	bool logs;
	char log_paths[CGS_CFG_LIST_MAX];
	char log_link_roots[CGS_CFG_LIST_MAX];
	char log_position_file[PATH_MAX];
	char log_spool_dir[PATH_MAX];
	uint64_t log_buffer_bytes;
	uint64_t log_spool_bytes;
	uint64_t log_chunk_bytes;
	uint64_t log_max_line_bytes;
	uint64_t log_max_files;
	bool log_read_from_head;
	uint64_t log_flush_interval_ms;
	uint64_t log_commit_interval_ms;
	uint64_t log_rotate_wait_ms;
	uint64_t log_rescan_interval_ms;
	char fluentd_address[CGS_CFG_STR];
	char fluentd_tag[CGS_CFG_STR];
	bool fluentd_require_ack;
	uint64_t fluentd_ack_timeout_ms;
	bool fluentd_compress;
	char fluentd_shared_key_file[PATH_MAX];
	char fluentd_hostname[CGS_CFG_STR];
	uint64_t fluentd_window_bytes;
	uint64_t fluentd_retry_wait_ms;
	uint64_t fluentd_retry_max_wait_ms;
	char events_file[PATH_MAX];
	uint64_t events_file_max_bytes;
	char events_tag[CGS_CFG_STR];
	/* anchor:config-logs */
	/* anchor:config-top */
	bool traces;
	char otlp_endpoint[CGS_CFG_STR];
	bool otlp_gzip;
	uint64_t otlp_timeout_ms;
	uint64_t otlp_batch_spans;
	uint64_t otlp_flush_interval_ms;
	uint64_t otlp_queue_spans;
	uint64_t otlp_max_retries;
	uint64_t otlp_retry_backoff_ms;
	uint64_t traces_sample_percent;
	uint64_t traces_slow_threshold_ms;
	uint64_t traces_span_budget;
	uint64_t traces_capture_bytes;
	uint64_t traces_max_connections;
	char traces_redact_headers[CGS_CFG_STR];
	char traces_redact_query[CGS_CFG_STR];
	char traces_capture_headers[CGS_CFG_STR];
	char traces_cgroups[CGS_CFG_STR];
	uint64_t traces_ring_buffer_bytes;
	/* anchor:config-l7 */
};

enum cgs_cfg_type {
	CGS_CFG_STRING,
	CGS_CFG_PATH,
	CGS_CFG_UINT,
	CGS_CFG_DURATION, /* stored in milliseconds; "10s", "500ms", "2m", bare number = seconds */
	CGS_CFG_BOOL,
	CGS_CFG_LOGLEVEL,
	CGS_CFG_LISTEN,   /* "ADDR:PORT", "[v6]:PORT" or ":PORT" */
	CGS_CFG_LIST,     /* list of strings, see CGS_CFG_LIST_MAX */
	CGS_CFG_PATH_LIST, /* list of absolute paths (or glob patterns) */
};

struct cgs_cfg_key {
	const char *key;
	enum cgs_cfg_type type;
	const char *def;
	uint64_t min, max; /* UINT and DURATION (ms) */
	size_t off;
	const char *help;
};

extern const struct cgs_cfg_key cgs_cfg_keys[];
extern const size_t cgs_cfg_nkeys;

/* Fills the defaults. */
void cgs_config_defaults(struct cgs_config *cfg);
/* Whether key `k` has the same value in both configurations (what a reload changed). */
bool cgs_config_key_equal(const struct cgs_cfg_key *k, const struct cgs_config *a, const struct cgs_config *b);
/*
 * Sets one key from text. `where` names the source for messages ("line 4",
 * "CGSIGHT_LISTEN", "--listen"). 0, or -EINVAL/-ENOENT with a message in err.
 */
int cgs_config_set(struct cgs_config *cfg, const char *key, const char *value, const char *where,
		   char *err, size_t errlen);
/*
 * Sets a list key from items (a YAML sequence): no comma splitting. 0, or
 * -EINVAL/-ENOENT with a message in err.
 */
int cgs_config_set_list(struct cgs_config *cfg, const char *key, const char *const *items, size_t n,
			const char *where, char *err, size_t errlen);
/* Loads a YAML file: a mapping of keys to scalars (or sequences, for list keys). 0 or -errno with a message in err. */
int cgs_config_load_file(struct cgs_config *cfg, const char *path, char *err, size_t errlen);
int cgs_config_load_string(struct cgs_config *cfg, const char *yaml, size_t len, const char *name,
			   char *err, size_t errlen);
/* Applies every CGSIGHT_<KEY> found in `envp`; names that are no key are ignored. */
int cgs_config_load_env(struct cgs_config *cfg, char **envp, char *err, size_t errlen);
/* Writes the documented default configuration (the table's help and defaults) as YAML. */
void cgs_config_write_defaults(FILE *f);
/* Writes the flag help for every key. */
void cgs_config_write_help(FILE *f);
/* Splits "host:port" of a validated listen value. */
int cgs_config_listen_split(const char *listen, char *host, size_t hostlen, uint16_t *port);

#endif
