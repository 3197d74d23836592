/* pushq.h — the ordered upload queue behind lsp-push: which file of an HLS
 * directory goes up next.  Pure data structure: no I/O, no clock, no
 * allocation after lsp_pushq_new.
 *
 * Three classes, served strictly in this order:
 *   media     (init.mp4, parts, segments, anything not a playlist): FIFO in
 *             arrival order; a path already waiting is not queued twice.
 *   playlists (*.m3u8): a set of dirty paths; the deepest path is served
 *             first, so rung playlists go before master.m3u8.  A playlist
 *             is only handed out when no media is waiting, so a playlist is
 *             never uploaded before the media that arrived before it.
 *   deletes   (expired media): FIFO, served after the playlists, so a
 *             segment disappears only after a playlist without it is up.
 * Bounds: media and deletes each hold at most `cap` entries.  Adding to a
 * full class drops its oldest entry, which is copied to *dropped so the
 * caller can log the gap; nothing is dropped silently.  A delete of a path
 * whose upload is still waiting removes that upload (reported as dropped
 * with kind LSP_PUSHQ_MEDIA and the return value 2).
 *
 * Paths are relative ("720p/seg12.3.m4s"), at most LSP_PUSHQ_PATH-1 bytes. */
#ifndef LSP_PUSHQ_H
#define LSP_PUSHQ_H
#include <stddef.h>

enum { LSP_PUSHQ_MEDIA = 0, LSP_PUSHQ_PLAYLIST = 1, LSP_PUSHQ_DELETE = 2, LSP_PUSHQ_PATH = 256 };

typedef struct {
	char path[LSP_PUSHQ_PATH];
	int kind;
	int attempts; /* failed attempts so far (the caller counts) */
} lsp_pushq_item;

typedef struct lsp_pushq lsp_pushq;

/* NULL on a zero cap or out of memory. */
lsp_pushq *lsp_pushq_new(size_t cap);
void lsp_pushq_free(lsp_pushq *q);

/* Class of a path by its name: LSP_PUSHQ_PLAYLIST for *.m3u8, else MEDIA. */
int lsp_pushq_kind(const char *path);

/* Queue path for upload (kind from its name) or, with del, for deletion.
 * Returns 0, 1 if an older entry was dropped (copied to *dropped), 2 if a
 * delete cancelled a waiting upload (copied to *dropped), -ENAMETOOLONG. */
int lsp_pushq_add(lsp_pushq *q, const char *path, int del, lsp_pushq_item *dropped);

/* The next item to work on, or NULL when empty.  The pointer stays valid
 * until the next add/pop. */
lsp_pushq_item *lsp_pushq_peek(lsp_pushq *q);

/* Remove the item lsp_pushq_peek returned. */
void lsp_pushq_pop(lsp_pushq *q);

/* Entries waiting in one class / all classes. */
size_t lsp_pushq_count(const lsp_pushq *q, int kind);
size_t lsp_pushq_total(const lsp_pushq *q);

/* Order two media paths for an initial scan: per directory, init first,
 * then by segment number, a segment's parts (by index) before the whole
 * segment; other names by strcmp.  qsort-style comparator on char*. */
int lsp_pushq_scan_cmp(const void *a, const void *b);

#endif
