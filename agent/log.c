/* SPDX-License-Identifier: Apache-2.0 */
/* Log sink and rate limiter; see log.h. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int cgs_log_level_current = CGS_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int cgs_log_level_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void cgs_log_set_level(enum cgs_log_level level)
{
	__atomic_store_n(&cgs_log_level_current, (int)level, __ATOMIC_RELAXED);
}

const char *cgs_log_level_name(int level)
{
	return level >= 0 && level < (int)(sizeof(level_names) / sizeof(level_names[0])) ? level_names[level] : "?";
}

void cgs_log_emit(enum cgs_log_level level, const char *component, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	char msg[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&lock);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		level_names[level], component, msg);
	pthread_mutex_unlock(&lock);
}

uint64_t cgs_ratelimit_allow(struct cgs_ratelimit *rl, unsigned interval_s)
{
	struct timespec ts;
	uint64_t now, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now < rl->next_ns) {
		rl->suppressed++;
		return 0;
	}
	n = rl->suppressed + 1;
	rl->suppressed = 0;
	rl->next_ns = now + (uint64_t)interval_s * 1000000000ull;
	return n;
}
