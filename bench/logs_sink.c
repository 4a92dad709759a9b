/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal acking Fluentd Forward sink for the log benchmark, in C so that
 * the sink is never what limits the measurement (the Python sink and
 * Node's FluentServer decode every entry and top out well below the
 * agent). It accepts connections on 127.0.0.1:PORT, unpacks each frame
 * with msgpack-c (the entries blob is not decoded: the frame's "size"
 * option gives the record count), answers {"ack": chunk}, and exits when
 * --expect records arrived, printing one JSON line:
 *   {"records": N, "frames": F, "bytes": B, "seconds": S}
 * (S from the first to the last frame). Built by bench/logs.sh.
 *
 * usage: logs_sink PORT EXPECT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const msgpack_object *get(const msgpack_object *m, const char *k)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == strlen(k) &&
		    !memcmp(key->via.str.ptr, k, key->via.str.size))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd p[MAXC + 1];
	msgpack_unpacker up[MAXC + 1];
	unsigned long long records = 0, frames = 0, bytes = 0, expect;
	double first = 0, last = 0;
	int one = 1, n = 1;

	if (argc != 3)
		return 2;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	expect = strtoull(argv[2], NULL, 10);
	p[0].fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(p[0].fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(p[0].fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(p[0].fd, 64) < 0) {
		perror("bind");
		return 1;
	}
	p[0].events = POLLIN;
	while (!expect || records < expect) {
		if (poll(p, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		if ((p[0].revents & POLLIN) && n <= MAXC) {
			int c = accept(p[0].fd, NULL, NULL);

			if (c >= 0) {
				p[n].fd = c;
				p[n].events = POLLIN;
				p[n].revents = 0;
				msgpack_unpacker_init(&up[n], 1 << 22);
				n++;
			}
		}
		for (int i = 1; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			msgpack_unpacker_reserve_buffer(&up[i], 1 << 22);
			ssize_t r = recv(p[i].fd, msgpack_unpacker_buffer(&up[i]), msgpack_unpacker_buffer_capacity(&up[i]), 0);

			if (r <= 0) {
				close(p[i].fd);
				msgpack_unpacker_destroy(&up[i]);
				p[i] = p[n - 1];
				up[i] = up[n - 1];
				n--;
				i--;
				continue;
			}
			bytes += (unsigned long long)r;
			msgpack_unpacker_buffer_consumed(&up[i], (size_t)r);
			msgpack_unpacked u;

			msgpack_unpacked_init(&u);
			while (msgpack_unpacker_next(&up[i], &u) == MSGPACK_UNPACK_SUCCESS) {
				const msgpack_object *o = &u.data, *opt, *size, *chunk;

				if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
					continue;
				opt = &o->via.array.ptr[2];
				size = get(opt, "size");
				chunk = get(opt, "chunk");
				records += size ? size->via.u64 : 0;
				frames++;
				last = now();
				if (!first)
					first = last;
				if (chunk && chunk->type == MSGPACK_OBJECT_STR) {
					char ack[128];
					int l = snprintf(ack + 5, sizeof(ack) - 5, "%.*s", (int)chunk->via.str.size,
							 chunk->via.str.ptr);

					/* {"ack": <str8 id>} */
					ack[0] = (char)0x81;
					ack[1] = (char)0xa3;
					memcpy(ack + 2, "ack", 3);
					memmove(ack + 7, ack + 5, (size_t)l);
					ack[5] = (char)0xd9;
					ack[6] = (char)l;
					if (send(p[i].fd, ack, (size_t)l + 7, MSG_NOSIGNAL) < 0)
						perror("send");
				}
			}
			msgpack_unpacked_destroy(&u);
		}
	}
	printf("{\"records\": %llu, \"frames\": %llu, \"bytes\": %llu, \"seconds\": %.6f}\n", records, frames, bytes,
	       last - first);
	return 0;
}
