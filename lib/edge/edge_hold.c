/* edge_hold.c — the hold table: requests that wait for a file to change.
 *
 * A blocking playlist request (_HLS_msn[,_HLS_part]) or a GET for a part
 * that does not exist yet adds an inotify watch on the rung directory
 * *before* checking the file, so no rename can slip between the check and
 * the watch.  When the directory reports IN_MOVED_TO or IN_CLOSE_WRITE for
 * a name, the playlist is read once and every request held on it is
 * checked against that one copy (lsp_plstate).  A directory that goes away
 * answers its waiters 404; lost events (IN_Q_OVERFLOW) make every waiter
 * look again.
 *
 * Owners: the table owns the inotify descriptor, the watch array and each
 * held waiter's rel copy; the waiters themselves belong to the caller (a
 * connection).  A waiter is taken off its list before h->answer is called
 * for it, so the callback may do anything with it.  Internal; see
 * edge_int.h. */
#include "edge/edge_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/http.h"
#include "edge/plstate.h"

int edge_holds_init(edge_holds *h, const char *root, int dfd, int part_hold_ms, edge_answer_fn answer,
		    void *ctx, char *err, size_t errcap)
{
	memset(h, 0, sizeof *h);
	h->ifd = -1;
	h->dfd = dfd;
	h->root = root;
	h->part_hold_ms = part_hold_ms > 0 ? part_hold_ms : 3000;
	h->answer = answer;
	h->ctx = ctx;
	if (!(h->watches = calloc(WATCH_MAX, sizeof *h->watches))) {
		snprintf(err, errcap, "out of memory for %d watches", WATCH_MAX);
		return -ENOMEM;
	}
	if ((h->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		int rc = -errno;
		snprintf(err, errcap, "epoll/inotify: %s", strerror(errno));
		edge_holds_fini(h);
		return rc;
	}
	return 0;
}

void edge_holds_fini(edge_holds *h)
{
	for (int i = 0; h->watches && i < h->nwatches; i++)
		while (h->watches[i].held)
			edge_hold_drop(h, h->watches[i].held);
	if (h->ifd >= 0)
		close(h->ifd);
	h->ifd = -1;
	free(h->watches);
	h->watches = NULL;
	h->nwatches = 0;
}

static edge_watch *watch_find(edge_holds *h, int wd)
{
	for (int i = 0; i < h->nwatches; i++)
		if (h->watches[i].wd == wd)
			return &h->watches[i];
	return NULL;
}

/* Watch the directory holding rel; NULL when it cannot be watched. */
static edge_watch *watch_dir(edge_holds *h, const char *rel)
{
	char dir[sizeof h->watches->rel], path[4200];
	const char *slash = strrchr(rel, '/');
	edge_watch *w;
	int wd;
	if (!slash || (size_t)(slash - rel) >= sizeof dir)
		return NULL;
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = 0;
	if (snprintf(path, sizeof path, "%s/%s", h->root, dir) >= (int)sizeof path)
		return NULL;
	wd = inotify_add_watch(h->ifd, path, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (wd < 0)
		return NULL;
	if ((w = watch_find(h, wd)))
		return w;
	if (h->nwatches >= WATCH_MAX) {
		inotify_rm_watch(h->ifd, wd);
		return NULL;
	}
	w = &h->watches[h->nwatches++];
	w->wd = wd;
	w->held = NULL;
	memcpy(w->rel, dir, strlen(dir) + 1);
	return w;
}

void edge_hold_drop(edge_holds *h, edge_waiter *wt)
{
	if (wt->kind == H_NONE)
		return;
	if (wt->prev)
		wt->prev->next = wt->next;
	else if (wt->w)
		wt->w->held = wt->next;
	if (wt->next)
		wt->next->prev = wt->prev;
	wt->prev = wt->next = NULL;
	wt->w = NULL;
	wt->kind = H_NONE;
	free(wt->rel);
	wt->rel = NULL;
	wt->name = NULL;
	h->held--;
}

/* Put wt on w's list until deadline.  0 held; 1 when it cannot be (a is
 * the answer: 503). */
static int hold(edge_holds *h, edge_waiter *wt, edge_watch *w, enum edge_hold_kind kind, int64_t deadline,
		const char *rel, edge_answer *a)
{
	if (!(wt->rel = strdup(rel))) {
		a->status = 503;
		return 1;
	}
	wt->name = strrchr(wt->rel, '/') ? strrchr(wt->rel, '/') + 1 : wt->rel;
	wt->kind = kind;
	wt->w = w;
	wt->prev = NULL;
	wt->next = w->held;
	if (w->held)
		w->held->prev = wt;
	w->held = wt;
	wt->deadline = deadline;
	h->held++;
	h->total++;
	return 0;
}

int edge_hold_skip(const char *query, size_t len)
{
	char v[8];
	if (!query || lsp_http_query_get(query, len, "_HLS_skip", v, sizeof v) < 0)
		return 0;
	return strcmp(v, "YES") == 0 || strcmp(v, "v2") == 0;
}

/* The delta update of playlist *pb when one was asked for and something
 * can be skipped (it replaces *pb); otherwise *pb stays whole. */
static void delta(edge_body **pb)
{
	size_t cap = (*pb)->len + 64;
	char *out = malloc(cap);
	edge_body *nb;
	long n;
	if (!out)
		return;
	n = lsp_plstate_skip((*pb)->data, (*pb)->len, out, cap);
	if (n > 0 && (nb = edge_body_from(out, (size_t)n))) {
		edge_body_put(*pb);
		*pb = nb;
	}
	free(out);
}

/* Can playlist pb answer a request for msn/part (msn < 0: any playlist)?
 * 1: *a is the answer (pb's reference moved into it — or into its delta
 * update when skip — or dropped); 0: not yet (pb untouched, *ps what it
 * holds when it parsed). */
static int judge(edge_body *pb, long long msn, long long part, int skip, lsp_plstate *ps, edge_answer *a)
{
	int r;
	if (lsp_plstate_parse(pb->data, pb->len, ps) < 0)
		return 0; /* not a playlist yet: keep waiting */
	r = msn < 0 ? 1 : lsp_plstate_ready(ps, msn, part);
	if (r == 0)
		return 0;
	if (r < 0) {
		edge_body_put(pb);
		a->status = 400;
		return 1;
	}
	if (skip)
		delta(&pb);
	a->status = 200;
	a->b = pb;
	if (msn < 0) /* a plain reload (a delta update without blocking) */
		snprintf(a->cache, sizeof a->cache, "no-cache");
	else /* the answer to "msn/part" never goes stale: cache it a while */
		snprintf(a->cache, sizeof a->cache, "public, max-age=%d", ps->target > 0 ? (int)(ps->target * 6) : 6);
	return 1;
}

/* What a request can be answered with at once: 200 with playlist pb,
 * not to be cached (pb's reference moves into *a). */
static void give_now(edge_body *pb, edge_answer *a)
{
	a->status = 200;
	a->b = pb;
	snprintf(a->cache, sizeof a->cache, "no-cache");
}

/* The start of every playlist hold: rel's directory watched first (no
 * update can slip by between reading and waiting), then the playlist
 * read.  NULL with *a a 404 when there is none. */
static edge_body *playlist_now(edge_holds *h, const char *rel, edge_watch **w, edge_answer *a)
{
	edge_body *pb;
	*w = watch_dir(h, rel);
	pb = edge_read_body(h->dfd, rel);
	memset(a, 0, sizeof *a);
	if (!pb)
		a->status = 404;
	return pb;
}

int edge_hold_playlist(edge_holds *h, edge_waiter *wt, const char *rel, long long msn, long long part, int64_t now,
		       edge_answer *a)
{
	edge_watch *w;
	edge_body *pb = playlist_now(h, rel, &w, a);
	lsp_plstate ps = { 0 };

	if (!pb || judge(pb, msn, part, wt->skip, &ps, a))
		return 1;
	if (!w) { /* cannot wait: give what there is */
		give_now(pb, a);
		return 1;
	}
	edge_body_put(pb);
	wt->msn = msn;
	wt->part = part;
	wt->fresh = 0;
	return hold(h, wt, w, H_PLAYLIST, now + (ps.target > 0 ? (int64_t)(ps.target * 3000) : 6000), rel, a);
}

int edge_hold_fresh(edge_holds *h, edge_waiter *wt, const char *rel, int64_t now, edge_answer *a)
{
	edge_watch *w;
	edge_body *pb = playlist_now(h, rel, &w, a);
	lsp_plstate ps = { 0 };

	if (!pb)
		return 1;
	if (!w || lsp_plstate_parse(pb->data, pb->len, &ps) < 0 || ps.endlist) {
		give_now(pb, a);
		return 1;
	}
	edge_body_put(pb);
	wt->msn = ps.msn + ps.segments; /* the open segment's next part */
	wt->part = ps.parts;
	wt->skip = 0;
	wt->fresh = 1;
	return hold(h, wt, w, H_PLAYLIST, now + EDGE_FRESH_WAIT_MS, rel, a);
}

int edge_hold_part(edge_holds *h, edge_waiter *wt, const char *rel, int64_t now, edge_answer *a)
{
	edge_watch *w = watch_dir(h, rel);
	int fd;

	memset(a, 0, sizeof *a);
	if (!w) {
		a->status = 404;
		return 1;
	}
	if ((fd = edge_open_beneath(h->dfd, rel, O_RDONLY)) >= 0) { /* written meanwhile */
		close(fd);
		a->status = 200;
		a->file = rel;
		return 1;
	}
	wt->msn = wt->part = -1;
	wt->fresh = 0;
	return hold(h, wt, w, H_PART, now + h->part_hold_ms, rel, a);
}

/* Off its list, then answered with a. */
static void answer(edge_holds *h, edge_waiter *wt, edge_answer *a)
{
	edge_hold_drop(h, wt);
	if (h->answer)
		h->answer(h->ctx, wt, a);
	else
		edge_body_put(a->b);
}

static void answer_status(edge_holds *h, edge_waiter *wt, int status)
{
	edge_answer a = { .status = status };
	answer(h, wt, &a);
}

/* File name in w changed: answer the waiters it resolves. */
static void wake(edge_holds *h, edge_watch *w, const char *name)
{
	edge_body *pb = NULL;
	int loaded = 0;
	edge_waiter *wt = w->held, *next;
	char rel[1024];
	for (; wt; wt = next) {
		edge_answer a = { 0 };
		lsp_plstate ps;
		next = wt->next;
		if (strcmp(wt->name, name) != 0 || edge_copy_str(rel, sizeof rel, wt->rel) < 0)
			continue;
		if (wt->kind == H_PLAYLIST) {
			if (!loaded) {
				pb = edge_read_body(h->dfd, rel);
				loaded = 1;
			}
			if (!pb)
				continue; /* vanished between event and read: keep waiting */
			pb->refs++;
			if (judge(pb, wt->msn, wt->part, wt->skip, &ps, &a)) {
				if (wt->fresh && a.status == 200) /* the URL had no query: never cache it */
					snprintf(a.cache, sizeof a.cache, "no-cache");
				answer(h, wt, &a);
			} else
				edge_body_put(pb);
		} else {
			a.status = 200;
			a.file = rel;
			answer(h, wt, &a);
		}
	}
	edge_body_put(pb);
}

/* Events were lost: look again at every held request. */
static void recheck_all(edge_holds *h)
{
	edge_waiter **v;
	long long n = 0;
	if (h->held <= 0 || !(v = malloc((size_t)h->held * sizeof(edge_waiter *))))
		return;
	for (int i = 0; i < h->nwatches; i++)
		for (edge_waiter *wt = h->watches[i].held; wt && n < h->held; wt = wt->next)
			v[n++] = wt;
	for (long long i = 0; i < n; i++) {
		char name[256];
		/* an earlier wake may have answered it (its owner keeps it until
		 * the caller's batch ends, so the pointer still reads) */
		if (v[i]->kind != H_NONE && v[i]->w && edge_copy_str(name, sizeof name, v[i]->name) == 0)
			wake(h, v[i]->w, name);
	}
	free(v);
}

void edge_holds_poll(edge_holds *h)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(h->ifd, buf, sizeof buf);
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)(void *)p;
			edge_watch *w;
			p += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				recheck_all(h);
				continue;
			}
			if (!(w = watch_find(h, ev->wd)))
				continue;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				while (w->held) /* the directory is gone */
					answer_status(h, w->held, 404);
				if (ev->mask & IN_IGNORED) {
					*w = h->watches[--h->nwatches]; /* the last one moves here */
					for (edge_waiter *wt = w->held; wt; wt = wt->next)
						wt->w = w;
				} else {
					inotify_rm_watch(h->ifd, w->wd); /* IN_IGNORED follows */
				}
				continue;
			}
			if (ev->len && w->held)
				wake(h, w, ev->name);
		}
	}
}

void edge_holds_expire(edge_holds *h, int64_t now)
{
	for (int i = 0; i < h->nwatches; i++)
		for (edge_waiter *wt = h->watches[i].held, *next; wt; wt = next) {
			next = wt->next;
			if (wt->deadline > now)
				continue;
			h->timeouts++;
			if (wt->kind == H_PLAYLIST && wt->fresh) { /* the rung did not come back: what there is */
				edge_answer a = { 0 };
				char rel[1024];
				edge_body *pb = edge_copy_str(rel, sizeof rel, wt->rel) == 0 ? edge_read_body(h->dfd, rel) : NULL;
				if (pb)
					give_now(pb, &a);
				else
					a.status = 404;
				answer(h, wt, &a);
				continue;
			}
			/* playlist: the spec's 503; part: it never came */
			answer_status(h, wt, wt->kind == H_PLAYLIST ? 503 : 404);
		}
}
