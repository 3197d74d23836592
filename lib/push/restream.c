/* restream.c — TS in, N RTMP outputs, one thread and one bounded queue per
 * destination; see restream.h for the contract.
 *
 * A destination thread's stages:
 *   WAIT ──backoff──▶ CONNECT (open + FLV header) ──ok──▶ SEND (pop, write)
 *     ▲                  │ fail / stall                     │ fail / stall
 *     └──────────────────┴──────────────────────────────────┘
 *   SEND ──input ended and queue empty (or drain time over)──▶ trailer, done
 * The reader owns the input context; destinations own their output
 * contexts; packets in a queue are owned by the queue. */
#include "push/restream.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavformat/avformat.h>
#include <libavutil/time.h>

#include "core/clock.h"
#include "core/event.h"

typedef struct shared shared;

typedef struct {
	shared *sh;
	int idx;
	const char *url;
	char where[512];
	pthread_t th;
	int started;
	/* guarded by sh->mu */
	AVPacket **q;
	int head, n, cap;
	int need_key, overflowing;
	/* written by the thread, read by the interrupt callback */
	volatile long long op_start;
	volatile int stalled; /* the interrupt callback gave up on a blocked call */
	long long sent, dropped, connects, failures, bytes;
} dest;

struct shared {
	const lsp_restream_conf *c;
	pthread_mutex_t mu, evmu;
	pthread_cond_t cv;
	int eof;               /* input ended (or stop) */
	volatile int abort;    /* drain time over: give up now */
	long long drain_deadline;
	int vi, ai;            /* input stream indexes (-1 none) */
	AVCodecParameters *par[2]; /* the copies the destinations read */
	AVCodecParameters *own[2]; /* what we allocated (freed at the end) */
	AVRational tb[2];
	int nst;
	dest d[LSP_RESTREAM_MAX];
};

void lsp_restream_redact(const char *url, char *out, size_t cap)
{
	const char *s = strstr(url, "://"), *host, *at, *slash, *last;
	if (!s) {
		snprintf(out, cap, "***");
		return;
	}
	host = s + 3;
	slash = strchr(host, '/');
	at = strchr(host, '@');
	if (at && (!slash || at < slash))
		host = at + 1;
	last = strrchr(host, '/');
	if (!last || last == slash) /* no key segment beyond the app: mask nothing else */
		snprintf(out, cap, "%.*s%s", (int)(s + 3 - url), url, host);
	else
		snprintf(out, cap, "%.*s%.*s/***", (int)(s + 3 - url), url, (int)(last - host), host);
}

/* Report an event (see restream.h for the names), one caller at a time:
 * key, LSV_x(value) pairs. */
#define EV(sh, level, name, ...)                                                                             \
	do {                                                                                                 \
		if ((sh)->c->event) {                                                                        \
			pthread_mutex_lock(&(sh)->evmu);                                                     \
			lsp_event_emit((sh)->c->event, (sh)->c->event_ctx, level, name, __VA_ARGS__, NULL);  \
			pthread_mutex_unlock(&(sh)->evmu);                                                   \
		}                                                                                            \
	} while (0)

/* The same for destination d: "dest" and "url" first, then the pairs. */
#define DEV(d, level, name, ...) \
	EV((d)->sh, level, name, "dest", LSV_I((d)->idx), "url", LSV_S((d)->where), __VA_ARGS__)

static int is_key(shared *sh, const AVPacket *p)
{
	if (sh->vi < 0)
		return 1; /* audio only: every packet is a start */
	return p->stream_index == 0 && (p->flags & AV_PKT_FLAG_KEY);
}

/* Drop queued packets (mu held). */
static void flush(dest *d)
{
	while (d->n) {
		av_packet_free(&d->q[d->head]);
		d->head = (d->head + 1) % d->cap;
		d->n--;
	}
}

/* Reader side: offer a packet (stream_index already mapped) to d (mu held). */
static void offer(dest *d, const AVPacket *p)
{
	shared *sh = d->sh;
	AVPacket *c;
	if (d->need_key && !is_key(sh, p)) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		d->dropped += d->n + 1;
		flush(d);
		d->need_key = 1;
		if (!d->overflowing) {
			d->overflowing = 1;
			pthread_mutex_unlock(&sh->mu);
			DEV(d, LSP_WARN, "destination too slow: queue full, dropping to the next key frame", "queue",
			    LSV_I(d->cap));
			pthread_mutex_lock(&sh->mu);
		}
		return;
	}
	if (!(c = av_packet_clone(p))) {
		d->dropped++;
		return;
	}
	d->need_key = 0;
	d->overflowing = 0;
	d->q[(d->head + d->n) % d->cap] = c;
	d->n++;
}

static int interrupt_cb(void *opaque)
{
	dest *d = opaque;
	shared *sh = d->sh;
	long long t = d->op_start;
	if (sh->abort || (sh->c->stop && *sh->c->stop && lsp_clock_mono_ms() > sh->drain_deadline))
		return 1;
	if (t && lsp_clock_mono_ms() - t > (sh->c->stall_ms > 0 ? sh->c->stall_ms : 5000))
		return d->stalled = 1;
	return 0;
}

static void close_out(AVFormatContext **oc, int trailer)
{
	if (!*oc)
		return;
	if (trailer)
		av_write_trailer(*oc);
	if ((*oc)->pb)
		avio_closep(&(*oc)->pb);
	avformat_free_context(*oc);
	*oc = NULL;
}

static int connect_out(dest *d, AVFormatContext **out, char *err, size_t errcap)
{
	shared *sh = d->sh;
	AVFormatContext *oc = NULL;
	AVDictionary *o = NULL;
	int rc;

	*out = NULL;
	if ((rc = avformat_alloc_output_context2(&oc, NULL, "flv", d->url)) < 0 || !oc)
		goto fail;
	for (int i = 0; i < sh->nst; i++) {
		AVStream *st = avformat_new_stream(oc, NULL);
		if (!st) {
			rc = AVERROR(ENOMEM);
			goto fail;
		}
		if ((rc = avcodec_parameters_copy(st->codecpar, sh->par[i])) < 0)
			goto fail;
		st->codecpar->codec_tag = 0;
		st->time_base = (AVRational){ 1, 1000 };
	}
	oc->interrupt_callback = (AVIOInterruptCB){ interrupt_cb, d };
	d->op_start = lsp_clock_mono_ms();
	if (!strncmp(d->url, "rtmps://", 8)) { /* reaches the TLS layer under RTMP */
		av_dict_set(&o, "tls_verify", sh->c->tls_insecure ? "0" : "1", 0);
		if (sh->c->ca_file && *sh->c->ca_file)
			av_dict_set(&o, "ca_file", sh->c->ca_file, 0);
	}
	rc = avio_open2(&oc->pb, d->url, AVIO_FLAG_WRITE, &oc->interrupt_callback, &o);
	av_dict_free(&o);
	if (rc < 0)
		goto fail;
	/* AAC from TS has no AudioSpecificConfig yet: let the muxer derive the
	 * FLV sequence header from the stream parameters */
	av_dict_set(&o, "flvflags", "aac_seq_header_detect", 0);
	rc = avformat_write_header(oc, &o);
	av_dict_free(&o);
	if (rc < 0)
		goto fail;
	d->op_start = 0;
	*out = oc;
	return 0;
fail:
	d->op_start = 0;
	if (d->stalled)
		snprintf(err, errcap, "no answer within %ld ms", sh->c->stall_ms > 0 ? sh->c->stall_ms : 5000);
	else
		av_strerror(rc, err, errcap);
	d->stalled = 0;
	close_out(&oc, 0);
	return rc;
}

/* Wait up to ms on the condition (mu held); returns early on a signal. */
static void wait_ms(shared *sh, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
}

static int finished(shared *sh, dest *d)
{
	return sh->abort || (sh->eof && (d->n == 0 || lsp_clock_mono_ms() > sh->drain_deadline));
}

static void *dest_main(void *arg)
{
	dest *d = arg;
	shared *sh = d->sh;
	const lsp_restream_conf *c = sh->c;
	AVFormatContext *oc = NULL;
	char err[256];
	int attempt = 0;
	uint32_t r = (uint32_t)(uintptr_t)d ^ (uint32_t)lsp_clock_mono_ms();

	for (;;) {
		int rc;
		int64_t base = AV_NOPTS_VALUE;
		long long sent0 = d->sent;

		pthread_mutex_lock(&sh->mu);
		int done = finished(sh, d);
		pthread_mutex_unlock(&sh->mu);
		if (done)
			break;
		if ((rc = connect_out(d, &oc, err, sizeof err)) < 0) {
			d->failures++;
			DEV(d, LSP_WARN, "connect failed", "attempt", LSV_I(attempt + 1), "error", LSV_S(err));
			goto backoff;
		}
		d->connects++;
		DEV(d, LSP_INFO, "connected", "connects", LSV_I(d->connects));
		/* a new connection starts at a key frame */
		pthread_mutex_lock(&sh->mu);
		while (d->n && !is_key(sh, d->q[d->head])) {
			av_packet_free(&d->q[d->head]);
			d->head = (d->head + 1) % d->cap;
			d->n--;
			d->dropped++;
		}
		if (!d->n)
			d->need_key = 1;
		for (;;) {
			AVPacket *p;
			int64_t ts;
			int size;
			if (finished(sh, d))
				break;
			if (!d->n) {
				wait_ms(sh, 200);
				continue;
			}
			p = d->q[d->head];
			d->head = (d->head + 1) % d->cap;
			d->n--;
			pthread_mutex_unlock(&sh->mu);
			if (base == AV_NOPTS_VALUE)
				base = av_rescale_q(p->dts, sh->tb[p->stream_index], AV_TIME_BASE_Q);
			ts = av_rescale_q(p->dts, sh->tb[p->stream_index], AV_TIME_BASE_Q);
			if (p->dts == AV_NOPTS_VALUE || ts < base) {
				av_packet_free(&p);
				pthread_mutex_lock(&sh->mu);
				continue;
			}
			av_packet_rescale_ts(p, sh->tb[p->stream_index], oc->streams[p->stream_index]->time_base);
			int64_t off = av_rescale_q(base, AV_TIME_BASE_Q, oc->streams[p->stream_index]->time_base);
			p->dts -= off;
			if (p->pts != AV_NOPTS_VALUE)
				p->pts -= off;
			p->pos = -1;
			size = p->size;
			d->op_start = lsp_clock_mono_ms();
			rc = av_write_frame(oc, p);
			d->op_start = 0;
			av_packet_free(&p);
			if (rc < 0) {
				if (d->stalled)
					snprintf(err, sizeof err, "write blocked for more than %ld ms",
						 c->stall_ms > 0 ? c->stall_ms : 5000);
				else
					av_strerror(rc, err, sizeof err);
				d->stalled = 0;
				pthread_mutex_lock(&sh->mu);
				break;
			}
			d->sent++;
			d->bytes += size;
			if (d->sent - sent0 > 100)
				attempt = 0; /* a connection that carried media resets the backoff */
			pthread_mutex_lock(&sh->mu);
		}
		done = finished(sh, d) && rc >= 0;
		pthread_mutex_unlock(&sh->mu);
		if (done) {
			d->op_start = lsp_clock_mono_ms();
			close_out(&oc, 1);
			d->op_start = 0;
			break;
		}
		d->failures++;
		DEV(d, LSP_WARN, "connection lost", "sent", LSV_I(d->sent), "error", LSV_S(err));
		close_out(&oc, 0);
	backoff:
		attempt++;
		{
			long base_ms = c->backoff_base_ms > 0 ? c->backoff_base_ms : 500;
			long cap = c->backoff_max_ms > 0 ? c->backoff_max_ms : 10000, delay = base_ms;
			for (int i = 1; i < attempt && delay < cap; i++)
				delay *= 2;
			if (delay > cap)
				delay = cap;
			r ^= r << 13, r ^= r >> 17, r ^= r << 5;
			delay = delay / 2 + (long)(r % (uint32_t)(delay / 2 + 1));
			long long until = lsp_clock_mono_ms() + delay;
			pthread_mutex_lock(&sh->mu);
			/* while away, the queue would only go stale: restart at a key frame */
			flush(d);
			d->need_key = 1;
			while (!finished(sh, d) && lsp_clock_mono_ms() < until)
				wait_ms(sh, (long)(until - lsp_clock_mono_ms()));
			pthread_mutex_unlock(&sh->mu);
		}
	}
	close_out(&oc, 0);
	return NULL;
}

static int in_interrupt(void *opaque)
{
	shared *sh = opaque;
	return sh->c->stop && *sh->c->stop;
}

int lsp_restream_run(const lsp_restream_conf *c, lsp_restream_stats *st, char *err, size_t errcap)
{
	shared *sh = NULL;
	AVFormatContext *ic = NULL;
	AVDictionary *opt = NULL;
	AVPacket *pkt = NULL;
	int rc = 0;
	const AVInputFormat *fmt = av_find_input_format("mpegts");
	const char *input = c->input ? c->input : "pipe:0";

	memset(st, 0, sizeof *st);
	if (c->nurls < 1 || c->nurls > LSP_RESTREAM_MAX) {
		snprintf(err, errcap, "restream: 1..%d destinations", LSP_RESTREAM_MAX);
		return -EINVAL;
	}
	if (!(sh = calloc(1, sizeof *sh)) || !(pkt = av_packet_alloc())) {
		snprintf(err, errcap, "out of memory");
		free(sh);
		return -ENOMEM;
	}
	sh->c = c;
	for (int i = 0; i < c->nurls; i++) {
		dest *d = &sh->d[i];
		d->sh = sh;
		d->idx = i;
		d->url = c->urls[i];
		lsp_restream_redact(d->url, d->where, sizeof d->where);
	}
	pthread_mutex_init(&sh->mu, NULL);
	pthread_mutex_init(&sh->evmu, NULL);
	pthread_cond_init(&sh->cv, NULL);
	avformat_network_init();

	if (!(ic = avformat_alloc_context())) {
		rc = AVERROR(ENOMEM);
		goto averr;
	}
	ic->interrupt_callback = (AVIOInterruptCB){ in_interrupt, sh };
	av_dict_set(&opt, "analyzeduration", "1000000", 0);
	if ((rc = avformat_open_input(&ic, input, fmt, &opt)) < 0)
		goto averr;
	if ((rc = avformat_find_stream_info(ic, NULL)) < 0)
		goto averr;
	sh->vi = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	sh->ai = av_find_best_stream(ic, AVMEDIA_TYPE_AUDIO, -1, sh->vi >= 0 ? sh->vi : -1, NULL, 0);
	if (sh->vi < 0 && sh->ai < 0) {
		snprintf(err, errcap, "restream: the input has neither video nor audio");
		rc = -EINVAL;
		goto fail;
	}
	if (sh->vi >= 0) {
		sh->par[sh->nst] = ic->streams[sh->vi]->codecpar;
		sh->tb[sh->nst++] = ic->streams[sh->vi]->time_base;
	} else
		sh->vi = -1;
	if (sh->ai >= 0) {
		sh->par[sh->nst] = ic->streams[sh->ai]->codecpar;
		sh->tb[sh->nst++] = ic->streams[sh->ai]->time_base;
	} else
		sh->ai = -1;
	/* the destinations read codec parameters from copies that never change */
	for (int i = 0; i < sh->nst; i++) {
		if (!(sh->own[i] = avcodec_parameters_alloc()) || avcodec_parameters_copy(sh->own[i], sh->par[i]) < 0) {
			rc = AVERROR(ENOMEM);
			goto averr;
		}
		sh->par[i] = sh->own[i];
	}
	for (int i = 0; i < c->nurls; i++) {
		dest *d = &sh->d[i];
		d->cap = c->queue > 0 ? c->queue : 600;
		d->need_key = 1;
		if (!(d->q = calloc((size_t)d->cap, sizeof(AVPacket *)))) {
			rc = AVERROR(ENOMEM);
			goto averr;
		}
	}
	for (int i = 0; i < c->nurls; i++) {
		if (pthread_create(&sh->d[i].th, NULL, dest_main, &sh->d[i]) != 0) {
			snprintf(err, errcap, "unable to start a thread");
			rc = -EAGAIN;
			goto fail;
		}
		sh->d[i].started = 1;
	}
	EV(sh, LSP_INFO, "input opened", "input", LSV_S(input), "destinations", LSV_I(c->nurls));

	for (;;) {
		int r = av_read_frame(ic, pkt);
		if (r < 0) {
			if (r != AVERROR_EOF && r != AVERROR_EXIT && !(c->stop && *c->stop)) {
				char e[128];
				av_strerror(r, e, sizeof e);
				EV(sh, LSP_WARN, "input error, ending", "input", LSV_S(input), "packets",
				   LSV_I(st->in_packets), "error", LSV_S(e));
			}
			break;
		}
		if (pkt->stream_index != sh->vi && pkt->stream_index != sh->ai) {
			av_packet_unref(pkt);
			continue;
		}
		pkt->stream_index = pkt->stream_index == sh->vi ? 0 : (sh->vi >= 0 ? 1 : 0);
		st->in_packets++;
		pthread_mutex_lock(&sh->mu);
		for (int i = 0; i < c->nurls; i++)
			offer(&sh->d[i], pkt);
		pthread_cond_broadcast(&sh->cv);
		pthread_mutex_unlock(&sh->mu);
		av_packet_unref(pkt);
	}
	rc = 0;
	goto fail;
averr:
	av_strerror(rc, err, errcap);
fail:
	if (sh) {
		pthread_mutex_lock(&sh->mu);
		sh->eof = 1;
		sh->drain_deadline = lsp_clock_mono_ms() + (c->drain_ms > 0 ? c->drain_ms : 3000);
		pthread_cond_broadcast(&sh->cv);
		pthread_mutex_unlock(&sh->mu);
		for (int i = 0; i < c->nurls && i < LSP_RESTREAM_MAX; i++) {
			/* past the drain time, blocked writes are interrupted */
			while (sh->d[i].started && pthread_tryjoin_np(sh->d[i].th, NULL) == EBUSY) {
				if (lsp_clock_mono_ms() > sh->drain_deadline)
					sh->abort = 1;
				av_usleep(20000);
			}
		}
		/* every thread is gone: the done events come last, in order */
		for (int i = 0; i < c->nurls && i < LSP_RESTREAM_MAX; i++) {
			dest *d = &sh->d[i];
			st->d[i].sent = d->sent;
			st->d[i].dropped = d->dropped + d->n;
			st->d[i].connects = d->connects;
			st->d[i].failures = d->failures;
			st->d[i].bytes = d->bytes;
			DEV(d, LSP_INFO, "destination done", "sent", LSV_I(d->sent), "dropped", LSV_I(st->d[i].dropped),
			    "connects", LSV_I(d->connects), "failures", LSV_I(d->failures), "bytes", LSV_I(d->bytes));
			flush(d);
			free(d->q);
		}
	}
	if (sh) {
		for (int i = 0; i < 2; i++)
			avcodec_parameters_free(&sh->own[i]);
		pthread_mutex_destroy(&sh->mu);
		pthread_mutex_destroy(&sh->evmu);
		pthread_cond_destroy(&sh->cv);
	}
	av_dict_free(&opt);
	avformat_close_input(&ic);
	av_packet_free(&pkt);
	free(sh);
	return rc;
}
