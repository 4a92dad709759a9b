/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container recognition from a cgroup v2 path. The path is walked one
 * component at a time; the first component that names a container (a
 * runtime scope such as cri-containerd-<id>.scope, crio-<id>, docker-<id>,
 * libpod-<id>, or a bare id below /docker or below a kubepods pod cgroup)
 * decides, and everything after it is a nested cgroup of that container.
 * Kubernetes pod UID and QoS class come from the pod cgroup met on the way,
 * in either kubelet cgroup driver's naming (systemd: kubepods-burstable-
 * pod<uid_with_underscores>.slice; cgroupfs: burstable/pod<uid>). Input is
 * untrusted: any string is scanned in place, with no allocation and no
 * fixed-size copies until a component has been fully validated.
 */
#include "cgpath.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* One path component: [s, s + len). */
struct comp {
	const char *s;
	size_t len;
};

/* Where the walk stands relative to the kubepods hierarchy (cgroupfs names). */
enum kube_pos {
	KP_OUT = 0,  /* not below kubepods */
	KP_ROOT,     /* the previous component was kubepods */
	KP_QOS,      /* the previous component was kubepods/{burstable,besteffort} */
	KP_POD,      /* the previous component was a pod cgroup */
	KP_BELOW,    /* deeper, or below something unknown */
};

struct walk {
	enum kube_pos pos;
	enum cgs_qos qos_parent; /* QoS of the KP_QOS component */
	bool have_pod;
	enum cgs_qos pod_qos;
	char pod_uid[CGS_POD_UID_MAX + 1];
	bool parent_docker;      /* the previous component was "docker" */
};

static bool comp_eq(const struct comp *c, const char *lit)
{
	size_t n = strlen(lit);

	return c->len == n && memcmp(c->s, lit, n) == 0;
}

static bool has_prefix(const char *s, size_t len, const char *pfx)
{
	size_t n = strlen(pfx);

	return len >= n && memcmp(s, pfx, n) == 0;
}

static bool has_suffix(const char *s, size_t len, const char *sfx)
{
	size_t n = strlen(sfx);

	return len >= n && memcmp(s + len - n, sfx, n) == 0;
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Exactly CGS_CONTAINER_ID_MAX lowercase hex characters. */
static bool is_container_id(const char *s, size_t len)
{
	if (len != CGS_CONTAINER_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

/*
 * A pod UID as kubelet writes it: a UUID (8-4-4-4-12 lowercase hex, `sep`
 * between the groups: '-' for cgroupfs, '_' in systemd slice names), or the
 * 32 hex digits of a static pod's hash. Written to `out` with dashes.
 */
static bool parse_pod_uid(const char *s, size_t len, char sep, char out[CGS_POD_UID_MAX + 1])
{
	if (len == 32) {
		for (size_t i = 0; i < len; i++)
			if (!is_lower_hex(s[i]))
				return false;
	} else if (len == CGS_POD_UID_MAX) {
		for (size_t i = 0; i < len; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;

			if (dash ? s[i] != sep : !is_lower_hex(s[i]))
				return false;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < len; i++)
		out[i] = s[i] == sep ? '-' : s[i];
	out[len] = '\0';
	return true;
}

/*
 * systemd-driver pod slice: "<parent>-pod<uid>.slice" where <parent> is
 * kubepods, kubepods-burstable or kubepods-besteffort (possibly itself
 * prefixed, e.g. kubelet-kubepods-... on kind nodes). The QoS class is
 * the one the slice name carries: a pod slice straight under
 * kubepods.slice is guaranteed.
 */
static bool parse_pod_slice(const struct comp *c, char uid[CGS_POD_UID_MAX + 1], enum cgs_qos *qos)
{
	static const char sfx[] = ".slice";
	const char *s = c->s;
	size_t len = c->len, n, plen;

	if (!has_suffix(s, len, sfx))
		return false;
	len -= sizeof(sfx) - 1;
	/* the uid has a fixed length, so "-pod" sits at one of two places */
	for (n = 32; n <= CGS_POD_UID_MAX; n += CGS_POD_UID_MAX - 32) {
		if (len < n + 4)
			continue;
		plen = len - n - 4;
		if (memcmp(s + plen, "-pod", 4) != 0 || !parse_pod_uid(s + plen + 4, n, '_', uid))
			continue;
		if (has_suffix(s, plen, "kubepods-burstable"))
			*qos = CGS_QOS_BURSTABLE;
		else if (has_suffix(s, plen, "kubepods-besteffort"))
			*qos = CGS_QOS_BESTEFFORT;
		else if (has_suffix(s, plen, "kubepods"))
			*qos = CGS_QOS_GUARANTEED;
		else
			continue;
		return true;
	}
	return false;
}

/*
 * "<prefix><id>" or "<prefix><id>.scope". Helper scopes such as
 * crio-conmon-<id>.scope and libpod-conmon-<id>.scope fail the id check.
 */
static bool match_prefixed(const struct comp *c, const char *prefix, const char **id)
{
	size_t plen = strlen(prefix), len = c->len;

	if (!has_prefix(c->s, len, prefix))
		return false;
	if (has_suffix(c->s, len, ".scope"))
		len -= 6;
	if (len < plen || !is_container_id(c->s + plen, len - plen))
		return false;
	*id = c->s + plen;
	return true;
}

/* Updates the kubepods position and pod state with component `c`. */
static void track_kube(struct walk *w, const struct comp *c)
{
	enum kube_pos prev = w->pos;
	char uid[CGS_POD_UID_MAX + 1];
	enum cgs_qos qos;

	w->pos = prev == KP_OUT ? KP_OUT : KP_BELOW;

	/* cgroupfs driver */
	if (comp_eq(c, "kubepods")) {
		w->pos = KP_ROOT;
		return;
	}
	if (prev == KP_ROOT && (comp_eq(c, "burstable") || comp_eq(c, "besteffort"))) {
		w->pos = KP_QOS;
		w->qos_parent = comp_eq(c, "burstable") ? CGS_QOS_BURSTABLE : CGS_QOS_BESTEFFORT;
		return;
	}
	if ((prev == KP_ROOT || prev == KP_QOS) && has_prefix(c->s, c->len, "pod") &&
	    parse_pod_uid(c->s + 3, c->len - 3, '-', uid)) {
		w->pos = KP_POD;
		w->have_pod = true;
		w->pod_qos = prev == KP_ROOT ? CGS_QOS_GUARANTEED : w->qos_parent;
		memcpy(w->pod_uid, uid, sizeof(uid));
		return;
	}

	/* systemd driver: names are self-describing, so position does not matter */
	if (has_suffix(c->s, c->len, "kubepods.slice")) {
		w->pos = KP_BELOW;
		return;
	}
	if (parse_pod_slice(c, uid, &qos)) {
		w->pos = KP_POD;
		w->have_pod = true;
		w->pod_qos = qos;
		memcpy(w->pod_uid, uid, sizeof(uid));
	}
}

/*
 * Decides whether `c` is a container's own cgroup. Called before
 * track_kube() so that `w` still describes the parent component.
 */
static enum cgs_runtime match_container(const struct walk *w, const struct comp *c,
					const char **id, int *guessed)
{
	*guessed = 0;
	if (match_prefixed(c, "cri-containerd-", id))
		return CGS_RT_CONTAINERD;
	if (match_prefixed(c, "crio-", id))
		return CGS_RT_CRIO;
	if (match_prefixed(c, "docker-", id))
		return CGS_RT_DOCKER;
	if (match_prefixed(c, "libpod-", id))
		return CGS_RT_PODMAN;
	if (is_container_id(c->s, c->len)) {
		*id = c->s;
		if (w->parent_docker)
			return CGS_RT_DOCKER;
		if (w->pos == KP_POD) {
			/* cgroupfs kubelet: a bare id could be any CRI runtime's */
			*guessed = 1;
			return CGS_RT_CONTAINERD;
		}
	}
	return CGS_RT_NONE;
}

int cgs_cgpath_match(const char *path, struct cgs_cgpath *m)
{
	struct walk w = { 0 };
	const char *p;

	if (!path || !m || path[0] != '/')
		return -EINVAL;

	for (p = path; *p;) {
		struct comp c;
		enum cgs_runtime rt;
		const char *id = NULL;
		int guessed;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c.s = p;
		while (*p && *p != '/')
			p++;
		c.len = (size_t)(p - c.s);

		rt = match_container(&w, &c, &id, &guessed);
		if (rt != CGS_RT_NONE) {
			memset(m, 0, sizeof(*m));
			m->runtime = rt;
			m->runtime_guessed = guessed;
			memcpy(m->id, id, CGS_CONTAINER_ID_MAX);
			m->id[CGS_CONTAINER_ID_MAX] = '\0';
			if (w.have_pod) {
				memcpy(m->pod_uid, w.pod_uid, sizeof(m->pod_uid));
				m->qos = w.pod_qos;
			}
			m->container_len = (size_t)(p - path);
			return 1;
		}
		track_kube(&w, &c);
		w.parent_docker = comp_eq(&c, "docker");
	}
	return 0;
}

const char *cgs_runtime_name(enum cgs_runtime rt)
{
	switch (rt) {
	case CGS_RT_CONTAINERD:
		return "containerd";
	case CGS_RT_CRIO:
		return "crio";
	case CGS_RT_DOCKER:
		return "docker";
	case CGS_RT_PODMAN:
		return "podman";
	case CGS_RT_NONE:
	case CGS_RT__COUNT:
		break;
	}
	return "";
}

const char *cgs_qos_name(enum cgs_qos q)
{
	switch (q) {
	case CGS_QOS_GUARANTEED:
		return "guaranteed";
	case CGS_QOS_BURSTABLE:
		return "burstable";
	case CGS_QOS_BESTEFFORT:
		return "besteffort";
	case CGS_QOS_NONE:
		break;
	}
	return "";
}
