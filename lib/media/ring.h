/* ring.h — a shared-memory ring of demuxed access units, one writer and
 * many readers, in <ring dir>/lsp-ring-<channel> (see lsp_ring_dir).
 *
 * The writer (lsp-ring, or lsp-rtc for a WHIP publisher) appends entries:
 * one H.264 Annex B access unit or one AAC (ADTS) frame each, with
 * pts/dts in 90 kHz units and a keyframe flag.  Readers (lsp-rtc, one per
 * channel, any number of processes) keep their own cursor (a sequence
 * number) and never write to the mapping, so a slow or dead reader can
 * never block or corrupt the writer.
 *
 *   header | slot[nslots] (seq, pos, len, pts, dts, kind, flags) | data[cap]
 *
 * Entry n lives in slot n % nslots; its bytes at absolute byte position
 * pos (data offset pos % cap, never split: the writer pads to the start).
 * A reader copies an entry out and then re-checks the slot's seq and the
 * writer's byte head: if either moved past the entry, the copy is torn and
 * the read says LSP_RING_OVERRUN.  On an overrun the reader jumps to the
 * newest keyframe still held (lsp_ring_seek_key), so a reader that falls
 * behind skips to the next decodable point.  The header's generation
 * changes when a writer (re)creates the ring; a reader seeing a new
 * generation starts over at the newest keyframe.
 *
 * Readers keep the geometry they mapped and bound every copy by it, so
 * even a misbehaving writer cannot make them read outside the mapping.
 * Bounded: nslots and cap are fixed at creation; an entry larger than
 * cap/4 is refused (-E2BIG).  Functions return 0 / a count, or a negative
 * errno code with a reason in err where one is taken. */
#ifndef LSP_RING_H
#define LSP_RING_H
#include <stddef.h>
#include <stdint.h>

#define LSP_RING_VIDEO 1 /* H.264 Annex B access unit */
#define LSP_RING_AUDIO 2 /* AAC frame with ADTS header */
#define LSP_RING_TS 3    /* a run of whole MPEG-TS packets (the lsp-ts-<channel> ring);
			  * LSP_RING_KEY: it starts with PAT + PMT and a video key frame */
#define LSP_RING_KEY 1   /* flags: keyframe (IDR) */
#define LSP_RING_OVERRUN (-1000)

typedef struct lsp_ring lsp_ring;

typedef struct {
	uint64_t seq;
	int64_t pts, dts; /* 90 kHz */
	int kind;         /* LSP_RING_VIDEO / LSP_RING_AUDIO */
	int flags;        /* LSP_RING_KEY */
	size_t len;       /* bytes copied into the caller's buffer */
} lsp_ring_entry;

/* The instance's ring directory: $LSP_RING_DIR when set (it must exist),
 * else /dev/shm/lsp-<euid>-<16 hex of FNV-1a of the absolute
 * $LSP_DATA_DIR (default ./var)>, created 0700 if absent, so two lsp
 * instances on one host never share a ring even with one channel name.
 * Either way the directory must be owned by the effective uid and not
 * group- or world-writable: -EPERM otherwise, -ENOTDIR when it is not a
 * directory, -ENAMETOOLONG if it does not fit in cap. */
int lsp_ring_dir(char *out, size_t cap);
/* Path of a channel's access-unit ring (<ring dir>/lsp-ring-<channel>) and
 * of its TS ring (<ring dir>/lsp-ts-<channel>); lsp_ring_dir's errors. */
int lsp_ring_path(const char *channel, char *out, size_t cap);
int lsp_ring_ts_path(const char *channel, char *out, size_t cap);
/* Demand: a reader of ring NAME that is not there yet (a viewer of a
 * rung lsp-transcode --on-demand left idle) says it wants it by touching
 * <ring dir>/lsp-want-NAME (created 0600); the writer reads its age in
 * seconds (1e9 when never touched).  0 / a negative errno. */
int lsp_ring_want(const char *name);
double lsp_ring_want_age(const char *name);

/* Writer: create (or recreate, bumping the generation) with nslots entries
 * (power of two, >= 16) and cap data bytes (>= 64 KiB).  0 or -errno;
 * -EBUSY when another live writer holds the ring (flock); -EPERM when the
 * file is owned by another user (so is a reader's lsp_ring_open). */
int lsp_ring_create(lsp_ring **out, const char *path, uint32_t nslots, uint64_t cap, char *err,
		    size_t errcap);
/* Append one entry.  0, -E2BIG (too large for the ring), -EINVAL. */
int lsp_ring_write(lsp_ring *r, int kind, int flags, int64_t pts, int64_t dts, const uint8_t *data,
		   size_t len);
/* Mark the stream ended (readers see lsp_ring_ended() == 1). */
void lsp_ring_end(lsp_ring *r);

/* Reader: map an existing ring read-only.  -ENOENT when absent, -EINVAL
 * when it is not a ring. */
int lsp_ring_open(lsp_ring **out, const char *path, char *err, size_t errcap);
/* Sequence number the next write will take (entries < head exist). */
uint64_t lsp_ring_head(const lsp_ring *r);
/* Newest keyframe sequence held, or head when none is held. */
uint64_t lsp_ring_seek_key(const lsp_ring *r);
uint64_t lsp_ring_generation(const lsp_ring *r);
int lsp_ring_ended(const lsp_ring *r);
/* Copy entry seq into buf (cap bytes).  0 and *e filled; -EAGAIN when seq
 * is not written yet; LSP_RING_OVERRUN when it was overwritten (or torn
 * while copying); -ENOSPC when buf is too small (e->len says how much). */
int lsp_ring_read(const lsp_ring *r, uint64_t seq, lsp_ring_entry *e, uint8_t *buf, size_t cap);
/* Unmap (the writer also leaves the file in place: readers may still hold
 * it; lsp_ring_unlink removes the name). */
void lsp_ring_close(lsp_ring *r);
int lsp_ring_unlink(const char *path);
/* 1 when path no longer names the file r has mapped (removed, or recreated
 * with another geometry), else 0. */
int lsp_ring_replaced(const lsp_ring *r, const char *path);

#endif
