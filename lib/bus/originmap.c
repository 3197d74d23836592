/* originmap.c — channel → origin URL from lsp.stream.*.live/.health/.ended;
 * see originmap.h.  A fixed open-addressing table guarded by one mutex. */
#include "bus/originmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "core/key.h"
#include "core/clock.h"
#include "bus/subjects.h"

#define ORIGINMAP_MAX 8192 /* slots; a power of two; at most 3/4 used */

typedef struct {
	char ch[LSP_NAME_MAX + 1]; /* "" free; "\x01" removed (tombstone) */
	char url[LSP_ORIGIN_URL_MAX];
	int64_t seen;
} slot;

struct lsp_originmap {
	pthread_mutex_t mu;
	int ttl_ms, used;
	long long switches, dropped;
	int64_t last_msg;          /* any lsp.stream message: is the bus alive? */
	lsp_bus *bus;
	lsp_bus_sub *sub;
	slot t[ORIGINMAP_MAX];
};

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n > LSP_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static unsigned hash(const char *s, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h & (ORIGINMAP_MAX - 1);
}

/* The slot holding channel (n bytes), or with create the first free one;
 * NULL when absent (or full). */
static slot *find(lsp_originmap *m, const char *ch, size_t n, int create)
{
	slot *tomb = NULL;
	for (unsigned i = hash(ch, n), k = 0; k < ORIGINMAP_MAX; k++, i = (i + 1) & (ORIGINMAP_MAX - 1)) {
		slot *s = &m->t[i];
		if (!s->ch[0]) {
			if (!create)
				return NULL;
			if (!tomb && m->used >= ORIGINMAP_MAX / 4 * 3)
				return NULL;
			if (!tomb)
				m->used++;
			s = tomb ? tomb : s;
			memcpy(s->ch, ch, n);
			s->ch[n] = 0;
			s->url[0] = 0;
			s->seen = 0;
			return s;
		}
		if (s->ch[0] == 1) {
			if (!tomb)
				tomb = s;
			continue;
		}
		if (strlen(s->ch) == n && !memcmp(s->ch, ch, n))
			return s;
	}
	return NULL;
}

/* "origin":"http://…" from a flat JSON object; 0 found, -1 absent/bad. */
static int json_origin(const char *d, size_t len, char *url, size_t cap)
{
	static const char k[] = "\"origin\":\"";
	const char *p = NULL, *e;
	for (size_t i = 0; i + sizeof k - 1 <= len; i++)
		if (!memcmp(d + i, k, sizeof k - 1)) {
			p = d + i + sizeof k - 1;
			break;
		}
	if (!p)
		return -1;
	e = memchr(p, '"', len - (size_t)(p - d));
	if (!e || (size_t)(e - p) >= cap || e - p < 8 || strncmp(p, "http://", 7) != 0)
		return -1;
	for (const char *q = p; q < e; q++)
		if (*q <= ' ' || *q == '\\' || *q > '~')
			return -1;
	memcpy(url, p, (size_t)(e - p));
	url[e - p] = 0;
	return 0;
}

int lsp_originmap_feed(lsp_originmap *m, const char *subject, const char *data, size_t len, int64_t now_ms)
{
	char url[LSP_ORIGIN_URL_MAX], ch[LSP_NAME_MAX + 1];
	lsp_subj kind = lsp_subject_parse(subject, ch, sizeof ch);
	size_t n = strlen(ch);
	int has_url, changed = 0;
	slot *s;

	if (kind != LSP_SUBJ_LIVE && kind != LSP_SUBJ_HEALTH && kind != LSP_SUBJ_ENDED)
		return 0;
	has_url = json_origin(data ? data : "", data ? len : 0, url, sizeof url) == 0;
	pthread_mutex_lock(&m->mu);
	if (now_ms > m->last_msg)
		m->last_msg = now_ms;
	if (kind == LSP_SUBJ_LIVE || kind == LSP_SUBJ_HEALTH) {
		if (!has_url)
			goto out;
		if (!(s = find(m, ch, n, 1))) {
			m->dropped++;
			goto out;
		}
		if (strcmp(s->url, url) != 0) {
			int stale = !s->url[0] || now_ms - s->seen > m->ttl_ms;
			if (kind == LSP_SUBJ_HEALTH && !stale)
				goto out; /* a second origin's heartbeat does not steal a live one */
			if (s->url[0])
				m->switches++;
			snprintf(s->url, sizeof s->url, "%s", url);
			changed = 1;
		}
		s->seen = now_ms;
	} else { /* LSP_SUBJ_ENDED */
		if ((s = find(m, ch, n, 0)) && (!has_url || !strcmp(s->url, url))) {
			s->ch[0] = 1; /* tombstone */
			s->ch[1] = 0;
			s->url[0] = 0;
			changed = 1;
		}
	}
out:
	pthread_mutex_unlock(&m->mu);
	return changed;
}

int lsp_originmap_lookup(lsp_originmap *m, const char *channel, int64_t now_ms, char *url, size_t cap)
{
	size_t n = strlen(channel);
	slot *s;
	int rc = -ENOENT;
	if (!name_ok(channel, n))
		return -ENOENT;
	pthread_mutex_lock(&m->mu);
	s = find(m, channel, n, 0);
	/* silence from one origin while others speak: it is dead; silence from
	 * the whole bus (NATS down, or nothing else live): keep the last word */
	if (s && s->url[0] && (now_ms - s->seen <= m->ttl_ms || now_ms - m->last_msg > m->ttl_ms) &&
	    strlen(s->url) < cap) {
		memcpy(url, s->url, strlen(s->url) + 1);
		rc = 0;
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int lsp_originmap_route(void *ctx, const char *path, char *url, size_t cap)
{
	char ch[LSP_NAME_MAX + 1];
	const char *p, *e;
	int api = 0;
	if (!strncmp(path, "/hls/", 5) || !strncmp(path, "/vod/", 5))
		p = path + 5;
	else if (!strncmp(path, "/api/channels/", 14))
		p = path + 14, api = 1;
	else
		return -ENOENT;
	e = strchr(p, '/');
	if (!e && api) /* /api/channels/<ch>: the channel's own state */
		e = p + strlen(p);
	if (!e || (size_t)(e - p) > LSP_NAME_MAX || !name_ok(p, (size_t)(e - p)))
		return -ENOENT;
	memcpy(ch, p, (size_t)(e - p));
	ch[e - p] = 0;
	return lsp_originmap_lookup(ctx, ch, lsp_clock_mono_ms(), url, cap);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int lsp_originmap_json(lsp_originmap *m, int64_t now_ms, char *out, size_t cap)
{
	const char **live;
	size_t off = 0;
	int n = 0, rc = 0;
	if (cap < 3)
		return -ENOSPC;
	if (!(live = malloc(sizeof(const char *) * ORIGINMAP_MAX)))
		return -ENOMEM;
	pthread_mutex_lock(&m->mu);
	for (int i = 0; i < ORIGINMAP_MAX; i++) {
		const slot *s = &m->t[i];
		if (s->ch[0] > 1 && s->url[0] && (now_ms - s->seen <= m->ttl_ms || now_ms - m->last_msg > m->ttl_ms))
			live[n++] = s->ch;
	}
	qsort(live, (size_t)n, sizeof(const char *), by_name);
	out[off++] = '[';
	for (int i = 0; i < n && rc == 0; i++) { /* names are [a-z0-9_-]: no escaping */
		int w = snprintf(out + off, cap - off, "%s{\"name\":\"%s\",\"live\":true,\"rungs\":[]}",
				 i ? "," : "", live[i]);
		if (w < 0 || (size_t)w >= cap - off)
			rc = -ENOSPC;
		else
			off += (size_t)w;
	}
	pthread_mutex_unlock(&m->mu);
	free(live);
	if (rc < 0 || off + 2 > cap)
		return -ENOSPC;
	out[off++] = ']';
	out[off] = 0;
	return (int)off;
}

int lsp_originmap_list(void *ctx, char *out, size_t cap)
{
	return lsp_originmap_json(ctx, lsp_clock_mono_ms(), out, cap);
}

long long lsp_originmap_switches(lsp_originmap *m)
{
	long long v;
	pthread_mutex_lock(&m->mu);
	v = m->switches;
	pthread_mutex_unlock(&m->mu);
	return v;
}

static void on_msg(void *ctx, const char *subject, const char *data, size_t len)
{
	lsp_originmap_feed(ctx, subject, data, len, lsp_clock_mono_ms());
}

int lsp_originmap_open(lsp_originmap **out, const char *nats_url, int ttl_ms, char *err, size_t errcap)
{
	lsp_originmap *m = calloc(1, sizeof *m);
	int rc;
	*out = NULL;
	if (!m) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	if (pthread_mutex_init(&m->mu, NULL) != 0) {
		free(m);
		snprintf(err, errcap, "mutex");
		return -ENOMEM;
	}
	m->ttl_ms = ttl_ms > 0 ? ttl_ms : 5000;
	if (nats_url && *nats_url) {
		if ((rc = lsp_bus_open(&m->bus, nats_url, 2000, "lsp-edge", err, errcap)) < 0)
			goto fail;
		/* .live, .health and .ended; everything else is ignored by feed */
		if ((rc = lsp_bus_subscribe(m->bus, LSP_SUBJ_STREAM_ANY, on_msg, m, &m->sub, err, errcap)) < 0)
			goto fail;
	}
	*out = m;
	return 0;
fail:
	lsp_originmap_close(m);
	return rc;
}

void lsp_originmap_close(lsp_originmap *m)
{
	if (!m)
		return;
	lsp_bus_unsubscribe(m->sub);
	lsp_bus_close(m->bus);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
