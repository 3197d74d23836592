/* transcode_io.c — the ladder engine's I/O (see transcode_int.h for the
 * pieces): the input reader with its MPEG-TS sync tracker, the output
 * writer, the running timeline every input packet is shifted onto, and
 * one packet into the output.  The fds belong to the caller; the AVIO
 * contexts that call these belong to the lsp_transcode. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "media/averr.h"
#include "media/transcode_int.h"

/* ---- input: fd reader with a TS sync tracker ----------------------------- */

static void sync_scan(lsp_transcode *t, const uint8_t *b, size_t n)
{
	struct insync *s = &t->sync;
	size_t i = 0;
	while (i < n) {
		if (s->lost) {
			const uint8_t *p = memchr(b + i, 0x47, n - i);
			if (!p) {
				s->skipped += (long long)(n - i);
				return;
			}
			s->skipped += p - (b + i);
			i = (size_t)(p - b);
			s->lost = 0;
			s->off = 0;
			s->good = 0;
		}
		if (s->off >= n - i) {
			s->off -= n - i;
			return;
		}
		i += s->off;
		if (b[i] == 0x47) {
			if (s->good < SYNC_GOOD && ++s->good == SYNC_GOOD && s->resyncs > 0)
				lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN, "input TS resynced",
					       "resyncs", LSV_I(s->resyncs), "skipped_bytes", LSV_I(s->skipped), NULL);
			s->off = TS_PKT;
			continue;
		}
		if (s->good >= SYNC_GOOD) {
			s->resyncs++;
			lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN,
				       "input TS lost sync (garbage bytes); resyncing", "resyncs", LSV_I(s->resyncs), NULL);
		}
		s->lost = 1;
		s->good = 0;
		i++;
	}
}

int transcode_read_in(void *opaque, uint8_t *buf, int size)
{
	lsp_transcode *t = opaque;
	int64_t t0 = transcode_now_us();
	ssize_t n;
	do
		n = read(t->cfg.in_fd, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	t->shed.idle += transcode_now_us() - t0; /* waiting for input is not work */
	if (n < 0)
		return AVERROR(errno);
	if (n == 0)
		return AVERROR_EOF;
	sync_scan(t, buf, (size_t)n);
	return (int)n;
}

int transcode_write_out(void *opaque, uint8_t *buf, int size)
{
	lsp_transcode *t = opaque;
	int done = 0;
	while (done < size) {
		ssize_t n = write(t->cfg.out_fd, buf + done, (size_t)(size - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			t->out_errno = n < 0 ? errno : EIO;
			return AVERROR(t->out_errno);
		}
		done += (int)n;
	}
	return size;
}

int transcode_out_fail(lsp_transcode *t, int rc, const char *what, char *err, size_t errcap)
{
	if (t->out_errno == EPIPE || rc == AVERROR(EPIPE)) {
		snprintf(err, errcap, "%s: output closed (broken pipe)", what);
		return -EPIPE;
	}
	if (t->out_errno) {
		snprintf(err, errcap, "%s: %s", what, strerror(t->out_errno));
		return -EIO;
	}
	lsp_averr(err, errcap, what, rc);
	return -EIO;
}

/* ---- timeline ------------------------------------------------------------------ */

/* Shift pkt onto the running timeline; fold jumps into t->off_us. */
void transcode_fix_timestamps(lsp_transcode *t, AVPacket *pkt, AVRational tb, int which)
{
	int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts, us, off, newest = AV_NOPTS_VALUE;
	int i;
	if (ts == AV_NOPTS_VALUE)
		return;
	us = av_rescale_q(ts, tb, AV_TIME_BASE_Q) + t->off_us;
	if (t->last_us[which] != AV_NOPTS_VALUE &&
	    (us < t->last_us[which] - JUMP_BACK_US || us > t->last_us[which] + JUMP_FWD_US)) {
		for (i = 0; i < 2; i++)
			if (t->last_us[i] != AV_NOPTS_VALUE && (newest == AV_NOPTS_VALUE || t->last_us[i] > newest))
				newest = t->last_us[i];
		t->off_us += newest + 40000 - us; /* continue one short frame after the newest */
		lsp_event_emit(t->cfg.event, t->cfg.event_ctx, LSP_WARN,
			       "source timestamps jumped; continuing the output timeline", "jump_ms",
			       LSV_I((us - t->last_us[which]) / 1000), "offset_ms", LSV_I(t->off_us / 1000), NULL);
		us = newest + 40000;
	}
	t->last_us[which] = us;
	if (t->off_us) {
		off = av_rescale_q(t->off_us, AV_TIME_BASE_Q, tb);
		if (pkt->pts != AV_NOPTS_VALUE)
			pkt->pts += off;
		if (pkt->dts != AV_NOPTS_VALUE)
			pkt->dts += off;
	}
}

/* ---- writing ---------------------------------------------------------------------- */

int transcode_write_pkt(lsp_transcode *t, AVPacket *pkt, AVRational from, AVStream *st, char *err,
			size_t errcap)
{
	int rc;
	pkt->stream_index = st->index;
	av_packet_rescale_ts(pkt, from, st->time_base);
	pkt->pos = -1;
	if ((rc = av_write_frame(t->oc, pkt)) < 0 || t->out_errno)
		return transcode_out_fail(t, rc, "unable to write output", err, errcap);
	return 0;
}
