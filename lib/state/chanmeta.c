/* chanmeta.c — channel ownership and metadata; see chanmeta.h.  Holds no
 * state: every call runs its statements on the caller's store. */
#include "state/chanmeta.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "state/chandir.h"

#define X(sql, n, p, fn, ctx) lsp_store_exec(st, sql, n, p, fn, ctx, err, errcap)
#define COLS \
	"name, title, category, mature, suspended, owner, created_at, key_changed_at, key_hash, visibility, age_gate, ladder"
#define NCOLS 12

static void fill(lsp_chanmeta *ch, const char *const *v)
{
	memset(ch, 0, sizeof *ch);
	snprintf(ch->name, sizeof ch->name, "%s", v[0] ? v[0] : "");
	snprintf(ch->title, sizeof ch->title, "%s", v[1] ? v[1] : "");
	snprintf(ch->category, sizeof ch->category, "%s", v[2] ? v[2] : "");
	ch->mature = lsp_store_int(v[3]) != 0;
	ch->suspended = lsp_store_int(v[4]) != 0;
	snprintf(ch->owner, sizeof ch->owner, "%s", v[5] ? v[5] : "");
	ch->created_at = lsp_store_int(v[6]);
	ch->key_changed_at = lsp_store_int(v[7]);
	ch->has_key = v[8] && *v[8];
	ch->visibility = lsp_chanmeta_visibility_parse(v[9] ? v[9] : "public");
	if (ch->visibility < 0)
		ch->visibility = LSP_CHANMETA_PRIVATE; /* an unknown word: the closed side */
	ch->age_gate = lsp_store_int(v[10]) != 0;
	ch->ladder = lsp_chanmeta_ladder_parse(v[11] ? v[11] : "on-demand");
	if (ch->ladder < 0)
		ch->ladder = LSP_CHANMETA_LADDER_ON_DEMAND; /* an unknown word: the default */
}

static const char *const vis_names[] = { "public", "unlisted", "private" };

int lsp_chanmeta_visibility_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, vis_names[i]))
			return i;
	return -1;
}

const char *lsp_chanmeta_visibility_name(int v)
{
	return v >= 0 && v < 3 ? vis_names[v] : "private";
}

static const char *const ladder_names[] = { "on-demand", "always", "off" };

int lsp_chanmeta_ladder_parse(const char *s)
{
	for (int i = 0; s && i < 3; i++)
		if (!strcmp(s, ladder_names[i]))
			return i;
	return -1;
}

const char *lsp_chanmeta_ladder_name(int v)
{
	return v >= 0 && v < 3 ? ladder_names[v] : "on-demand";
}

int lsp_chanmeta_set_ladder(lsp_store *st, const char *name, int ladder, char *err, size_t errcap)
{
	const char *p[2] = { name, NULL };
	int rc;
	if (ladder < 0 || ladder > 2) {
		snprintf(err, errcap, "ladder is on-demand, always or off");
		return -EINVAL;
	}
	p[1] = ladder_names[ladder];
	if ((rc = X("UPDATE channels SET ladder = $2 WHERE name = $1", 2, p, NULL, NULL)) == 0) {
		snprintf(err, errcap, "no channel %s", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

int lsp_chanmeta_access_flags(const lsp_chanmeta *ch)
{
	return (ch->visibility != LSP_CHANMETA_PUBLIC ? LSP_CHANDIR_F_UNLISTED : 0) |
	       (ch->visibility == LSP_CHANMETA_PRIVATE || ch->age_gate ? LSP_CHANDIR_F_SIGNED : 0);
}

int lsp_chanmeta_set_access(lsp_store *st, const char *name, int visibility, int age_gate, char *err, size_t errcap)
{
	const char *p[2] = { name, NULL };
	int rc = 0;
	if (visibility >= 0) {
		p[1] = lsp_chanmeta_visibility_name(visibility);
		rc = X("UPDATE channels SET visibility = $2 WHERE name = $1", 2, p, NULL, NULL);
	}
	if (age_gate >= 0 && rc >= 0) {
		p[1] = age_gate ? "1" : "0";
		rc = X("UPDATE channels SET age_gate = $2 WHERE name = $1", 2, p, NULL, NULL);
	}
	if (rc == 0 && (visibility >= 0 || age_gate >= 0)) {
		snprintf(err, errcap, "no channel %s", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

struct get {
	lsp_chanmeta *out;
	int found;
};

static int row_get(void *ctx, int ncol, const char *const *v)
{
	struct get *g = ctx;
	if (ncol < NCOLS)
		return 1;
	fill(g->out, v);
	g->found = 1;
	return 1;
}

int lsp_chanmeta_get(lsp_store *st, const char *name, lsp_chanmeta *out, char *err, size_t errcap)
{
	const char *p[1] = { name };
	struct get g;
	int rc;
	memset(out, 0, sizeof *out);
	g.out = out;
	g.found = 0;
	rc = X("SELECT " COLS " FROM channels WHERE name = $1", 1, p, row_get, &g);
	return rc < 0 ? rc : g.found;
}

struct list {
	int (*fn)(void *, const lsp_chanmeta *);
	void *ctx;
	int n;
};

static int row_list(void *ctx, int ncol, const char *const *v)
{
	struct list *l = ctx;
	lsp_chanmeta ch;
	if (ncol < NCOLS)
		return 0;
	fill(&ch, v);
	l->n++;
	return l->fn ? l->fn(l->ctx, &ch) : 0;
}

int lsp_chanmeta_list(lsp_store *st, int (*fn)(void *ctx, const lsp_chanmeta *ch), void *ctx, char *err,
		      size_t errcap)
{
	struct list l = { fn, ctx, 0 };
	int rc = X("SELECT " COLS " FROM channels ORDER BY name", 0, NULL, row_list, &l);
	return rc < 0 ? rc : l.n;
}

struct owned {
	int (*fn)(void *, const char *);
	void *ctx;
	int n;
};

static int row_owned(void *ctx, int ncol, const char *const *v)
{
	struct owned *o = ctx;
	if (ncol < 1 || !v[0])
		return 0;
	o->n++;
	return o->fn ? o->fn(o->ctx, v[0]) : 0;
}

int lsp_chanmeta_owned(lsp_store *st, const char *owner, int (*fn)(void *ctx, const char *name), void *ctx,
		       char *err, size_t errcap)
{
	const char *p[1] = { owner };
	struct owned o = { fn, ctx, 0 };
	int rc = X("SELECT name FROM channels WHERE owner = $1", 1, p, row_owned, &o);
	return rc < 0 ? rc : o.n;
}

int lsp_chanmeta_set_owner(lsp_store *st, const char *name, const char *owner, char *err, size_t errcap)
{
	const char *p[2] = { name, owner };
	int rc = X("UPDATE channels SET owner = $2 WHERE name = $1", 2, p, NULL, NULL);
	return rc < 0 ? rc : 0;
}

int lsp_chanmeta_set(lsp_store *st, const char *name, const char *title, const char *category, int mature,
		     char *err, size_t errcap)
{
	const char *p[2] = { name, NULL };
	int rc = 0;
	if (title) {
		p[1] = title;
		rc = X("UPDATE channels SET title = $2 WHERE name = $1", 2, p, NULL, NULL);
	}
	if (category && rc >= 0) {
		p[1] = category;
		rc = X("UPDATE channels SET category = $2 WHERE name = $1", 2, p, NULL, NULL);
	}
	if (mature >= 0 && rc >= 0) {
		p[1] = mature ? "1" : "0";
		rc = X("UPDATE channels SET mature = $2 WHERE name = $1", 2, p, NULL, NULL);
	}
	return rc < 0 ? rc : 0;
}

int lsp_chanmeta_suspend(lsp_store *st, const char *name, int on, char *err, size_t errcap)
{
	const char *p[1] = { name };
	int rc = X(on ? "UPDATE channels SET suspended = 1, key_hash = NULL WHERE name = $1"
		      : "UPDATE channels SET suspended = 0 WHERE name = $1",
		   1, p, NULL, NULL);
	return rc < 0 ? rc : 0;
}
