/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which finished spans are kept. Head sampling by ratio, decided on the
 * trace id (its low 8 bytes, the random part of W3C ids) so that every span
 * of one trace, server and client side, gets the same answer; spans of
 * failed requests and spans at least `slow_ns` long are kept whatever the
 * ratio. Then a token bucket of `budget` spans per second (burst: one
 * second's worth) caps what is exported; spans over it are counted.
 */
#include "l7.h"

void cgs_l7_sampler_init(struct cgs_l7_sampler *s, unsigned percent, uint64_t slow_ns, uint64_t budget_per_s)
{
	s->ratio_ppm = percent >= 100 ? 1000000u : percent * 10000u;
	s->slow_ns = slow_ns;
	s->budget = budget_per_s;
	s->tokens = (double)budget_per_s;
	s->last_ns = 0;
}

int cgs_l7_sampler_decide(struct cgs_l7_sampler *s, const uint8_t trace_id[16], bool error,
			  uint64_t duration_ns, uint64_t now_ns)
{
	bool always = error || (s->slow_ns && duration_ns >= s->slow_ns);

	if (!always && s->ratio_ppm < 1000000u) {
		uint64_t r = 0;

		for (int i = 8; i < 16; i++)
			r = r << 8 | trace_id[i];
		if (r % 1000000u >= s->ratio_ppm)
			return CGS_L7_SAMPLED_OUT;
	}
	if (!s->budget)
		return CGS_L7_KEEP;
	if (s->last_ns && now_ns > s->last_ns) {
		s->tokens += (double)(now_ns - s->last_ns) * (double)s->budget / 1e9;
		if (s->tokens > (double)s->budget)
			s->tokens = (double)s->budget;
	}
	s->last_ns = now_ns;
	if (s->tokens < 1.0)
		return CGS_L7_OVER_BUDGET;
	s->tokens -= 1.0;
	return CGS_L7_KEEP;
}
