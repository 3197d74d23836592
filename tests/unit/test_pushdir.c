/* Unit tests: lib/push/pushdir.c — a temporary LL-HLS directory mirrored
 * to a tiny in-process S3-compatible responder (HTTP/1.1 on loopback,
 * keep-alive, scripted answers, a log of every request).  Checks:
 *   - the first scan's order: init, parts and segments by number, rung
 *     playlists before master, dot names ignored; keys, headers, bytes;
 *   - live: files published by rename while it runs (a rung directory made
 *     late included) are mirrored so that every stored playlist names only
 *     objects stored before it, an expired file is DELETEd only after a
 *     playlist without it is stored, and the bucket ends equal to the dir;
 *   - a 500 is retried ("retrying", then "recovered"), a 400 is skipped
 *     ("gap: refused, skipped"), a 403 before any success ends the run fast
 *     ("credentials refused", -EACCES), --once gives up after its attempts,
 *     and a full queue drops its oldest entry with a gap event each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/net.h"
#include "push/pushdir.h"
#include "push/s3.h"

/* ---- the S3 responder ---- */

enum { MAXREQ = 1024, MAXCONN = 8, RBUF = 256 << 10 };

typedef struct {
	char method[8];
	char key[256];   /* object key: the path after "/BUCKET/" */
	int status;      /* what was answered */
	char ctype[64], cache[32];
	int sigv4;       /* the Authorization header is a SigV4 one */
	char *body;      /* playlists (*.m3u8) only, NUL-terminated */
	size_t len;
} req;

typedef struct {
	int fd;
	char *buf;
	size_t len;
} conn;

typedef struct {
	int lfd, port;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* guarded by mu */
	int quit;
	int fail_n, fail_code; /* the next fail_n requests get fail_code */
	int always;            /* when non-zero, every request gets this */
	int hold, waiting;     /* while hold is set, requests wait (waiting: one does) */
	req r[MAXREQ];
	int nr;
	int conns;             /* connections accepted */
} srv;

static const char *err_code(int status)
{
	return status >= 500 ? "InternalError" : status == 403 ? "SignatureDoesNotMatch" : "InvalidRequest";
}

/* The value of header name in the header block h (ends at "\r\n\r\n"), copied. */
static void header(const char *h, const char *end, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	out[0] = 0;
	for (const char *p = strstr(h, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2, *e = strstr(l, "\r\n");
		if (!e || e > end)
			return;
		if ((size_t)(e - l) > n && !strncasecmp(l, name, n) && l[n] == ':') {
			l += n + 1;
			while (*l == ' ')
				l++;
			snprintf(out, cap, "%.*s", (int)(e - l), l);
			return;
		}
	}
}

/* Answer one complete request at the start of c->buf; returns its length. */
static size_t serve(srv *s, conn *c, const char *hend, size_t clen)
{
	char method[8] = "", target[512] = "", v[512], reply[512];
	const char *body = hend + 4;
	int status, n;
	req *r = NULL;

	sscanf(c->buf, "%7s %511s", method, target);
	pthread_mutex_lock(&s->mu);
	while (s->hold && !s->quit) {
		s->waiting = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_cond_wait(&s->cv, &s->mu);
	}
	s->waiting = 0;
	if (s->always)
		status = s->always;
	else if (s->fail_n > 0) {
		s->fail_n--;
		status = s->fail_code;
	} else if (strncmp(target, "/b/", 3) != 0)
		status = 400;
	else
		status = strcmp(method, "DELETE") ? 200 : 204;
	if (s->nr < MAXREQ) {
		r = &s->r[s->nr++];
		memset(r, 0, sizeof *r);
		snprintf(r->method, sizeof r->method, "%s", method);
		snprintf(r->key, sizeof r->key, "%.255s", strncmp(target, "/b/", 3) ? target : target + 3);
		r->status = status;
		header(c->buf, hend, "Content-Type", r->ctype, sizeof r->ctype);
		header(c->buf, hend, "Cache-Control", r->cache, sizeof r->cache);
		header(c->buf, hend, "Authorization", v, sizeof v);
		r->sigv4 = !strncmp(v, "AWS4-HMAC-SHA256 Credential=AKTEST/", 35);
		r->len = clen;
		n = (int)strlen(r->key);
		if (n > 5 && !strcmp(r->key + n - 5, ".m3u8") && (r->body = malloc(clen + 1))) {
			memcpy(r->body, body, clen);
			r->body[clen] = 0;
		}
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (status < 300)
		n = snprintf(reply, sizeof reply, "HTTP/1.1 %d OK\r\nContent-Length: 0\r\n\r\n", status);
	else {
		char xml[160];
		int xl = snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?><Error><Code>%s</Code></Error>",
				  err_code(status));
		n = snprintf(reply, sizeof reply,
			     "HTTP/1.1 %d Error\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n%s",
			     status, xl, xml);
	}
	if (write(c->fd, reply, (size_t)n) != n)
		return c->len; /* the client went away: forget the rest */
	return (size_t)(body - c->buf) + clen;
}

/* Read what came on c and answer each complete request; -1 when it closed. */
static int on_readable(srv *s, conn *c)
{
	ssize_t got = read(c->fd, c->buf + c->len, RBUF - 1 - c->len);
	if (got <= 0)
		return -1;
	c->len += (size_t)got;
	c->buf[c->len] = 0;
	for (;;) {
		char cl[32];
		char *hend = strstr(c->buf, "\r\n\r\n");
		size_t clen, used;
		if (!hend)
			return c->len >= RBUF - 1 ? -1 : 0;
		header(c->buf, hend, "Content-Length", cl, sizeof cl);
		clen = (size_t)strtoul(cl, NULL, 10);
		if ((size_t)(hend + 4 - c->buf) + clen > c->len)
			return c->len >= RBUF - 1 ? -1 : 0;
		used = serve(s, c, hend, clen);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		c->buf[c->len] = 0;
	}
}

static void *srv_main(void *arg)
{
	srv *s = arg;
	conn c[MAXCONN];
	int nc = 0;
	for (;;) {
		struct pollfd p[MAXCONN + 1];
		pthread_mutex_lock(&s->mu);
		int quit = s->quit;
		pthread_mutex_unlock(&s->mu);
		if (quit)
			break;
		p[0] = (struct pollfd){ s->lfd, POLLIN, 0 };
		for (int i = 0; i < nc; i++)
			p[i + 1] = (struct pollfd){ c[i].fd, POLLIN, 0 };
		if (poll(p, (nfds_t)nc + 1, 50) <= 0)
			continue;
		for (int i = nc - 1; i >= 0; i--) {
			if (!p[i + 1].revents || on_readable(s, &c[i]) == 0)
				continue;
			close(c[i].fd);
			free(c[i].buf);
			c[i] = c[--nc];
		}
		if ((p[0].revents & POLLIN) && nc < MAXCONN) {
			int fd = lsp_net_accept(s->lfd, 0, NULL, 0);
			if (fd >= 0 && (c[nc].buf = malloc(RBUF))) {
				c[nc].fd = fd;
				c[nc++].len = 0;
				pthread_mutex_lock(&s->mu);
				s->conns++;
				pthread_mutex_unlock(&s->mu);
			} else if (fd >= 0)
				close(fd);
		}
	}
	for (int i = 0; i < nc; i++) {
		close(c[i].fd);
		free(c[i].buf);
	}
	return NULL;
}

static srv *srv_start(void)
{
	char err[256];
	srv *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->lfd = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, LSP_NET_NUMERIC, err, sizeof err);
	assert_true(s->lfd >= 0);
	s->port = lsp_net_port(s->lfd);
	assert_true(s->port > 0);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
	return s;
}

static void srv_stop(srv *s)
{
	pthread_mutex_lock(&s->mu);
	s->quit = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	close(s->lfd);
	for (int i = 0; i < s->nr; i++)
		free(s->r[i].body);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

static void srv_set(srv *s, int fail_n, int fail_code, int always)
{
	pthread_mutex_lock(&s->mu);
	s->fail_n = fail_n;
	s->fail_code = fail_code;
	s->always = always;
	pthread_mutex_unlock(&s->mu);
}

static void srv_hold(srv *s, int on)
{
	pthread_mutex_lock(&s->mu);
	s->hold = on;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Wait (up to ms) until a request is held; 0 on time out. */
static int srv_wait_held(srv *s, long ms)
{
	long long until = lsp_clock_mono_ms() + ms;
	int held;
	pthread_mutex_lock(&s->mu);
	while (!(held = s->waiting) && lsp_clock_mono_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return held;
}

/* ---- events ---- */

typedef struct {
	char name[96], path[128], error[256];
	long long status, attempt;
	int level;
} evrec;

typedef struct {
	pthread_mutex_t mu;
	evrec e[4096];
	int n;
} evlog;

static void on_event(void *ctx, const lsp_event *ev)
{
	evlog *l = ctx;
	const char *p = lsp_event_str(ev, "path"), *e = lsp_event_str(ev, "error");
	pthread_mutex_lock(&l->mu);
	if (l->n < (int)(sizeof l->e / sizeof l->e[0])) {
		evrec *r = &l->e[l->n++];
		snprintf(r->name, sizeof r->name, "%s", ev->name);
		snprintf(r->path, sizeof r->path, "%s", p ? p : "");
		snprintf(r->error, sizeof r->error, "%s", e ? e : "");
		r->status = lsp_event_int(ev, "status", -1);
		r->attempt = lsp_event_int(ev, "attempt", -1);
		r->level = ev->level;
	}
	pthread_mutex_unlock(&l->mu);
}

/* Events called name (prefix with a trailing '*'). */
static int count_ev(evlog *l, const char *name)
{
	size_t n = strlen(name);
	int k = 0;
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->n; i++)
		k += name[n - 1] == '*' ? !strncmp(l->e[i].name, name, n - 1) : !strcmp(l->e[i].name, name);
	pthread_mutex_unlock(&l->mu);
	return k;
}

/* ---- fixture: a temporary directory, an S3 handle, a run ---- */

typedef struct {
	char dir[64];
	srv *s;
	lsp_s3 *s3;
	evlog ev;
	lsp_pushdir_conf c;
	lsp_pushdir_stats st;
	volatile sig_atomic_t stop;
	char err[256];
	int rc;
	pthread_t th;
	int running; /* th started and not joined */
} fx;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	char ep[64], err[256];
	lsp_s3_conf sc = { 0 };
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/lsp-pushdir.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->s = srv_start();
	snprintf(ep, sizeof ep, "http://127.0.0.1:%d", f->s->port);
	sc.endpoint = ep;
	sc.region = "us-east-1";
	sc.bucket = "b";
	sc.path_style = 1;
	sc.access_key = "AKTEST";
	sc.secret_key = "test-secret";
	sc.timeout_ms = 5000;
	if (lsp_s3_open(&f->s3, &sc, err, sizeof err) < 0) {
		srv_stop(f->s);
		free(f);
		return -1;
	}
	pthread_mutex_init(&f->ev.mu, NULL);
	f->c.dir = f->dir;
	f->c.prefix = "/live/ch/";
	f->c.retry_base_ms = 10;
	f->c.retry_max_ms = 40;
	f->c.drain_ms = 3000;
	f->c.stop = &f->stop;
	f->c.event = on_event;
	f->c.event_ctx = &f->ev;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	if (f->running) { /* a failed test left its run going */
		f->stop = 1;
		srv_hold(f->s, 0);
		pthread_join(f->th, NULL);
	}
	srv_stop(f->s);
	lsp_s3_close(f->s3);
	pthread_mutex_destroy(&f->ev.mu);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Publish rel with content as lsp-package does: a dot name, then rename. */
static void publish(fx *f, const char *rel, const char *content)
{
	char tmp[512], path[512];
	FILE *fp;
	snprintf(tmp, sizeof tmp, "%s/.tmp.%d", f->dir, (int)getpid());
	snprintf(path, sizeof path, "%s/%s", f->dir, rel);
	assert_non_null(fp = fopen(tmp, "w"));
	assert_true(fputs(content, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void mkdir_in(fx *f, const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", f->dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void *run_main(void *arg)
{
	fx *f = arg;
	f->rc = lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err);
	return NULL;
}

static const req *req_at(fx *f, int i)
{
	assert_true(i < f->s->nr);
	return &f->s->r[i];
}

/* ---- tests ---- */

static void scan_order(void **state)
{
	fx *f = *state;
	static const char *const want[] = { "live/ch/r/init.mp4",    "live/ch/r/seg1.0.m4s", "live/ch/r/seg1.1.m4s",
					    "live/ch/r/seg1.m4s",    "live/ch/r/seg2.0.m4s", "live/ch/r/seg10.m4s",
					    "live/ch/r/index.m3u8",  "live/ch/master.m3u8" };
	mkdir_in(f, "r");
	publish(f, "master.m3u8", "#EXTM3U\nr/index.m3u8\n");
	publish(f, "r/seg10.m4s", "ten");
	publish(f, "r/seg2.0.m4s", "two.0");
	publish(f, "r/index.m3u8", "#EXTM3U\ninit.mp4\nseg1.m4s\n");
	publish(f, "r/seg1.m4s", "one");
	publish(f, "r/seg1.1.m4s", "one.1");
	publish(f, "r/seg1.0.m4s", "one.0");
	publish(f, "r/init.mp4", "init");
	publish(f, "r/.seg11.m4s.tmp", "not yet");
	f->c.once = 1;
	assert_int_equal(lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err), 0);
	assert_int_equal(f->s->nr, 8);
	for (int i = 0; i < 8; i++) {
		const req *r = req_at(f, i);
		assert_string_equal(r->method, "PUT");
		assert_string_equal(r->key, want[i]);
		assert_int_equal(r->status, 200);
		assert_true(r->sigv4);
	}
	assert_string_equal(req_at(f, 0)->ctype, "video/mp4");
	assert_string_equal(req_at(f, 1)->ctype, "video/iso.segment");
	assert_string_equal(req_at(f, 1)->cache, "max-age=60");
	assert_string_equal(req_at(f, 6)->ctype, "application/vnd.apple.mpegurl");
	assert_string_equal(req_at(f, 6)->cache, "max-age=1");
	assert_string_equal(req_at(f, 6)->body, "#EXTM3U\ninit.mp4\nseg1.m4s\n");
	assert_int_equal(req_at(f, 2)->len, 5);
	assert_int_equal(f->st.put, 8);
	assert_int_equal(f->st.bytes, 4 + 5 + 5 + 3 + 5 + 3 + 26 + 21);
	assert_int_equal(f->st.failures + f->st.dropped + f->st.vanished + f->st.left, 0);
	assert_int_equal(f->st.connections, 1); /* keep-alive */
	assert_int_equal(count_ev(&f->ev, "uploaded"), 8);
	assert_int_equal(count_ev(&f->ev, "gap*"), 0);
}

/* Replay the request log (once the run is over) as the bucket saw it: every
 * stored playlist names only objects stored before it; a DELETE never
 * removes an object that the stored rung playlist still names.  Returns the
 * number of playlists checked; the objects left are in keys[0..*nkeys). */
static int replay(fx *f, char keys[][256], int *nkeys, int maxkeys)
{
	char rung[4096] = "";
	int checked = 0;
	*nkeys = 0;
	for (int i = 0; i < f->s->nr; i++) {
		const req *r = &f->s->r[i];
		int k;
		if (r->status >= 300)
			continue;
		for (k = 0; k < *nkeys && strcmp(keys[k], r->key); k++)
			;
		if (!strcmp(r->method, "DELETE")) {
			const char *base = strrchr(r->key, '/') + 1;
			char line[300];
			snprintf(line, sizeof line, "\n%s\n", base);
			assert_null(strstr(rung, line)); /* still named by the stored playlist */
			if (k < *nkeys)
				memcpy(keys[k], keys[--*nkeys], sizeof keys[k]);
			continue;
		}
		if (k == *nkeys) {
			assert_true(*nkeys < maxkeys);
			snprintf(keys[(*nkeys)++], sizeof keys[0], "%s", r->key);
		}
		if (!r->body)
			continue;
		/* a playlist: each URI line relative to the playlist's folder */
		checked++;
		if (!strcmp(r->key, "live/ch/r/index.m3u8"))
			snprintf(rung, sizeof rung, "%s", r->body);
		for (const char *l = r->body; *l;) {
			const char *e = strchr(l, '\n');
			char want[300];
			int found = 0;
			size_t dl = (size_t)(strrchr(r->key, '/') - r->key);
			if (!e)
				e = l + strlen(l);
			if (e > l && *l != '#') {
				snprintf(want, sizeof want, "%.*s/%.*s", (int)dl, r->key, (int)(e - l), l);
				for (int j = 0; j < *nkeys; j++)
					found |= !strcmp(keys[j], want);
				if (!found)
					fail_msg("%s (request %d) names %s before it is stored", r->key, i, want);
			}
			l = *e ? e + 1 : e;
		}
	}
	return checked;
}

/* Has the bucket got method key (with body text, if not NULL)?  Waits up
 * to ms for it. */
static int stored(fx *f, const char *method, const char *key, const char *text, long ms)
{
	long long until = lsp_clock_mono_ms() + ms;
	int got = 0;
	for (;;) {
		pthread_mutex_lock(&f->s->mu);
		for (int i = 0; i < f->s->nr; i++) {
			const req *r = &f->s->r[i];
			if (r->status < 300 && !strcmp(r->method, method) && !strcmp(r->key, key))
				got = !text || (r->body && !strcmp(r->body, text));
		}
		pthread_mutex_unlock(&f->s->mu);
		if (got || lsp_clock_mono_ms() >= until)
			return got;
		usleep(10 * 1000);
	}
}

static void live_order_and_deletes(void **state)
{
	fx *f = *state;
	enum { ROUNDS = 14, WINDOW = 3 };
	char pl[1024], name[128], seg[2048], keys[64][256];
	int nkeys, checked, nput = 0;

	f->c.delete_expired = 1;
	assert_int_equal(pthread_create(&f->th, NULL, run_main, f), 0);
	f->running = 1;
	usleep(100 * 1000);
	mkdir_in(f, "r"); /* a rung that starts late: picked up while running */
	memset(seg, 's', sizeof seg - 1);
	seg[sizeof seg - 1] = 0;
	srv_hold(f->s, 1);
	for (int i = 0; i < ROUNDS; i++) {
		int off = snprintf(pl, sizeof pl, "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:%d\n", i < WINDOW ? 0 : i - WINDOW + 1);
		for (int j = i < WINDOW ? 0 : i - WINDOW + 1; j <= i; j++)
			off += snprintf(pl + off, sizeof pl - (size_t)off, "#EXTINF:1.0,\nseg%d.m4s\n", j);
		snprintf(name, sizeof name, "r/seg%d.m4s", i);
		publish(f, name, seg + i * 100);
		publish(f, "r/index.m3u8", pl);
		if (i == 0)
			publish(f, "master.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nr/index.m3u8\n");
		if (i == 1) /* the pusher is stuck in a request while more is published */
			assert_true(srv_wait_held(f->s, 5000));
		if (i == WINDOW - 1)
			srv_hold(f->s, 0);
		if (i >= WINDOW) { /* expire a segment once it is up (so no upload is cancelled) */
			snprintf(name, sizeof name, "live/ch/r/seg%d.m4s", i - WINDOW);
			assert_true(stored(f, "PUT", name, NULL, 5000));
			snprintf(name, sizeof name, "%s/r/seg%d.m4s", f->dir, i - WINDOW);
			assert_int_equal(unlink(name), 0);
		}
		usleep(i < WINDOW ? 5000 : 20000);
	}
	snprintf(name, sizeof name, "live/ch/r/seg%d.m4s", ROUNDS - WINDOW - 1);
	assert_true(stored(f, "DELETE", name, NULL, 10000));
	assert_true(stored(f, "PUT", "live/ch/r/index.m3u8", pl, 10000));
	f->stop = 1;
	pthread_join(f->th, NULL);
	f->running = 0;
	assert_int_equal(f->rc, 0);

	checked = replay(f, keys, &nkeys, 64);
	assert_true(checked >= 3);
	/* the bucket holds what the directory holds */
	assert_int_equal(nkeys, WINDOW + 2);
	for (int k = 0; k < nkeys; k++) {
		struct stat sb;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", f->dir, keys[k] + strlen("live/ch/"));
		if (stat(path, &sb) != 0)
			fail_msg("%s in the bucket, not in the directory", keys[k]);
	}
	for (int i = 0; i < ROUNDS - WINDOW; i++) {
		int del = 0;
		snprintf(name, sizeof name, "live/ch/r/seg%d.m4s", i);
		for (int j = 0; j < f->s->nr; j++)
			del += !strcmp(f->s->r[j].method, "DELETE") && !strcmp(f->s->r[j].key, name);
		if (del != 1)
			fail_msg("%s deleted %d times", name, del);
	}
	for (int j = 0; j < f->s->nr; j++)
		nput += !strcmp(f->s->r[j].method, "PUT");
	assert_int_equal(f->st.deleted, ROUNDS - WINDOW);
	assert_int_equal(f->st.put, nput);
	assert_int_equal(f->st.failures + f->st.dropped + f->st.left, 0);
	assert_int_equal(count_ev(&f->ev, "gap*"), 0);
	assert_int_equal(count_ev(&f->ev, "deleted"), ROUNDS - WINDOW);
}

static void retry_500(void **state)
{
	fx *f = *state;
	mkdir_in(f, "r");
	publish(f, "r/seg0.m4s", "zero");
	publish(f, "r/index.m3u8", "#EXTM3U\nseg0.m4s\n");
	srv_set(f->s, 2, 500, 0);
	f->c.once = 1;
	assert_int_equal(lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err), 0);
	assert_int_equal(f->s->nr, 4);
	assert_string_equal(req_at(f, 0)->key, "live/ch/r/seg0.m4s");
	assert_int_equal(req_at(f, 0)->status, 500);
	assert_string_equal(req_at(f, 1)->key, "live/ch/r/seg0.m4s");
	assert_int_equal(req_at(f, 1)->status, 500);
	assert_string_equal(req_at(f, 2)->key, "live/ch/r/seg0.m4s");
	assert_int_equal(req_at(f, 2)->status, 200);
	assert_string_equal(req_at(f, 3)->key, "live/ch/r/index.m3u8");
	assert_int_equal(count_ev(&f->ev, "retrying"), 2);
	assert_int_equal(count_ev(&f->ev, "recovered"), 1);
	for (int i = 0, k = 0; i < f->ev.n; i++) {
		const evrec *e = &f->ev.e[i];
		if (!strcmp(e->name, "retrying")) {
			assert_string_equal(e->path, "r/seg0.m4s");
			assert_int_equal(e->status, 500);
			assert_int_equal(e->attempt, ++k);
			assert_int_equal(e->level, LSP_WARN);
			assert_non_null(strstr(e->error, "InternalError"));
		} else if (!strcmp(e->name, "recovered")) {
			assert_int_equal(e->status, 200);
			assert_int_equal(e->attempt, 2);
		}
	}
	assert_int_equal(f->st.put, 2);
	assert_int_equal(f->st.failures, 2);
	assert_int_equal(f->st.dropped, 0);
}

static void refused_400_skipped(void **state)
{
	fx *f = *state;
	mkdir_in(f, "r");
	publish(f, "r/seg0.m4s", "zero");
	publish(f, "r/seg1.m4s", "one");
	srv_set(f->s, 1, 400, 0);
	f->c.once = 1;
	assert_int_equal(lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err), -EIO);
	assert_int_equal(f->s->nr, 2);
	assert_int_equal(req_at(f, 1)->status, 200);
	assert_string_equal(req_at(f, 1)->key, "live/ch/r/seg1.m4s");
	assert_int_equal(count_ev(&f->ev, "gap: refused, skipped"), 1);
	assert_string_equal(f->ev.e[0].path, "r/seg0.m4s");
	assert_int_equal(f->st.dropped, 1);
	assert_int_equal(f->st.put, 1);
}

static void forbidden_fails_fast(void **state)
{
	fx *f = *state;
	publish(f, "seg0.m4s", "zero");
	srv_set(f->s, 0, 0, 403);
	assert_int_equal(lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err), -EACCES);
	assert_int_equal(f->s->nr, 3); /* auth_fail_max */
	assert_int_equal(count_ev(&f->ev, "retrying"), 2);
	assert_int_equal(count_ev(&f->ev, "credentials refused"), 1);
	assert_string_equal(f->ev.e[f->ev.n - 1].name, "credentials refused");
	assert_int_equal(f->ev.e[f->ev.n - 1].status, 403);
	assert_non_null(strstr(f->ev.e[f->ev.n - 1].error, "SignatureDoesNotMatch"));
	assert_null(strstr(f->ev.e[f->ev.n - 1].error, "test-secret"));
	assert_int_equal(f->ev.e[0].level, LSP_ERROR); /* a 403 retry is an error */
}

static void once_gives_up(void **state)
{
	fx *f = *state;
	publish(f, "seg0.m4s", "zero");
	publish(f, "seg1.m4s", "one");
	srv_set(f->s, 3, 503, 0);
	f->c.once = 1;
	f->c.once_attempts = 3;
	assert_int_equal(lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err), -EIO);
	assert_int_equal(f->s->nr, 4);
	assert_int_equal(count_ev(&f->ev, "gap: given up"), 1);
	assert_int_equal(req_at(f, 3)->status, 200);
	assert_string_equal(req_at(f, 3)->key, "live/ch/seg1.m4s");
	assert_int_equal(f->st.dropped, 1);
	assert_int_equal(f->st.failures, 3);
}

static void queue_bound_drops_oldest(void **state)
{
	fx *f = *state;
	char name[32];
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof name, "seg%d.m4s", i);
		publish(f, name, name);
	}
	f->c.once = 1;
	f->c.queue = 4;
	assert_int_equal(lsp_pushdir_run(&f->c, f->s3, &f->st, f->err, sizeof f->err), -EIO);
	assert_int_equal(count_ev(&f->ev, "gap: queue full, oldest upload skipped"), 3);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "seg%d.m4s", i);
		assert_string_equal(f->ev.e[i].path, name);
	}
	assert_int_equal(f->s->nr, 4);
	assert_string_equal(req_at(f, 0)->key, "live/ch/seg3.m4s");
	assert_string_equal(req_at(f, 3)->key, "live/ch/seg6.m4s");
	assert_int_equal(f->st.dropped, 3);
}

/* a live LL-HLS media playlist becomes plain live HLS for the bucket */
static void static_origin_playlist(void **state)
{
	char pl[] = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n"
		    "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,CAN-SKIP-UNTIL=6.000,HOLD-BACK=3.000\n"
		    "#EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
		    "#EXT-X-MAP:URI=\"init.mp4\"\n"
		    "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n"
		    "#EXT-X-PART:DURATION=0.20000,URI=\"seg7.0.m4s\",INDEPENDENT=YES\n#EXTINF:0.20000,\nseg7.m4s\n"
		    "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.200Z\n"
		    "#EXT-X-PART:DURATION=0.20000,URI=\"seg8.0.m4s\",INDEPENDENT=YES\n"
		    "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg8.1.m4s\"\n"
		    "#EXT-X-RENDITION-REPORT:URI=\"../b/index.m3u8\",LAST-MSN=8,LAST-PART=0\n";
	const char want[] = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n"
			    "#EXT-X-SERVER-CONTROL:HOLD-BACK=3.000\n"
			    "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n"
			    "#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n#EXTINF:0.20000,\nseg7.m4s\n";
	char master[] = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"mp4a.40.2\"\na/index.m3u8\n";
	size_t n;
	(void)state;
	n = lsp_pushdir_static(pl, strlen(pl));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(pl, want, n);
	/* idempotent; a multivariant playlist is kept as it is */
	assert_int_equal(lsp_pushdir_static(pl, n), n);
	assert_int_equal(lsp_pushdir_static(master, strlen(master)), strlen(master));
	assert_int_equal(lsp_pushdir_static(master, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(scan_order, setup, teardown),
		cmocka_unit_test_setup_teardown(live_order_and_deletes, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_500, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_400_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(forbidden_fails_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(once_gives_up, setup, teardown),
		cmocka_unit_test_setup_teardown(queue_bound_drops_oldest, setup, teardown),
		cmocka_unit_test(static_origin_playlist),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
