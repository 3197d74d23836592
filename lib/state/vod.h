/* vod.h — recordings on disk and their retention: list, remove, collect
 * garbage, and the per-channel record/retention settings in the store.
 *
 * A recording is a directory <root>/<channel>/<id>/ written by lsp-record
 * (lib/media/record.c): index.m3u8, init*.mp4, seg<N>.m4s, rec.state, .lock.
 * Its state is "recording" while a recorder holds the flock on .lock,
 * "done" when rec.state has an end time, else "interrupted" (the recorder
 * died; what is on disk still plays).  Recordings being written are never
 * removed.
 *
 * Settings live in the store table channel_recording (one row per channel;
 * no row means record off, keep forever).  Text form, as lsp-ctl takes it:
 *   record=on|off   retention=30d|12h|90m|3600s|3600|0|off   maxsize=50G|500M|0
 *
 * Functions return >= 0 (a count) or a negative errno-style code and fill
 * err; they never print or exit.  The caller owns every buffer. */
#ifndef LSP_VOD_H
#define LSP_VOD_H
#include <stddef.h>
#include "core/key.h"
#include "state/store.h"

typedef struct {
	int record;               /* 1: lsp-record records this channel */
	long long retention_s;    /* remove finished recordings older than this; 0 keep */
	long long max_bytes;      /* keep a channel's finished recordings under this; 0 no cap */
} lsp_vod_settings;

/* Apply one "key=value" to s.  0 or -EINVAL (message in err). */
int lsp_vod_settings_parse(const char *kv, lsp_vod_settings *s, char *err, size_t errcap);
/* The channel's settings (defaults when it has no row). */
int lsp_vod_settings_get(lsp_store *st, const char *channel, lsp_vod_settings *out, char *err, size_t errcap);
/* Parse kv and store the result for channel.  -ENOENT: no such channel. */
int lsp_vod_settings_set(lsp_store *st, const char *channel, const char *kv, char *err, size_t errcap);

typedef struct {
	char channel[LSP_NAME_MAX + 1];
	char id[32];
	double started, updated, ended;   /* Unix seconds; ended 0 unless done */
	double duration;                  /* seconds recorded */
	long long bytes;                  /* files in the directory */
	int sessions, segments;
	const char *state;                /* "recording", "done", "interrupted" */
} lsp_vod_info;

typedef int (*lsp_vod_fn)(void *ctx, const lsp_vod_info *v);

/* Call fn for each recording of channel (all channels when NULL), by
 * channel then id (oldest first).  Returns the count; a missing root or
 * channel directory is an empty list. */
int lsp_vod_list(const char *root, const char *channel, lsp_vod_fn fn, void *ctx, char *err, size_t errcap);

/* JSON array of channel's recordings, newest first:
 * [{"id":"…","started":…,"duration":…,"bytes":…,"state":"done","url":"/vod/C/ID/index.m3u8"}]
 * When out is too small it holds as many of the newest as fit.  Returns
 * the length, or -EINVAL (bad channel, cap < 3). */
int lsp_vod_json(const char *root, const char *channel, char *out, size_t cap);

/* Every recording of channel, for a deleted channel or an erased owner:
 * <root>/<channel> is renamed at once under <root>/.purged/ (off every
 * public path, so a later owner of the name starts with none), then each
 * recording there not being written is removed.  Returns the count
 * removed (0 when the channel had none), or negative. */
int lsp_vod_purge(const char *root, const char *channel, char *err, size_t errcap);

/* Remove one recording.  -ENOENT none, -EBUSY being recorded. */
int lsp_vod_rm(const char *root, const char *channel, const char *id, char *err, size_t errcap);

#define LSP_VOD_FINALIZE_S 3600 /* longer than any lsp-record --grace */

/* Enforce every channel's retention (settings from st; st NULL: nothing
 * is due) at time now.  removed (may be NULL) hears of each removal with
 * its reason ("age" or "size").  First, an interrupted recording last
 * updated more than LSP_VOD_FINALIZE_S ago is finalised (playlist type
 * VOD, an end time in rec.state); removed hears of it with "finalized".
 * Returns the number removed. */
int lsp_vod_gc(const char *root, lsp_store *st, double now,
	       void (*removed)(void *ctx, const lsp_vod_info *v, const char *why), void *ctx,
	       char *err, size_t errcap);

#endif
