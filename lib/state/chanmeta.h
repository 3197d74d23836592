/* chanmeta.h — what lsp-api keeps about a channel beside its stream key:
 * the owner, title, category, the mature flag and an admin's suspension.
 *
 * The channel row itself (name, key hash, times) is lib/state/store.c's
 * (lsp_store_channel_add/rm/set_key); these functions read the whole row
 * with its metadata and set the metadata columns.  Suspending also drops
 * the key hash, so a suspended channel's key is dead even after the
 * suspension is lifted.  Text is stored as given: the lengths
 * (LSP_CHANMETA_*_MAX bytes) are the caller's to check.
 *
 * Functions return 1 / 0 (found / not), a count, or 0 on success, or a
 * negative errno-style code with a reason in err.  The caller owns every
 * buffer. */
#ifndef LSP_CHANMETA_H
#define LSP_CHANMETA_H
#include <stddef.h>

#include "core/key.h"
#include "state/store.h"

#define LSP_CHANMETA_TITLE_MAX 140    /* bytes, as lsp-api accepts them */
#define LSP_CHANMETA_CATEGORY_MAX 64

/* Who may play a channel (stored as the word): public is listed and open;
 * unlisted is open to whoever has its URL and in no directory; private is
 * in no directory and plays only with a playback token (lsp-api gives one
 * to the owner, admins and mods).  The age gate, on any of them, asks a
 * playback token of every viewer too, given to signed-in adults. */
enum { LSP_CHANMETA_PUBLIC = 0, LSP_CHANMETA_UNLISTED = 1, LSP_CHANMETA_PRIVATE = 2 };

/* Which rungs the channel's pipeline encodes (stored as the word):
 * on-demand (the default) encodes a rung only while someone watches it,
 * the cheapest always; always encodes every rung all the time; off
 * encodes none and serves the source as rung "src" (the cheapest rung
 * still runs when the source cannot be served as it is, e.g. HEVC).
 * scripts/lsp-channel learns it from the lib/state/chandir.h markers. */
enum { LSP_CHANMETA_LADDER_ON_DEMAND = 0, LSP_CHANMETA_LADDER_ALWAYS = 1, LSP_CHANMETA_LADDER_OFF = 2 };

typedef struct {
	char name[LSP_NAME_MAX + 1];
	char title[LSP_CHANMETA_TITLE_MAX * 4 + 1];
	char category[LSP_CHANMETA_CATEGORY_MAX * 4 + 1];
	char owner[LSP_NAME_MAX + 1];     /* "" when none (made by lsp-ctl) */
	int mature, suspended, has_key;
	int visibility;                   /* LSP_CHANMETA_PUBLIC / _UNLISTED / _PRIVATE */
	int age_gate;                     /* 1: playback needs a signed-in adult */
	int ladder;                       /* LSP_CHANMETA_LADDER_* */
	long long created_at, key_changed_at;
} lsp_chanmeta;

/* Channel name with its metadata into out.  1 found, 0 none, or negative. */
int lsp_chanmeta_get(lsp_store *st, const char *name, lsp_chanmeta *out, char *err, size_t errcap);

/* fn for every channel, ordered by name, until it returns non-zero.
 * The number of rows read, or negative. */
int lsp_chanmeta_list(lsp_store *st, int (*fn)(void *ctx, const lsp_chanmeta *ch), void *ctx, char *err,
		      size_t errcap);

/* fn with the name of every channel owner owns.  A count, or negative. */
int lsp_chanmeta_owned(lsp_store *st, const char *owner, int (*fn)(void *ctx, const char *name), void *ctx,
		       char *err, size_t errcap);

int lsp_chanmeta_set_owner(lsp_store *st, const char *name, const char *owner, char *err, size_t errcap);

/* Set the title and/or category (NULL leaves one as it is) and mature
 * (0 or 1; negative leaves it), one column at a time in that order; the
 * first failure stops the rest.  0, or negative. */
int lsp_chanmeta_set(lsp_store *st, const char *name, const char *title, const char *category, int mature,
		     char *err, size_t errcap);

/* "public" / "unlisted" / "private" → LSP_CHANMETA_*, -1 for anything
 * else; and back ("private" for a value out of range). */
int lsp_chanmeta_visibility_parse(const char *s);
const char *lsp_chanmeta_visibility_name(int v);

/* The lib/state/chandir.h markers ch's settings call for
 * (LSP_CHANDIR_F_UNLISTED when not public, LSP_CHANDIR_F_SIGNED when
 * private or age-gated). */
int lsp_chanmeta_access_flags(const lsp_chanmeta *ch);

/* Set visibility (LSP_CHANMETA_*; negative leaves it) and age_gate (0 or
 * 1; negative leaves it).  0, -ENOENT (no such channel), or negative.
 * The caller writes the markers (lsp_chandir_set_access). */
int lsp_chanmeta_set_access(lsp_store *st, const char *name, int visibility, int age_gate, char *err, size_t errcap);

/* "on-demand" / "always" / "off" → LSP_CHANMETA_LADDER_*, -1 for
 * anything else; and back ("on-demand" for a value out of range). */
int lsp_chanmeta_ladder_parse(const char *s);
const char *lsp_chanmeta_ladder_name(int v);

/* Set the ladder policy (LSP_CHANMETA_LADDER_*).  0, -ENOENT (no such
 * channel), -EINVAL (not a policy), or negative.  The caller writes the
 * marker (lsp_chandir_set_ladder). */
int lsp_chanmeta_set_ladder(lsp_store *st, const char *name, int ladder, char *err, size_t errcap);

/* Suspend (on: also revokes the key) or reinstate.  0, or negative. */
int lsp_chanmeta_suspend(lsp_store *st, const char *name, int on, char *err, size_t errcap);

#endif
