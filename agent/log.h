/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging for the whole agent: levels, a component prefix, and a rate limit
 * for messages that could repeat every interval. The level is checked before
 * any formatting happens. Output goes to stderr, one line per message.
 */
#ifndef CGS_LOG_H
#define CGS_LOG_H

#include <stdint.h>

enum cgs_log_level {
	CGS_LOG_ERROR = 0,
	CGS_LOG_WARN,
	CGS_LOG_INFO,
	CGS_LOG_DEBUG,
};

extern int cgs_log_level_current;
/* The level, read without a data race (SIGHUP may change it while other threads log). */
static inline int cgs_log_level_get(void)
{
	return __atomic_load_n(&cgs_log_level_current, __ATOMIC_RELAXED);
}

/* Parses "error", "warn", "info", "debug"; returns the level or -EINVAL. */
int cgs_log_level_parse(const char *s);
/* May be called while other threads log (SIGHUP). */
void cgs_log_set_level(enum cgs_log_level level);
const char *cgs_log_level_name(int level);
void cgs_log_emit(enum cgs_log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A rate limit for a message that could repeat: at most one emission per
 * `interval_s` seconds; suppressed repeats are counted and reported with the
 * next emission. Declare one `static struct cgs_ratelimit` per call site.
 */
struct cgs_ratelimit {
	uint64_t next_ns;
	uint64_t suppressed;
};
/* Returns the number of suppressed repeats + 1 when the caller may log, else 0. */
uint64_t cgs_ratelimit_allow(struct cgs_ratelimit *rl, unsigned interval_s);

#define cgs_log(level, comp, ...)                                    \
	do {                                                         \
		if ((int)(level) <= cgs_log_level_get())             \
			cgs_log_emit((level), (comp), __VA_ARGS__);  \
	} while (0)

#define cgs_log_error(comp, ...) cgs_log(CGS_LOG_ERROR, comp, __VA_ARGS__)
#define cgs_log_warn(comp, ...)  cgs_log(CGS_LOG_WARN, comp, __VA_ARGS__)
#define cgs_log_info(comp, ...)  cgs_log(CGS_LOG_INFO, comp, __VA_ARGS__)
#define cgs_log_debug(comp, ...) cgs_log(CGS_LOG_DEBUG, comp, __VA_ARGS__)

/* Logs at most once a minute per call site; the count of repeats is appended. */
#define cgs_log_ratelimited(level, comp, fmt, ...)                                   \
	do {                                                                         \
		static struct cgs_ratelimit rl__;                                    \
		uint64_t n__;                                                        \
		if ((int)(level) <= cgs_log_level_get() &&                           \
		    (n__ = cgs_ratelimit_allow(&rl__, 60)) != 0)                     \
			cgs_log_emit((level), (comp), fmt " (%llu times)", ##__VA_ARGS__, \
				     (unsigned long long)n__);                       \
	} while (0)

#endif
