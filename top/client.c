/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /api/v1/containers with libcurl (one handle: the connection is kept
 * alive between refreshes). The answer is parsed by parse.c.
 *
 * The agent publishes a new generation once per collection interval (15 s by
 * default) while `top` asks every second: when the first bytes of the answer
 * show the generation already applied, the transfer is cut short there, so
 * an unchanged snapshot of 1,000 containers costs a few hundred bytes, not a
 * megabyte of JSON to parse.
 */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CGS_TOP_DOC_MAX (256u << 20)

/* ---- HTTP -------------------------------------------------------------------- */

struct cgs_top_client {
	CURLM *multi;
	CURL *curl;
	bool busy;    /* a transfer is under way */
	char *url;
	char *body;
	size_t len, cap;
	bool have;
	uint64_t gen;
	bool same;    /* the transfer was cut: same generation */
	bool peeked;
	char err[CURL_ERROR_SIZE + 128];
	char curl_err[CURL_ERROR_SIZE];
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct cgs_top_client *c = arg;
	size_t n = size * nmemb;

	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 65536;
		char *nb;

		while (cap < c->len + n + 1)
			cap *= 2;
		if (cap > CGS_TOP_DOC_MAX)
			return 0;
		nb = realloc(c->body, cap);
		if (!nb)
			return 0;
		c->body = nb;
		c->cap = cap;
	}
	memcpy(c->body + c->len, p, n);
	c->len += n;
	c->body[c->len] = '\0';
	if (c->have && !c->peeked) {
		uint64_t g;
		int r = cgs_top_peek_generation(c->body, c->len, &g);

		if (r != -EAGAIN)
			c->peeked = true;
		if (r == 0 && g == c->gen) {
			c->same = true;
			return 0; /* stop here: nothing new */
		}
	}
	return n;
}

struct cgs_top_client *cgs_top_client_new(const char *url)
{
	struct cgs_top_client *c = calloc(1, sizeof(*c));
	const char *path;
	size_t n;

	if (!c)
		return NULL;
	/* A base URL (no path, or "/") gets the API path. */
	path = strstr(url, "://");
	path = strchr(path ? path + 3 : url, '/');
	n = strlen(url);
	if (!path || !strcmp(path, "/")) {
		if (asprintf(&c->url, "%.*s/api/v1/containers", (int)(n && url[n - 1] == '/' ? n - 1 : n), url) < 0)
			c->url = NULL;
	} else {
		c->url = strdup(url);
	}
	c->curl = curl_easy_init();
	c->multi = curl_multi_init();
	if (!c->url || !c->curl || !c->multi) {
		cgs_top_client_free(c);
		errno = ENOMEM;
		return NULL;
	}
	curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	/* A loaded agent renders a big snapshot's JSON once per generation: be patient, the UI does not wait. */
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->curl_err);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "cgsight-top");
	return c;
}

void cgs_top_client_free(struct cgs_top_client *c)
{
	if (!c)
		return;
	if (c->busy)
		curl_multi_remove_handle(c->multi, c->curl);
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	free(c->url);
	free(c->body);
	free(c);
}

const char *cgs_top_client_url(const struct cgs_top_client *c)
{
	return c->url;
}

const char *cgs_top_client_error(const struct cgs_top_client *c)
{
	return c->err;
}

bool cgs_top_client_busy(const struct cgs_top_client *c)
{
	return c->busy;
}

int cgs_top_client_start(struct cgs_top_client *c, bool have, uint64_t gen)
{
	if (c->busy)
		return -EBUSY;
	c->len = 0;
	c->have = have;
	c->gen = gen;
	c->same = c->peeked = false;
	c->curl_err[0] = '\0';
	if (curl_multi_add_handle(c->multi, c->curl) != CURLM_OK) {
		snprintf(c->err, sizeof(c->err), "cannot start a transfer");
		return -ENOMEM;
	}
	c->busy = true;
	return 0;
}

int cgs_top_client_wait(struct cgs_top_client *c, int fd, int timeout_ms, bool *fd_ready)
{
	struct curl_waitfd w = { .fd = fd, .events = CURL_WAIT_POLLIN };
	CURLMcode mr;

	*fd_ready = false;
	mr = curl_multi_poll(c->multi, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0, timeout_ms, NULL);
	if (mr != CURLM_OK)
		return -EIO;
	*fd_ready = fd >= 0 && (w.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI));
	return 0;
}

/* The outcome of a finished transfer. */
static int finish(struct cgs_top_client *c, CURLcode cr, struct cgs_top_snap **out)
{
	long status = 0;
	int r;

	if (c->same)
		return 0;
	if (cr != CURLE_OK) {
		snprintf(c->err, sizeof(c->err), "%s", c->curl_err[0] ? c->curl_err : curl_easy_strerror(cr));
		return cr == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		snprintf(c->err, sizeof(c->err), "HTTP status %ld (is this a cgsight agent?)", status);
		return -EPROTO;
	}
	r = cgs_top_parse(c->body ? c->body : "", c->len, out);
	if (r < 0) {
		snprintf(c->err, sizeof(c->err), "%s",
			 r == -ENOMEM ? "out of memory" : "the answer is not a cgsight container list");
		return r;
	}
	c->err[0] = '\0';
	return 1;
}

int cgs_top_client_step(struct cgs_top_client *c, struct cgs_top_snap **out)
{
	int running = 0, left;
	CURLMsg *msg;

	if (!c->busy)
		return -EINVAL;
	if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
		snprintf(c->err, sizeof(c->err), "transfer failed");
		curl_multi_remove_handle(c->multi, c->curl);
		c->busy = false;
		return -EIO;
	}
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != c->curl)
			continue;
		CURLcode cr = msg->data.result;

		curl_multi_remove_handle(c->multi, c->curl);
		c->busy = false;
		return finish(c, cr, out);
	}
	return CGS_TOP_FETCH_RUNNING;
}

int cgs_top_client_fetch(struct cgs_top_client *c, bool have, uint64_t gen, struct cgs_top_snap **out)
{
	int r = cgs_top_client_start(c, have, gen);

	if (r < 0)
		return r;
	for (;;) {
		bool ready;

		r = cgs_top_client_step(c, out);
		if (r != CGS_TOP_FETCH_RUNNING)
			return r;
		if (cgs_top_client_wait(c, -1, 1000, &ready) < 0) {
			curl_multi_remove_handle(c->multi, c->curl);
			c->busy = false;
			snprintf(c->err, sizeof(c->err), "waiting for the transfer failed");
			return -EIO;
		}
	}
}
