/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container log line formats: CRI (containerd, CRI-O, Podman k8s-file:
 * "<RFC3339Nano> <stdout|stderr> <P|F> <message>") and Docker json-file
 * ({"log":"...\n","stream":"stdout","time":"<RFC3339Nano>"}). Pure functions
 * of one line (without its "\n"); joining partial lines is the caller's.
 */
#ifndef CGS_LOGS_PARSE_H
#define CGS_LOGS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgs_log_format {
	CGS_LOG_FMT_UNKNOWN = 0,
	CGS_LOG_FMT_CRI,
	CGS_LOG_FMT_DOCKER,
};

enum cgs_log_stream {
	CGS_LOG_STDOUT = 0,
	CGS_LOG_STDERR = 1,
	CGS_LOG_NOSTREAM = 2, /* a raw (malformed) line */
};

struct cgs_log_line {
	int64_t time_ns;            /* since the epoch; 0 when the line has none */
	enum cgs_log_stream stream;
	bool partial;               /* more of this line follows: CRI "P", Docker "log" without a final "\n" */
	const char *msg;            /* the message, without the line's own "\n" */
	size_t len;
};

/*
 * One CRI line: "<time> <stream> <tags> <message>" where tags is "P" or "F",
 * possibly followed by ":"-separated further tags. msg points into `line`.
 * 0, or -EBADMSG.
 */
int cgs_log_parse_cri(const char *line, size_t len, struct cgs_log_line *out);

/*
 * One Docker json-file line. Keys other than log/stream/time are skipped;
 * "log" is required. The unescaped message goes to `scratch`, which must
 * hold `len` bytes (unescaping never grows a string). 0, or -EBADMSG.
 */
int cgs_log_parse_docker(const char *line, size_t len, char *scratch, struct cgs_log_line *out);

/* RFC 3339 ("2024-01-02T03:04:05.123456789Z", or with "+hh:mm") to nanoseconds since the epoch. 0 or -EINVAL. */
int cgs_log_parse_time(const char *s, size_t len, int64_t *ns);

/* The format a line looks like: '{' is Docker, a date is CRI, anything else unknown. */
enum cgs_log_format cgs_log_detect(const char *line, size_t len);

const char *cgs_log_stream_name(enum cgs_log_stream s);

#endif
