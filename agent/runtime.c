/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container metadata from the runtimes' own files. containerd (CRI plugin)
 * and CRI-O leave an OCI runtime spec per container whose annotations carry
 * the Kubernetes identity; Docker keeps config.v2.json with the Kubernetes
 * identity in Config.Labels (dockershim). Podman 4.3's userdata/config.json
 * carries neither the container name nor the image: its annotations are only
 * io.container.manager=libpod, io.podman.annotations.* and two
 * io.kubernetes.cri-o.{Created,TTY} keys. Both names live in
 * containers/storage's overlay-containers/containers.json, beside the
 * per-container directories: an array of {"id", "names": [name],
 * "metadata": "<JSON string with image-name and name>"} (newer storage
 * versions may add volatile-containers.json there, read the same way). All
 * input is untrusted: files are bounded to CGS_RUNTIME_FILE_MAX, JSON nesting
 * is bounded by json-c's depth limit, and every string we keep is copied.
 */
#include "runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#define CGS_RUNTIME_FILE_MAX (4u << 20)

/* Borrowed views into parsed JSON; copied by meta_build(). */
struct fields {
	const char *name, *image, *container, *pod, *namespace, *pod_uid;
	int sandbox;
};

static void free_meta_strings(struct cgs_meta *m)
{
	free(m->name);
	free(m->image);
	free(m->container);
	free(m->pod);
	free(m->namespace);
	free(m->pod_uid);
}

void cgs_meta_clear(struct cgs_meta *meta)
{
	if (!meta)
		return;
	free_meta_strings(meta);
	memset(meta, 0, sizeof(*meta));
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* Copies `f` into `out`; `out` is written only on success. */
static int meta_build(const struct fields *f, struct cgs_meta *out)
{
	struct cgs_meta m = {
		.name = dup_or_empty(f->name),
		.image = dup_or_empty(f->image),
		.container = dup_or_empty(f->container),
		.pod = dup_or_empty(f->pod),
		.namespace = dup_or_empty(f->namespace),
		.pod_uid = dup_or_empty(f->pod_uid),
		.sandbox = f->sandbox,
	};

	if (!m.name || !m.image || !m.container || !m.pod || !m.namespace || !m.pod_uid) {
		free_meta_strings(&m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

/* Replaces *field with a copy of `val`; *field is untouched on failure. */
static int meta_set(char **field, const char *val)
{
	char *s = strdup(val);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/*
 * Parses exactly `len` bytes as one JSON value (trailing whitespace
 * allowed). 0 and *out owned by the caller; -E2BIG, -EBADMSG, -ENOMEM.
 */
static int json_parse(const char *buf, size_t len, json_type want, json_object **out)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (len > CGS_RUNTIME_FILE_MAX)
		return -E2BIG;
	/* json-c would stop at a NUL; a file holding one is not JSON */
	if (len == 0 || memchr(buf, '\0', len))
		return -EBADMSG;
	tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		return -EBADMSG;
	}
	for (; end < len; end++) {
		if (buf[end] != ' ' && buf[end] != '\t' && buf[end] != '\n' && buf[end] != '\r') {
			json_object_put(obj);
			return -EBADMSG;
		}
	}
	if (!json_object_is_type(obj, want)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	*out = obj;
	return 0;
}

static json_object *get_obj(json_object *parent, const char *key)
{
	json_object *v;

	if (!parent || !json_object_is_type(parent, json_type_object) ||
	    !json_object_object_get_ex(parent, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* The string at `key`, or NULL when absent or not a string. */
static const char *get_str(json_object *parent, const char *key)
{
	json_object *v;

	if (!parent || !json_object_is_type(parent, json_type_object) ||
	    !json_object_object_get_ex(parent, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* First non-empty of up to four candidates, or NULL. */
static const char *first(const char *a, const char *b, const char *c, const char *d)
{
	if (a && *a)
		return a;
	if (b && *b)
		return b;
	if (c && *c)
		return c;
	if (d && *d)
		return d;
	return NULL;
}

/* An annotation whose value is itself a JSON object (CRI-O's Labels). */
static json_object *parse_embedded(json_object *ann, const char *key)
{
	const char *s = get_str(ann, key);
	json_object *o = NULL;

	if (!s || json_parse(s, strlen(s), json_type_object, &o) < 0)
		return NULL;
	return o;
}

/*
 * Annotation keys, by who writes them:
 *  - containerd CRI: io.kubernetes.cri.{container-type,container-name,
 *    sandbox-name,sandbox-namespace,sandbox-uid,image-name}; a sandbox has
 *    container-type=sandbox and no container-name.
 *  - CRI-O: kubelet's labels copied one by one (io.kubernetes.container.name,
 *    io.kubernetes.pod.{name,namespace,uid}), the same set JSON-encoded in
 *    io.kubernetes.cri-o.Labels (a sandbox's carries container name
 *    "POD"), and io.kubernetes.cri-o.{ContainerType,ContainerName,Name,
 *    ImageName,Image,KubeName,Namespace}; a sandbox's Image is the pause
 *    image.
 *  - Podman: none of these (see the top of the file).
 * `name` follows cAdvisor's `name` label: CRI-O's k8s_<container>_<pod>_...
 * name; containerd gives none, so it stays "" here and the lookup uses the
 * container id, as cAdvisor does.
 */
int cgs_runtime_parse_oci(const char *json, size_t len, struct cgs_meta *meta)
{
	json_object *root = NULL, *ann, *lbl = NULL, *v;
	const char *type;
	struct fields f = { 0 };
	int r;

	if (!json || !meta)
		return -EINVAL;
	r = json_parse(json, len, json_type_object, &root);
	if (r < 0)
		return r;
	if (!get_str(root, "ociVersion")) {
		r = -EBADMSG;
		goto out;
	}
	if (json_object_object_get_ex(root, "annotations", &v) && !json_object_is_type(v, json_type_null) &&
	    !json_object_is_type(v, json_type_object)) {
		r = -EBADMSG;
		goto out;
	}
	ann = get_obj(root, "annotations");
	lbl = parse_embedded(ann, "io.kubernetes.cri-o.Labels");

	type = first(get_str(ann, "io.kubernetes.cri.container-type"),
		     get_str(ann, "io.kubernetes.cri-o.ContainerType"), NULL, NULL);
	f.sandbox = type && strcmp(type, "sandbox") == 0;
	f.container = f.sandbox ? "POD" :
		first(get_str(ann, "io.kubernetes.cri.container-name"),
		      get_str(ann, "io.kubernetes.container.name"),
		      get_str(lbl, "io.kubernetes.container.name"), NULL);
	f.pod = first(get_str(ann, "io.kubernetes.cri.sandbox-name"),
		      get_str(ann, "io.kubernetes.pod.name"),
		      get_str(lbl, "io.kubernetes.pod.name"),
		      get_str(ann, "io.kubernetes.cri-o.KubeName"));
	f.namespace = first(get_str(ann, "io.kubernetes.cri.sandbox-namespace"),
			    get_str(ann, "io.kubernetes.pod.namespace"),
			    get_str(lbl, "io.kubernetes.pod.namespace"),
			    get_str(ann, "io.kubernetes.cri-o.Namespace"));
	f.pod_uid = first(get_str(ann, "io.kubernetes.cri.sandbox-uid"),
			  get_str(ann, "io.kubernetes.pod.uid"),
			  get_str(lbl, "io.kubernetes.pod.uid"), NULL);
	f.image = first(get_str(ann, "io.kubernetes.cri.image-name"),
			get_str(ann, "io.kubernetes.cri-o.ImageName"),
			get_str(ann, "io.kubernetes.cri-o.Image"), NULL);
	/* a CRI-O sandbox's Name is the pod's k8s_<pod>_... name; its infra
	 * container's (what cAdvisor shows) is ContainerName */
	f.name = first(get_str(ann, "io.kubernetes.cri-o.ContainerName"),
		       get_str(ann, "io.kubernetes.cri-o.Name"), NULL, NULL);
	r = meta_build(&f, meta);
out:
	json_object_put(lbl);
	json_object_put(root);
	return r;
}

/*
 * Docker: Name is "/<name>"; dockershim named Kubernetes containers
 * k8s_<container>_<pod>_<namespace>_<uid>_<attempt> and labelled them;
 * a sandbox has io.kubernetes.docker.type=podsandbox and container "POD".
 */
int cgs_runtime_parse_docker(const char *json, size_t len, struct cgs_meta *meta)
{
	json_object *root = NULL, *cfg, *lbl;
	const char *type;
	struct fields f = { 0 };
	int r;

	if (!json || !meta)
		return -EINVAL;
	r = json_parse(json, len, json_type_object, &root);
	if (r < 0)
		return r;
	if (!get_str(root, "ID")) {
		json_object_put(root);
		return -EBADMSG;
	}
	cfg = get_obj(root, "Config");
	lbl = get_obj(cfg, "Labels");

	f.name = get_str(root, "Name");
	if (f.name && f.name[0] == '/')
		f.name++;
	f.image = get_str(cfg, "Image");
	type = get_str(lbl, "io.kubernetes.docker.type");
	f.container = get_str(lbl, "io.kubernetes.container.name");
	f.pod = get_str(lbl, "io.kubernetes.pod.name");
	f.namespace = get_str(lbl, "io.kubernetes.pod.namespace");
	f.pod_uid = get_str(lbl, "io.kubernetes.pod.uid");
	f.sandbox = (type && strcmp(type, "podsandbox") == 0) ||
		    (f.pod && f.container && strcmp(f.container, "POD") == 0);
	if (f.sandbox)
		f.container = "POD";
	r = meta_build(&f, meta);
	json_object_put(root);
	return r;
}

/* --- file access ----------------------------------------------------------- */

/* -errno of the last failed call; never 0, so a failure cannot pass for success. */
static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

__attribute__((format(printf, 3, 4)))
static int path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Reads a whole regular file of at most CGS_RUNTIME_FILE_MAX bytes into a
 * NUL-terminated heap buffer. -ENOENT when it (or a directory on the way)
 * does not exist, -E2BIG when too big, -EBADMSG when not a regular file.
 */
static int read_file(const char *path, char **out, size_t *out_len)
{
	struct stat st;
	char *buf = NULL, *nbuf;
	size_t cap, len = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOTDIR ? -ENOENT : neg_errno();
	if (fstat(fd, &st) < 0) {
		r = neg_errno();
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EBADMSG;
		goto fail;
	}
	if (st.st_size > (off_t)CGS_RUNTIME_FILE_MAX) {
		r = -E2BIG;
		goto fail;
	}
	cap = (size_t)st.st_size + 1;
	if (cap < 4096)
		cap = 4096;
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (len + 1 >= cap) {
			/* the file grew since fstat */
			if (cap > CGS_RUNTIME_FILE_MAX) {
				r = -E2BIG;
				goto fail;
			}
			nbuf = realloc(buf, cap * 2);
			if (!nbuf) {
				r = -ENOMEM;
				goto fail;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = neg_errno();
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CGS_RUNTIME_FILE_MAX) {
			r = -E2BIG;
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return r;
}

typedef int (*parse_fn)(const char *json, size_t len, struct cgs_meta *meta);

static int load(const char *path, parse_fn parse, struct cgs_meta *meta)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, &buf, &len);
	if (r < 0)
		return r;
	r = parse(buf, len, meta);
	free(buf);
	return r;
}

static bool safe_name(const char *s)
{
	return s[0] && !strchr(s, '/') && !strstr(s, "..");
}

static bool dir_enabled(const char *d)
{
	return d && *d;
}

/* containerd: <dir>/<namespace>/<id>/config.json, Kubernetes' k8s.io first. */
static int lookup_containerd(const char *dir, const char *id, struct cgs_meta *meta)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r;

	if (!dir_enabled(dir))
		return -ENOENT;
	r = path_fmt(path, sizeof(path), "%s/k8s.io/%s/config.json", dir, id);
	if (r < 0)
		return r;
	r = load(path, cgs_runtime_parse_oci, meta);
	if (r != -ENOENT)
		return r;

	d = opendir(dir);
	if (!d)
		return errno == ENOTDIR ? -ENOENT : neg_errno();
	r = -ENOENT;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "k8s.io") == 0 || !safe_name(de->d_name))
			continue;
		r = path_fmt(path, sizeof(path), "%s/%s/%s/config.json", dir, de->d_name, id);
		if (r == 0)
			r = load(path, cgs_runtime_parse_oci, meta);
		if (r != -ENOENT && r != -ENAMETOOLONG)
			break;
		r = -ENOENT;
	}
	closedir(d);
	return r;
}

/* Parses <dir>/<id><suffix> with `parse`: CRI-O's userdata/config.json, Docker's config.v2.json. */
static int lookup_file(const char *dir, const char *id, const char *suffix,
		       parse_fn parse, struct cgs_meta *meta)
{
	char path[PATH_MAX];
	int r;

	if (!dir_enabled(dir))
		return -ENOENT;
	r = path_fmt(path, sizeof(path), "%s/%s%s", dir, id, suffix);
	return r < 0 ? r : load(path, parse, meta);
}

static int lookup_crio(const char *dir, const char *id, struct cgs_meta *meta)
{
	return lookup_file(dir, id, "/userdata/config.json", cgs_runtime_parse_oci, meta);
}

static int lookup_docker(const char *dir, const char *id, struct cgs_meta *meta)
{
	return lookup_file(dir, id, "/config.v2.json", cgs_runtime_parse_docker, meta);
}

/*
 * Finds `id` in a containers/storage containers.json and takes its name
 * (names[0], else metadata.name) and image (metadata.image-name) into
 * `meta` where those are still empty. 1 when found, 0 when not, -errno.
 */
static int podman_storage_names(const char *path, const char *id, struct cgs_meta *meta)
{
	json_object *arr = NULL, *e = NULL, *md = NULL, *names;
	const char *name = NULL, *image = NULL, *s;
	char *buf = NULL;
	size_t len = 0, i, n;
	int r;

	r = read_file(path, &buf, &len);
	if (r < 0)
		return r;
	r = json_parse(buf, len, json_type_array, &arr);
	free(buf);
	if (r < 0)
		return r;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(arr, i);
		s = get_str(e, "id");
		if (s && strcmp(s, id) == 0)
			break;
	}
	if (i == n) {
		r = 0;
		goto out;
	}
	if (json_object_object_get_ex(e, "names", &names) && json_object_is_type(names, json_type_array) &&
	    json_object_array_length(names) > 0) {
		json_object *n0 = json_object_array_get_idx(names, 0);

		if (json_object_is_type(n0, json_type_string))
			name = json_object_get_string(n0);
	}
	s = get_str(e, "metadata");
	if (s && json_parse(s, strlen(s), json_type_object, &md) < 0)
		md = NULL;
	name = first(name, get_str(md, "name"), NULL, NULL);
	image = get_str(md, "image-name");
	r = 0;
	if (name && *name && !*meta->name)
		r = meta_set(&meta->name, name);
	if (r == 0 && image && *image && !*meta->image)
		r = meta_set(&meta->image, image);
	if (r == 0)
		r = 1;
out:
	json_object_put(md);
	json_object_put(arr);
	return r;
}

/* Podman: <dir>/<id>/userdata/config.json, names from <dir>/containers.json. */
static int lookup_podman(const char *dir, const char *id, struct cgs_meta *meta)
{
	static const char *const stores[] = { "containers.json", "volatile-containers.json" };
	char path[PATH_MAX];
	struct cgs_meta m = { 0 };
	int r;

	if (!dir_enabled(dir))
		return -ENOENT;
	r = path_fmt(path, sizeof(path), "%s/%s/userdata/config.json", dir, id);
	if (r < 0)
		return r;
	r = load(path, cgs_runtime_parse_oci, &m);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
		r = path_fmt(path, sizeof(path), "%s/%s", dir, stores[i]);
		if (r == 0)
			r = podman_storage_names(path, id, &m);
		if (r == -ENOENT)
			continue;
		if (r != 0)
			break;
	}
	if (r < 0 && r != -ENOENT) {
		cgs_meta_clear(&m);
		return r;
	}
	*meta = m;
	return 0;
}

int cgs_runtime_lookup(const struct cgs_runtime_dirs *dirs, const struct cgs_cgpath *m,
		       struct cgs_meta *meta)
{
	struct cgs_meta out = { 0 };
	const char *id;
	int r;

	if (!dirs || !m || !meta)
		return -EINVAL;
	if (strnlen(m->id, sizeof(m->id)) == sizeof(m->id))
		return -EINVAL;
	id = m->id;
	if (!safe_name(id))
		return -EINVAL;

	switch (m->runtime) {
	case CGS_RT_CONTAINERD:
		r = lookup_containerd(dirs->containerd, id, &out);
		if (r == -ENOENT && m->runtime_guessed)
			r = lookup_crio(dirs->crio, id, &out);
		break;
	case CGS_RT_CRIO:
		r = lookup_crio(dirs->crio, id, &out);
		break;
	case CGS_RT_DOCKER:
		r = lookup_docker(dirs->docker, id, &out);
		break;
	case CGS_RT_PODMAN:
		r = lookup_podman(dirs->podman, id, &out);
		break;
	default:
		r = -ENOENT;
		break;
	}
	if (r < 0)
		return r;

	/* Fallbacks the runtime state leaves open: the id names the container
	 * (cAdvisor's choice for containerd too) and the pod cgroup names the
	 * pod UID (containerd before 1.7 writes no sandbox-uid). */
	if (!*out.name)
		r = meta_set(&out.name, id);
	if (r == 0 && !*out.pod_uid && m->pod_uid[0] &&
	    strnlen(m->pod_uid, sizeof(m->pod_uid)) < sizeof(m->pod_uid))
		r = meta_set(&out.pod_uid, m->pod_uid);
	if (r < 0) {
		cgs_meta_clear(&out);
		return r;
	}
	*meta = out;
	return 0;
}
