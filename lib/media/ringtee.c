/* ringtee.c — TS passthrough + demux into a ring; see ringtee.h.
 * The demuxer context, its AVIOContext and the packet are owned here. */
#include "media/ringtee.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "core/clock.h"

#define IO_BUF 4096
#define TSP 188
#define HEAD (2 * TSP)            /* room before the pending bytes for PAT + PMT */
#define PEND_MAX (4u << 20)       /* flush the TS ring at least this often */

/* The TS ring side: bytes read wait in pend until the demuxer says where
 * the next video frame starts, so every entry ends on a frame boundary and
 * a key-frame entry starts exactly at its PES (see ringtee.h). */
struct tsr {
	lsp_ring *ring;
	uint8_t *buf;                 /* HEAD + cap */
	size_t len, cap;              /* pending bytes at buf + HEAD */
	long long off;                /* stream offset of the first pending byte */
	int synced;                   /* a key frame seen: entries are written */
	int key_next;                 /* the next entry starts at a key frame */
	uint8_t pat[TSP], pmt[TSP];
	int have_pat, have_pmt;
	uint16_t pmt_pid[16];
	int npmt;
	long long entries, dropped;
};

struct tee {
	int in, out, epipe, rerr;
	long long bytes;
	struct tsr *ts;
};

/* Keep the newest single-packet PAT and PMT, to start every key entry. */
static void scan_psi(struct tsr *x, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + TSP <= n; i += TSP) {
		const uint8_t *k = p + i;
		unsigned pid = ((unsigned)(k[1] & 0x1f) << 8) | k[2];
		size_t pl = 4;
		if (k[0] != 0x47 || !(k[1] & 0x40))
			continue;
		if (k[3] & 0x20)
			pl += 1u + k[4];
		if (pl + 1 >= TSP)
			continue;
		if (pid == 0) {
			const uint8_t *sec = k + pl + 1 + k[pl];
			size_t slen;
			if (sec + 8 > k + TSP || sec[0] != 0)
				continue;
			slen = ((size_t)(sec[1] & 0x0f) << 8) | sec[2];
			if (sec + 3 + slen > k + TSP || slen < 9)
				continue;
			memcpy(x->pat, k, TSP);
			x->have_pat = 1;
			x->npmt = 0;
			for (const uint8_t *e = sec + 8; e + 4 <= sec + 3 + slen - 4 && x->npmt < 16; e += 4)
				if ((e[0] << 8 | e[1]) != 0) /* program 0 is the NIT */
					x->pmt_pid[x->npmt++] = (uint16_t)(((e[2] & 0x1f) << 8) | e[3]);
		} else {
			if (x->npmt > 0 && pid == x->pmt_pid[0]) { /* one program: the source's */
				memcpy(x->pmt, k, TSP);
				x->have_pmt = 1;
			}
		}
	}
}

/* Write the first n pending bytes as ring entries (split to fit), the first
 * one flagged key (and led by PAT + PMT) when key; then drop them. */
static void ts_emit(struct tsr *x, size_t n, int key)
{
	uint8_t *p;
	size_t max = 1u << 20;
	if (!x->buf)
		return;
	p = x->buf + HEAD;
	scan_psi(x, p, n);
	if (x->synced && n > 0) {
		size_t done = 0;
		while (done < n) {
			size_t chunk = n - done > max ? max : n - done;
			uint8_t *q = p + done;
			size_t ql = chunk;
			int k = key && done == 0;
			if (k && x->have_pat && x->have_pmt) {
				q -= HEAD;
				ql += HEAD;
				memcpy(q, x->pat, TSP);
				memcpy(q + TSP, x->pmt, TSP);
			}
			if (lsp_ring_write(x->ring, LSP_RING_TS, k ? LSP_RING_KEY : 0, 0, 0, q, ql) == 0)
				x->entries++;
			else
				x->dropped++;
			done += chunk;
		}
	}
	memmove(p, p + n, x->len - n);
	x->len -= n;
	x->off += (long long)n;
}

static void ts_append(struct tsr *x, const uint8_t *b, size_t n)
{
	if (x->len + n > x->cap) { /* no frame boundary for too long: whole packets out */
		size_t keep = x->len % TSP;
		ts_emit(x, x->len - keep, 0);
	}
	if (x->len + n > x->cap) {
		x->dropped++;
		return;
	}
	memcpy(x->buf + HEAD + x->len, b, n);
	x->len += n;
}

/* The demuxer handed out a video frame whose PES starts at stream offset
 * pos: everything before it is complete. */
static void ts_frame(struct tsr *x, long long pos, int key)
{
	if (pos < x->off || pos > x->off + (long long)x->len)
		return;
	ts_emit(x, (size_t)(pos - x->off), x->key_next);
	x->key_next = 0;
	if (key) {
		x->synced = 1;
		x->key_next = 1;
	}
}

static int read_cb(void *opaque, uint8_t *buf, int size)
{
	struct tee *t = opaque;
	ssize_t n;
	do
		n = read(t->in, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		t->rerr = errno;
		return AVERROR(errno);
	}
	if (n == 0)
		return AVERROR_EOF;
	t->bytes += n;
	if (t->ts)
		ts_append(t->ts, buf, (size_t)n);
	for (ssize_t off = 0; t->out >= 0 && off < n;) {
		ssize_t w = write(t->out, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno == EPIPE)
				t->epipe = 1;
			return AVERROR(EPIPE);
		}
		off += w;
	}
	return (int)n;
}

int lsp_h264_is_idr(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++) {
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
			int t = p[i + 3] & 0x1f;
			if (t == 5)
				return 1;
			i += 2;
		}
	}
	return 0;
}

/* HEVC (an Enhanced RTMP source): an IRAP slice, NAL types 16..23. */
static int hevc_is_irap(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++) {
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
			int t = (p[i + 3] >> 1) & 0x3f;
			if (t >= 16 && t <= 23)
				return 1;
			i += 2;
		}
	}
	return 0;
}

static int64_t to90k(int64_t ts, AVRational tb)
{
	if (ts == AV_NOPTS_VALUE)
		return AV_NOPTS_VALUE;
	return av_rescale_q(ts, tb, (AVRational){ 1, 90000 });
}

/* Split a PES payload of ADTS frames into ring entries, 1024 samples each. */
static void put_adts(lsp_ring *r, const uint8_t *p, size_t len, int64_t pts, int rate,
		     lsp_ringtee_stats *st)
{
	static const int rates[16] = { 96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
				       16000, 12000, 11025, 8000, 7350, 0, 0, 0 };
	size_t off = 0;
	int k = 0;
	while (off + 7 <= len) {
		const uint8_t *a = p + off;
		size_t fl;
		if (a[0] != 0xff || (a[1] & 0xf6) != 0xf0)
			break;
		fl = ((size_t)(a[3] & 3) << 11) | ((size_t)a[4] << 3) | (a[5] >> 5);
		if (fl < 7 || off + fl > len)
			break;
		if (!rate)
			rate = rates[(a[2] >> 2) & 15];
		int64_t t = pts == AV_NOPTS_VALUE || !rate ? pts : pts + (int64_t)k * 1024 * 90000 / rate;
		if (lsp_ring_write(r, LSP_RING_AUDIO, 0, t, t, a, fl) == 0)
			st->audio++;
		else
			st->dropped++;
		off += fl;
		k++;
	}
	if (off < len)
		st->dropped++;
}

int lsp_ringtee_run(int in_fd, int out_fd, lsp_ring *ring, lsp_ring *ts, lsp_ringtee_stats *st,
		    char *err, size_t errcap)
{
	return lsp_ringtee_run_tick(in_fd, out_fd, ring, ts, st, NULL, NULL, err, errcap);
}

/* The stats so far, to tick (the TS ring's counts are folded in at the end
 * of the run; until then they are added to a copy). */
static void tick_now(lsp_ringtee_tick_fn tick, void *ctx, const lsp_ringtee_stats *st, const struct tee *t,
		     const struct tsr *x)
{
	lsp_ringtee_stats snap = *st;
	snap.bytes = t->bytes;
	if (t->ts) {
		snap.ts_entries = x->entries;
		snap.dropped += x->dropped;
	}
	tick(ctx, &snap);
}

int lsp_ringtee_run_tick(int in_fd, int out_fd, lsp_ring *ring, lsp_ring *ts, lsp_ringtee_stats *st,
			 lsp_ringtee_tick_fn tick, void *ctx, char *err, size_t errcap)
{
	struct tsr x = { .ring = ts, .cap = PEND_MAX };
	struct tee t = { .in = in_fd, .out = out_fd, .ts = ts ? &x : NULL };
	AVFormatContext *ic = NULL;
	AVIOContext *pb = NULL;
	AVPacket *pkt = NULL;
	uint8_t *buf = NULL;
	int rc, vidx = -1, aidx = -1, vhevc = 0;
	long long apk = 0;
	int64_t last_tick = lsp_clock_mono_ms();
	char b[128];
	memset(st, 0, sizeof *st);
	if (ts && !(x.buf = malloc(HEAD + PEND_MAX))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	if (!ring && !ts) { /* no ring (it could not be created): a plain copy */
		uint8_t cp[IO_BUF];
		while (read_cb(&t, cp, sizeof cp) > 0) /* read_cb copies to out */
			;
		st->bytes = t.bytes;
		if (t.epipe || t.rerr) {
			snprintf(err, errcap, "%s", t.epipe ? "output closed" : strerror(t.rerr));
			return t.epipe ? -EPIPE : -t.rerr;
		}
		return 0;
	}
	if (!(buf = av_malloc(IO_BUF)) || !(pb = avio_alloc_context(buf, IO_BUF, 0, &t, read_cb, NULL, NULL)) ||
	    !(ic = avformat_alloc_context()) || !(pkt = av_packet_alloc())) {
		if (!pb)
			av_free(buf);
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ic->pb = pb;
	ic->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN | AVFMT_FLAG_NOBUFFER;
	if ((rc = avformat_open_input(&ic, NULL, av_find_input_format("mpegts"), NULL)) < 0) {
		ic = NULL; /* freed by a failed open */
		goto averr;
	}
	for (;;) {
		AVStream *s;
		rc = av_read_frame(ic, pkt);
		if (rc < 0)
			break;
		s = ic->streams[pkt->stream_index];
		if (vidx < 0 && (s->codecpar->codec_id == AV_CODEC_ID_H264 || s->codecpar->codec_id == AV_CODEC_ID_HEVC)) {
			vidx = pkt->stream_index;
			vhevc = s->codecpar->codec_id == AV_CODEC_ID_HEVC;
		}
		if (aidx < 0 && s->codecpar->codec_id == AV_CODEC_ID_AAC)
			aidx = pkt->stream_index;
		if (pkt->stream_index == vidx) {
			int key = vhevc ? hevc_is_irap(pkt->data, (size_t)pkt->size)
					: lsp_h264_is_idr(pkt->data, (size_t)pkt->size);
			int64_t pts = to90k(pkt->pts, s->time_base), dts = to90k(pkt->dts, s->time_base);
			if (dts == AV_NOPTS_VALUE)
				dts = pts;
			if (t.ts && pkt->pos >= 0)
				ts_frame(t.ts, pkt->pos, key);
			if (!ring || vhevc) /* the media ring carries H.264 (WebRTC) only */
				;
			else if (lsp_ring_write(ring, LSP_RING_VIDEO, key ? LSP_RING_KEY : 0, pts, dts, pkt->data,
						(size_t)pkt->size) == 0) {
				st->video++;
				st->keys += key;
			} else
				st->dropped++;
		} else if (pkt->stream_index == aidx) {
			/* audio only (no video after ~2 s of frames): every PES may start an entry */
			if (t.ts && vidx < 0 && ++apk > 100 && pkt->pos >= 0)
				ts_frame(t.ts, pkt->pos, 1);
			if (ring)
				put_adts(ring, pkt->data, (size_t)pkt->size, to90k(pkt->pts, s->time_base),
				 s->codecpar->sample_rate, st);
		}
		av_packet_unref(pkt);
		if (tick && lsp_clock_mono_ms() - last_tick >= 1000) {
			tick_now(tick, ctx, st, &t, &x);
			last_tick = lsp_clock_mono_ms();
		}
	}
	st->bytes = t.bytes;
	if (t.epipe) {
		snprintf(err, errcap, "output closed");
		rc = -EPIPE;
		goto out;
	}
	if (t.rerr) {
		snprintf(err, errcap, "read: %s", strerror(t.rerr));
		rc = -t.rerr;
		goto out;
	}
	if (rc == AVERROR_EOF) {
		rc = 0;
		goto out;
	}
averr:
	st->bytes = t.bytes;
	if (t.epipe) {
		snprintf(err, errcap, "output closed");
		rc = -EPIPE;
		goto out;
	}
	if (rc == AVERROR_EOF) {
		rc = 0;
		goto out;
	}
	av_strerror(rc, b, sizeof b);
	snprintf(err, errcap, "mpegts demux: %s", b);
	/* the tee outlives the demuxer: pass the rest through unchanged */
	{
		uint8_t cp[IO_BUF];
		while (read_cb(&t, cp, sizeof cp) > 0)
			;
		st->bytes = t.bytes;
	}
	rc = t.epipe ? -EPIPE : -EIO;
out:
	if (t.ts) { /* what is left is whole: a stream without video is all entries */
		if (vidx < 0)
			x.synced = 1;
		ts_emit(&x, x.len - x.len % TSP, x.key_next || vidx < 0);
		st->ts_entries = x.entries;
		st->dropped += x.dropped;
		free(x.buf);
	}
	if (tick)
		tick(ctx, st);
	av_packet_free(&pkt);
	if (ic)
		avformat_close_input(&ic);
	if (pb) {
		av_freep(&pb->buffer);
		avio_context_free(&pb);
	}
	return rc;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int put_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The oldest entry still held (a fresh ring: its first). */
static uint64_t oldest(const lsp_ring *r, uint8_t *buf)
{
	uint64_t head = lsp_ring_head(r), seq = head > 65536 ? head - 65536 : 0;
	lsp_ring_entry e;
	for (; seq < head; seq++) {
		int rc = lsp_ring_read(r, seq, &e, buf, 0);
		if (rc == 0 || rc == -ENOSPC)
			return seq;
	}
	return head;
}

int lsp_ringtee_follow(const char *path, int out_fd, int from, int wait_ms, const volatile int *stop,
		       long long *gaps, char *err, size_t errcap)
{
	lsp_ring *r = NULL;
	lsp_ring_entry e;
	uint8_t *buf = NULL;
	size_t cap = 1u << 20;
	uint64_t seq = 0, gen = 0;
	int64_t t0 = lsp_clock_mono_ms(), idle = 0;
	int rc, need_key = 1;
	*gaps = 0;
	if (!(buf = malloc(cap))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	for (;;) { /* the writer may not have made the ring yet */
		if (stop && *stop) {
			rc = 0;
			goto out;
		}
		rc = lsp_ring_open(&r, path, err, errcap);
		if (rc == 0)
			break;
		if ((rc != -ENOENT && rc != -EINVAL) || lsp_clock_mono_ms() - t0 >= wait_ms)
			goto out;
		nap_ms(20);
	}
	gen = lsp_ring_generation(r);
	seq = from == LSP_FOLLOW_NEXT	? lsp_ring_head(r)
	      : from == LSP_FOLLOW_OLDEST ? oldest(r, buf)
					  : lsp_ring_seek_key(r);
	for (;;) {
		if (stop && *stop) {
			rc = 0;
			break;
		}
		rc = lsp_ring_read(r, seq, &e, buf, cap);
		if (rc == 0) {
			idle = 0;
			seq++;
			if (e.kind != LSP_RING_TS || (need_key && !(e.flags & LSP_RING_KEY)))
				continue;
			need_key = 0;
			if ((rc = put_all(out_fd, buf, e.len)) < 0) {
				snprintf(err, errcap, "%s", rc == -EPIPE ? "output closed" : strerror(-rc));
				break;
			}
			continue;
		}
		if (rc == -ENOSPC) {
			uint8_t *nb = e.len <= (64u << 20) ? realloc(buf, e.len) : NULL;
			if (!nb) {
				snprintf(err, errcap, "entry of %zu bytes: out of memory", e.len);
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap = e.len;
			continue;
		}
		if (rc == LSP_RING_OVERRUN) { /* fell behind: on at the newest key entry */
			seq = lsp_ring_seek_key(r);
			need_key = 1;
			++*gaps;
			continue;
		}
		/* -EAGAIN: nothing new */
		if (lsp_ring_generation(r) != gen) { /* a restarted writer: its entries go on
						      * from head, starting with a key entry */
			gen = lsp_ring_generation(r);
			if (seq > lsp_ring_head(r))
				seq = lsp_ring_head(r);
			++*gaps;
			continue;
		}
		if (lsp_ring_ended(r)) {
			rc = 0;
			break;
		}
		if (++idle % 100 == 0 && lsp_ring_replaced(r, path)) { /* about every 0.5 s idle */
			lsp_ring *nr = NULL;
			char e2[128];
			if (lsp_ring_open(&nr, path, e2, sizeof e2) == 0) {
				lsp_ring_close(r);
				r = nr;
				gen = lsp_ring_generation(r);
				seq = lsp_ring_seek_key(r);
				need_key = 1;
				++*gaps;
			}
			continue;
		}
		nap_ms(5);
	}
out:
	lsp_ring_close(r);
	free(buf);
	return rc;
}
