/* pushdir.h — mirror an LL-HLS directory (lsp-package output) to
 * S3-compatible storage as it grows.
 *
 * The directory tree is watched with inotify (new subdirectories, e.g. a
 * rung that starts late, are picked up); what is already there is queued
 * first (init, then segments and parts in numeric order, then playlists).
 * Files are published by rename, so a name that appears is complete; dot
 * names (temporaries) are ignored.  Order comes from lib/pushq: media before
 * playlists, rung playlists before master.m3u8, deletes last.  A playlist
 * is read into memory, then the pending inotify events are drained, then
 * every media file queued by then is uploaded before that copy of the
 * playlist: so the bytes uploaded never name a part or segment that was
 * published locally before them and is not yet in the bucket.
 *
 * Failures: one request at a time, in order.  A retriable failure (5xx,
 * 408, 429, timeout, refused connection) and a 403/401 after the first
 * success are retried with exponential backoff and jitter; the queue keeps
 * filling meanwhile and, at its bound, drops its oldest entry with a "gap"
 * event.  Before any request has succeeded, auth_fail_max consecutive
 * 401/403 answers end the run with -EACCES (wrong keys should fail fast).
 * Other 4xx answers drop the item with an error event.  A file that
 * vanished before its upload (expired) is skipped with an event.
 *
 * The run ends when *stop becomes non-zero (after up to drain_ms spent
 * emptying the queue), or with `once` when the queue is empty.  lib code:
 * events go to the caller's callback, nothing is printed. */
#ifndef LSP_PUSHDIR_H
#define LSP_PUSHDIR_H
#include <signal.h>
#include <stddef.h>

#include "core/event.h"
#include "push/s3.h"

/* Events (lib/core/event.h), by name; fields in brackets, each present
 * only when it means something for that event:
 *   debug "uploaded", "deleted"            [path status bytes ms]
 *   info  "recovered"                      [path status attempt bytes ms]
 *   warn  "retrying" (error for 401/403)   [path status attempt retry_ms ms error]
 *   error "credentials refused"            [path status attempt error]
 *   error "gap: refused, skipped", "gap: given up"      [path status attempt error]
 *   warn  "gap: queue full, oldest upload skipped",
 *         "gap: queue full, oldest delete skipped",
 *         "gap: expired before upload"     [path attempt]
 *   warn  "gap: vanished before upload", error "unreadable"  [path attempt error]
 *   warn  "not queued"                     [path error]
 *   warn  "inotify overflow: rescanning";  error "scan: out of memory" [path]
 * Every name that starts with "gap" is an object that will not reach the
 * bucket (counted in stats.dropped or stats.vanished). */
typedef struct {
	const char *dir;        /* the directory to mirror */
	const char *prefix;     /* object key prefix, "" for none */
	int delete_expired;     /* DELETE objects whose file was removed */
	size_t queue;           /* bound per class (media, deletes); 0: 1024 */
	long retry_base_ms;     /* 0: 200 */
	long retry_max_ms;      /* 0: 10000 */
	int auth_fail_max;      /* 0: 3 */
	int once;               /* upload what is there (and what comes meanwhile) until the queue is empty */
	int once_attempts;      /* with once: attempts per item before it is given up; 0: 6 */
	long drain_ms;          /* after stop: time to finish the queue; 0: 5000 */
	const volatile sig_atomic_t *stop;
	lsp_event_fn event;     /* may be NULL */
	void *event_ctx;
} lsp_pushdir_conf;

typedef struct {
	long long put, deleted, bytes, failures, dropped, vanished, left;
	long connections;
} lsp_pushdir_stats;

/* A bucket is a static origin: it cannot hold a request until a part
 * exists (blocking reload), answer _HLS_skip, or serve a preload hint
 * before the part is uploaded.  So every media playlist is stored as plain
 * live HLS: EXT-X-PART-INF, EXT-X-PART, EXT-X-PRELOAD-HINT,
 * EXT-X-RENDITION-REPORT and EXT-X-SKIP are dropped, EXT-X-SERVER-CONTROL
 * keeps only HOLD-BACK (or goes), and a date left after the last segment
 * (the open one's) goes.  Multivariant playlists are stored as they are.
 * lsp_pushdir_static() rewrites buf[0..len) so, in place, and returns the
 * new length (never more than len). */
size_t lsp_pushdir_static(char *buf, size_t len);

/* Returns 0 (stopped or done with an empty queue), -EACCES (credentials
 * refused before any success), -EIO (items given up or left at the end;
 * see stats), or another negative errno on a setup failure (err filled). */
int lsp_pushdir_run(const lsp_pushdir_conf *c, lsp_s3 *s3, lsp_pushdir_stats *st, char *err, size_t errcap);

#endif
