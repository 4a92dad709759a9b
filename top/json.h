/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A strict streaming JSON reader (RFC 8259) for `cgsight top`: the caller
 * walks objects and arrays with obj_next/arr_next and reads scalars in place,
 * skipping what it does not need, without allocating. Errors latch `bad`;
 * every function returns false (or -1) once the input is not JSON.
 */
#ifndef CGS_TOP_JSON_H
#define CGS_TOP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgs_top_json {
	const char *p, *end;
	bool bad;
};

/* Skips white space. */
void cgs_top_json_ws(struct cgs_top_json *j);
/* The next significant character, or -1 at the end. */
int cgs_top_json_peek(struct cgs_top_json *j);
/* Latches the error; returns false. */
bool cgs_top_json_fail(struct cgs_top_json *j);
/* Consumes `c` (after white space). */
bool cgs_top_json_expect(struct cgs_top_json *j, char c);
/* A string, decoded into out (NUL-terminated; cut at cap - 1 bytes between characters); out NULL skips it. */
bool cgs_top_json_string(struct cgs_top_json *j, char *out, size_t cap);
/* A number, or null as NAN; agrees with strtod. */
bool cgs_top_json_number(struct cgs_top_json *j, double *v);
/* A non-negative integer that fits 64 bits. */
bool cgs_top_json_u64(struct cgs_top_json *j, uint64_t *v);
/* Any value, nested at most CGS_TOP_JSON_DEPTH_MAX deep from `depth`. */
bool cgs_top_json_skip(struct cgs_top_json *j, int depth);
/* After '{': 1 with the key read and ':' consumed (key NULL skips it), 0 at '}', -1 on error. */
int cgs_top_json_obj_next(struct cgs_top_json *j, bool *first, char *key, size_t cap);
/* After '[': 1 when an element follows, 0 at ']', -1 on error. */
int cgs_top_json_arr_next(struct cgs_top_json *j, bool *first);

#define CGS_TOP_JSON_DEPTH_MAX 64

#endif
