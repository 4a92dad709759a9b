/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent client of `cgsight top`: GET /api/v1/containers with libcurl
 * (client.c) and the streaming JSON reader that turns an answer into a
 * struct cgs_top_snap (parse.c; pure, tested on fixtures).
 */
#ifndef CGS_TOP_CLIENT_H
#define CGS_TOP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/*
 * Parses a /api/v1/containers document. Families the model does not know are
 * skipped; every known one is optional. 0 and *out, or -EBADMSG (not the
 * expected shape) / -ENOMEM.
 */
int cgs_top_parse(const char *json, size_t len, struct cgs_top_snap **out);

/*
 * The generation a document starts with ({"generation":N,...}), read from
 * its first bytes without parsing the rest. 0 and *gen, or -EAGAIN when the
 * prefix is incomplete, -EBADMSG when it is not of that form.
 */
int cgs_top_peek_generation(const char *p, size_t len, uint64_t *gen);

struct cgs_top_client;

/* `url` is the agent's base URL (http://host:port) or the full API URL. NULL with errno. */
struct cgs_top_client *cgs_top_client_new(const char *url);
void cgs_top_client_free(struct cgs_top_client *c);
/* The URL requested. */
const char *cgs_top_client_url(const struct cgs_top_client *c);

/*
 * A fetch runs without blocking: start it, wait on the client (and another
 * fd, the terminal) with cgs_top_client_wait(), and drive it with
 * cgs_top_client_step() until it is done.
 *
 * With `have` set and the agent still serving generation `gen`, the transfer
 * stops after the first bytes of the answer (nothing changed).
 */
#define CGS_TOP_FETCH_RUNNING 2
/* 0, -EBUSY while a fetch is under way. */
int cgs_top_client_start(struct cgs_top_client *c, bool have, uint64_t gen);
/* Waits up to timeout_ms for the transfer or for fd (-1: none) to be readable. 0 or -EIO. */
int cgs_top_client_wait(struct cgs_top_client *c, int fd, int timeout_ms, bool *fd_ready);
/*
 * Drives the transfer: CGS_TOP_FETCH_RUNNING while it goes on; once done,
 * 1 and *out on a new document, 0 for the same generation, -errno on failure
 * with the reason in cgs_top_client_error().
 */
int cgs_top_client_step(struct cgs_top_client *c, struct cgs_top_snap **out);
bool cgs_top_client_busy(const struct cgs_top_client *c);
/* The same, blocking: start, wait, step until done. */
int cgs_top_client_fetch(struct cgs_top_client *c, bool have, uint64_t gen, struct cgs_top_snap **out);
const char *cgs_top_client_error(const struct cgs_top_client *c);

#endif
