/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syscall workloads with exact counts, for the syscall collector's tests
 * and bench/syscalls.sh. Moves itself into CGROUP_DIR ("-": stays where it
 * is) before the measured loop, then runs it and prints the loop's cost:
 *
 *   cgs_sysload CGROUP_DIR getppid COUNT      COUNT getppid()
 *   cgs_sysload CGROUP_DIR nanosleep COUNT MS COUNT nanosleep(MS ms)
 *   cgs_sysload CGROUP_DIR openfail COUNT     COUNT open() of a missing path (ENOENT)
 *   cgs_sysload CGROUP_DIR threads N COUNT    N threads, COUNT getppid() each
 *   cgs_sysload CGROUP_DIR yield COUNT        two threads on one CPU, COUNT sched_yield()
 *                                             each: a context switch per call
 *
 * Output, one line: "calls N ns_per_call X chunk_median_ns Y cpu_ns_per_call Z
 * cpu_chunk_median_ns W cpu_chunk_min_ns V".
 *  X, Z: the whole loop per call, in wall-clock time and in the process's
 *        CPU time (all its threads: it leaves out the time other work held
 *        the CPU on a shared machine);
 *  Y, W: getppid only, the median over chunks of CHUNK calls, wall and CPU;
 *  V:    getppid only, the fastest chunk in CPU time (other work only ever
 *        adds time).
 * The nanosleep mode appends " max_ns M sum_ns S": the longest call and the
 * sum of the calls, each timed around the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 100000L

static int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	int fd, n;

	if (strcmp(dir, "-") == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (write(fd, pid, (size_t)n) != n) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	return 0;
}

static unsigned long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static unsigned long long now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The process's CPU time: what the calls cost, without the time others held the CPU. */
static unsigned long long cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v. */
static double median(double *v, long n)
{
	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* count getppid() calls; per-call medians over whole chunks (wall, CPU) and the fastest (CPU). */
static void getppid_loop(long count, double *wall_med, double *cpu_med, double *cpu_min)
{
	long nchunks = count / CHUNK, c = 0;
	double *wall = calloc((size_t)nchunks + 1, sizeof(*wall));
	double *cpu = calloc((size_t)nchunks + 1, sizeof(*cpu));

	for (long done = 0; done < count;) {
		long n = count - done < CHUNK ? count - done : CHUNK;
		unsigned long long w0 = now_ns(), c0 = cpu_ns();

		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		if (n == CHUNK && wall && cpu && c < nchunks) {
			wall[c] = (double)(now_ns() - w0) / (double)n;
			cpu[c] = (double)(cpu_ns() - c0) / (double)n;
			c++;
		}
		done += n;
	}
	*wall_med = wall && cpu ? median(wall, c) : 0;
	*cpu_med = wall && cpu ? median(cpu, c) : 0;
	*cpu_min = wall && cpu && c ? cpu[0] : 0; /* sorted by median() */
	free(wall);
	free(cpu);
}

static void *getppid_thread(void *arg)
{
	long n = *(const long *)arg;

	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return NULL;
}

static void *yield_thread(void *arg)
{
	long n = *(const long *)arg;

	for (long i = 0; i < n; i++)
		sched_yield();
	return NULL;
}

/* Two threads pinned to the current CPU, yielding to each other n times each. 0 or -errno. */
static int yield_pair(long n)
{
	pthread_t th[2];
	pthread_attr_t attr;
	cpu_set_t set;
	int cpu = sched_getcpu(), e = 0, started = 0;

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	for (; started < 2 && !e; started++)
		e = -pthread_create(&th[started], &attr, yield_thread, &n);
	pthread_attr_destroy(&attr);
	if (e)
		started--;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return e;
}

/* n threads making `each` getppid() calls. 0 or -errno. */
static int getppid_threads(long n, long each)
{
	pthread_t th[64];
	long started = 0;
	int e = 0;

	if (n < 1 || n > 64)
		return -EINVAL;
	for (; started < n && !e; started++)
		e = -pthread_create(&th[started], NULL, getppid_thread, &each);
	if (e)
		started--;
	for (long i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return e;
}

int main(int argc, char **argv)
{
	unsigned long long t0, t1, c0, c1, sleep_sum = 0, sleep_max = 0;
	double chunk_med = 0, cpu_chunk_med = 0, cpu_chunk_min = 0;
	long count, arg2 = 0;
	const char *mode;
	int e = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: %s CGROUP_DIR getppid|nanosleep|openfail|threads|yield COUNT [MS|COUNT]\n",
			argv[0]);
		return 2;
	}
	mode = argv[2];
	count = strtol(argv[3], NULL, 10);
	if (argc > 4)
		arg2 = strtol(argv[4], NULL, 10);
	e = join_cgroup(argv[1]);
	if (e) {
		fprintf(stderr, "cannot join %s: %s\n", argv[1], strerror(-e));
		return 1;
	}
	t0 = now_ns();
	c0 = cpu_ns();
	if (strcmp(mode, "getppid") == 0) {
		getppid_loop(count, &chunk_med, &cpu_chunk_med, &cpu_chunk_min);
	} else if (strcmp(mode, "nanosleep") == 0) {
		long ms = argc > 4 ? arg2 : 10;
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		for (long i = 0; i < count; i++) {
			unsigned long long a = now_ns(), d;

			syscall(SYS_nanosleep, &ts, NULL);
			d = now_ns() - a;
			sleep_sum += d;
			if (d > sleep_max)
				sleep_max = d;
		}
	} else if (strcmp(mode, "openfail") == 0) {
		for (long i = 0; i < count; i++)
			if (open("/nonexistent-cgsight-sysload/x", O_RDONLY) >= 0)
				return 1;
	} else if (strcmp(mode, "threads") == 0) {
		e = argc > 4 ? getppid_threads(count, arg2) : -EINVAL;
		count *= arg2;
	} else if (strcmp(mode, "yield") == 0) {
		e = yield_pair(count);
		count *= 2;
	} else {
		e = -EINVAL;
	}
	if (e) {
		fprintf(stderr, "%s: %s\n", mode, strerror(-e));
		return e == -EINVAL ? 2 : 1;
	}
	t1 = now_ns();
	c1 = cpu_ns();
	printf("calls %ld ns_per_call %.1f chunk_median_ns %.1f cpu_ns_per_call %.1f cpu_chunk_median_ns %.1f"
	       " cpu_chunk_min_ns %.1f",
	       count, count ? (double)(t1 - t0) / (double)count : 0.0, chunk_med,
	       count ? (double)(c1 - c0) / (double)count : 0.0, cpu_chunk_med, cpu_chunk_min);
	if (strcmp(mode, "nanosleep") == 0)
		printf(" max_ns %llu sum_ns %llu", sleep_max, sleep_sum);
	printf("\n");
	return 0;
}
