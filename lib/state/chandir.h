/* chandir.h — the channel directory: which channels under an LL-HLS root
 * exist, which are live, and which rungs they offer, as JSON.
 *
 * A channel is a directory <root>/<name> (name as lsp_name_valid) holding
 * master.m3u8.  Its rungs are the media playlists master.m3u8 names
 * ("<rung>/index.m3u8"), in its order.  It is live when some rung's
 * index.m3u8 changed within LSP_CHANDIR_LIVE_S seconds and has no
 * #EXT-X-ENDLIST.  Reads the file system only; holds no state. */
#ifndef LSP_CHANDIR_H
#define LSP_CHANDIR_H
#include <stddef.h>
#include <time.h>

#define LSP_CHANDIR_LIVE_S 10

/* JSON into out: with only == NULL an array of every channel
 * [{"name":"demo","live":true,"rungs":["720p","360p"]}, ...] sorted by name;
 * with only set, that one object.  Returns the length, -ENOENT when only
 * names no channel, -ENOSPC when out is too small, -errno when root cannot
 * be read. */
int lsp_chandir_json(const char *root, const char *only, time_t now, char *out, size_t cap);

/* A channel whose directory holds this file is in no listing and no
 * lookup (-ENOENT), live or not: lsp-api writes it when the channel is
 * suspended and removes it when reinstated, so every directory built on
 * this module (lsp-edge's, lsp-api's) drops a suspended channel at once. */
#define LSP_CHANDIR_HIDDEN ".suspended"

/* Hide (hidden 1: create <root>/<name>/.suspended, directories included)
 * or show again (0: remove it).  0, -EINVAL (bad name) or -errno. */
int lsp_chandir_hide(const char *root, const char *name, int hidden);

/* Access markers, beside .suspended, so a tool that serves a channel
 * (lsp-edge, lsp-rtc) needs no database to know how: lsp-api (and lsp-ctl)
 * write them when a channel's visibility or age gate changes.
 *   .unlisted  in no listing (lookups by name still answer): the channel's
 *              visibility is unlisted or private
 *   .signed    every playback request must carry a playback token
 *              (core/sigtok.h, lsp_sigtok_play): visibility private, or
 *              an age gate */
#define LSP_CHANDIR_UNLISTED ".unlisted"
#define LSP_CHANDIR_SIGNED ".signed"
enum { LSP_CHANDIR_F_UNLISTED = 1, LSP_CHANDIR_F_SIGNED = 2 };

/* Which markers <root>/<name> holds (LSP_CHANDIR_F_* or'ed); 0 for none
 * or a bad name.  One access(2) per marker, no allocation. */
int lsp_chandir_access(const char *root, const char *name);

/* Make <root>/<name>'s markers exactly flags (directories made as
 * needed).  0, -EINVAL (bad name) or -errno. */
int lsp_chandir_set_access(const char *root, const char *name, int flags);

/* The ladder markers, beside the access markers, so the channel's pipeline
 * (scripts/lsp-channel) learns the channel's ladder policy at the start of
 * a broadcast with no database: lsp-api and lsp-ctl write them when the
 * setting changes (and when a channel is made).
 *   .ladder-always  every rung encoded all the time
 *   .ladder-off     no rung encoded: the source as rung "src"
 *   neither         on-demand (the default) */
#define LSP_CHANDIR_LADDER_ALWAYS ".ladder-always"
#define LSP_CHANDIR_LADDER_OFF ".ladder-off"

/* Make <root>/<name>'s ladder marker say ladder (0 on-demand, 1 always,
 * 2 off: state/chanmeta.h's LSP_CHANMETA_LADDER_*; directories made as
 * needed).  0, -EINVAL (bad name or policy) or -errno. */
int lsp_chandir_set_ladder(const char *root, const char *name, int ladder);

/* The policy <root>/<name>'s markers say (0, 1 or 2 as above; 0 for none
 * or a bad name, and for both markers at once, which no writer leaves). */
int lsp_chandir_ladder(const char *root, const char *name);

#endif
