/* ingest_rtmp.c — RTMP and RTMPS publishers: the sans-I/O lib/rtmp state
 * machine driven over the socket (or TLS on it) with poll(), a deadline
 * per stage (see ingest.c), FLV media muxed to TS (lib/flv, lib/tsmux).
 * A codec that cannot be muxed (onMetaData's codec ids or the first tag
 * of it) ends the session with an onStatus error and "codec refused". 
 *
 *   accept ─▶ [RTMPS: TLS handshake] ─▶ RTMP handshake ─▶ connect(app)
 *          ─▶ createStream ─▶ publish(key) ─▶ media … ─▶ unpublish / EOF
 *
 * The serve functions own their session and, for RTMPS, the SSL object;
 * the TLS context is the caller's (cfg->tls, lsp_net_tls_server). */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/clock.h"
#include "core/log.h"
#include "ingest/flv.h"

/* The transport under the protocol: TLS when s->ssl, else the plain fd. */
static ssize_t io_read(struct sess *s, void *buf, size_t n)
{
	int r;
	if (!s->ssl)
		return read(s->fd, buf, n);
	r = SSL_read(s->ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
	if (r > 0)
		return r;
	r = SSL_get_error(s->ssl, r);
	if (r == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE ? EINTR : EIO;
	return -1;
}

static ssize_t io_send(struct sess *s, const void *buf, size_t n)
{
	int r;
	if (!s->ssl)
		return send(s->fd, buf, n, MSG_NOSIGNAL);
	r = SSL_write(s->ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
	if (r > 0)
		return r;
	r = SSL_get_error(s->ssl, r);
	errno = r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE ? EINTR : EPIPE;
	return -1;
}

static int flush_out(struct sess *s)
{
	size_t len;
	const uint8_t *p = lsp_rtmp_out(s->r, &len);
	while (len > 0) {
		ssize_t n = io_send(s, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		lsp_rtmp_out_done(s->r, (size_t)n);
		p = lsp_rtmp_out(s->r, &len);
	}
	return 0;
}

static int64_t ext_ts(struct sess *s, int slot, uint32_t ts)
{
	if (s->ts_seen[slot] && ts < s->ts_last[slot] && s->ts_last[slot] - ts > 0x80000000u)
		s->ts_hi[slot] += INT64_C(1) << 32;
	s->ts_seen[slot] = 1;
	s->ts_last[slot] = ts;
	return s->ts_hi[slot] + ts;
}

/* A codec lsp cannot serve: say so to the encoder (onStatus error), log
 * it once and end the session before anything goes live.  Returns 1. */
static int refuse_codec(struct sess *s, int kind, uint32_t codec, int legacy, const char **reason)
{
	char name[64], desc[160];
	lsp_flv_codec_name(kind, codec, legacy, name, sizeof name);
	snprintf(desc, sizeof desc, "lsp accepts %s; this stream is %s",
		 kind == LSP_FLV_VIDEO ? "H.264 or HEVC video" : "AAC or Opus audio", name);
	ingest_note(s, LSP_WARN, LSP_INGEST_EV_CODEC, desc);
	lsp_rtmp_refuse(s->r, "NetStream.Publish.Rejected", desc);
	*reason = "codec refused";
	return 1;
}

/* After a refusal mid-publish: the error status is sent, but the encoder
 * is still streaming; closing now would reset the connection and could
 * discard the status unread.  Send FIN (plain TCP) and swallow what
 * arrives for up to a second, so the encoder can show the reason. */
static void linger(struct sess *s)
{
	int64_t end = lsp_clock_mono_ms() + 1000, left;
	uint8_t junk[4096];
	if (!s->ssl)
		shutdown(s->fd, SHUT_WR);
	while ((left = end - lsp_clock_mono_ms()) > 0) {
		struct pollfd pf = { s->fd, POLLIN, 0 };
		if (poll(&pf, 1, (int)left) <= 0 || read(s->fd, junk, sizeof junk) <= 0)
			break;
	}
}

/* onMetaData announces the codecs before any media: 1 refused, 0 go on. */
static int check_meta(struct sess *s, const lsp_rtmp_event *ev, const char **reason)
{
	int64_t v = ev->vcodec, a = ev->acodec;
	if (v >= 0 && v != 7 && v != 12 && v != LSP_FLV_AVC && v != LSP_FLV_HEVC)
		return refuse_codec(s, LSP_FLV_VIDEO, v < 16 ? 0 : (uint32_t)v, v < 16 ? (int)v : 0, reason);
	if (a >= 0 && a != 10 && a != LSP_FLV_AAC && a != LSP_FLV_OPUS)
		return refuse_codec(s, LSP_FLV_AUDIO, a < 16 ? 0 : (uint32_t)a, a < 16 ? (int)a : 0, reason);
	return 0;
}

/* 0 go on, >0 end normally (*reason set), <0 failure. */
static int on_media(struct sess *s, const lsp_rtmp_event *ev, const char **reason)
{
	lsp_flv_frame f;
	int rc, was = lsp_tsmux_started(s->mux);
	int64_t t;
	rc = lsp_flv_parse(ev->kind, ev->data, ev->len, &f);
	if (rc == -ENOTSUP)
		return refuse_codec(s, ev->kind, f.codec, f.legacy, reason);
	if (rc < 0 || f.len == 0) {
		s->dropped += rc < 0;
		return 0;
	}
	if (f.is_header) {
		rc = f.kind == LSP_FLV_VIDEO ? lsp_tsmux_video_config(s->mux, f.codec, f.data, f.len, s->err, sizeof s->err)
					     : lsp_tsmux_audio_config(s->mux, f.codec, f.data, f.len, s->err, sizeof s->err);
		if (rc < 0)
			ingest_note(s, LSP_WARN, "bad sequence header", s->err);
		return 0;
	}
	if (s->outfd < 0 && (lsp_tsmux_video_codec(s->mux) || lsp_tsmux_audio_codec(s->mux)) &&
	    (rc = ingest_open_output(s)) < 0)
		return rc;
	t = ext_ts(s, f.kind == LSP_FLV_VIDEO ? 0 : 1, ev->ts);
	rc = lsp_tsmux_write(s->mux, &f, t, s->err, sizeof s->err);
	if (rc == -EPIPE) {
		*reason = "downstream closed";
		return 1;
	}
	if (rc == -EINVAL) {
		s->dropped++;
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!was && lsp_tsmux_started(s->mux))
		ingest_send_live(s);
	if (f.kind == LSP_FLV_VIDEO) {
		s->bframes |= f.cts != 0; /* presentation after decode: frames are reordered */
		s->win_frames++;
		s->v_ts = t;
		s->have_v = 1;
		if (f.keyframe) {
			s->kf_prev = s->kf_last;
			s->kf_last = t;
		}
	} else {
		s->a_ts = t;
		s->have_a = 1;
	}
	return 0;
}

/* One RTMP session on fd (TLS on it when ssl): poll the socket, the stop
 * signal and the kick pipe; feed lib/rtmp; act on its events. */
static int serve_rtmp_on(const lsp_ingest_cfg *cfg, int fd, SSL *ssl, int stopfd, char *err, size_t errcap)
{
	struct sess s;
	uint8_t buf[16384];
	const char *reason = NULL;
	int result = 1, rc, last_stage = -1;
	int64_t deadline = 0;

	ingest_sess_init(&s, cfg, fd, ssl ? "rtmps" : "rtmp");
	s.ssl = ssl;
	if (!(s.r = lsp_rtmp_new((uint32_t)lsp_clock_mono_ms(), (uint64_t)lsp_clock_mono_ms() ^ ((uint64_t)getpid() << 32)))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		struct pollfd pf[3] = { { fd, POLLIN, 0 }, { stopfd, POLLIN, 0 }, { s.kickfd[0], POLLIN, 0 } };
		int64_t now, tmo;
		int stage;
		if (flush_out(&s) < 0) {
			reason = "send failed";
			break;
		}
		stage = lsp_rtmp_stage(s.r);
		if (stage == LSP_RTMP_ENDED) {
			if (!reason)
				reason = "unpublished";
			break;
		}
		now = lsp_clock_mono_ms();
		if (stage != last_stage) {
			if (stage <= LSP_RTMP_HS_C2 && last_stage < 0)
				deadline = now + cfg->hs_timeout_s * 1000LL;
			else if (stage == LSP_RTMP_WAIT_CONNECT)
				deadline = now + cfg->cmd_timeout_s * 1000LL;
			else if (stage == LSP_RTMP_PUBLISHING)
				deadline = now + cfg->media_timeout_s * 1000LL;
			last_stage = stage;
		}
		tmo = deadline - now;
		if (s.publishing && s.next_health - now < tmo)
			tmo = s.next_health - now;
		if (tmo < 0)
			tmo = 0;
		if (s.ssl && SSL_pending(s.ssl) > 0) /* decrypted bytes wait inside TLS */
			tmo = 0;
		rc = poll(pf, 3, (int)tmo); /* negative fds are ignored */
		if (rc == 0 && s.ssl && SSL_pending(s.ssl) > 0) {
			pf[0].revents = POLLIN;
			rc = 1;
		}
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errcap, "poll: %s", strerror(errno));
			result = -EIO;
			reason = "poll failed";
			break;
		}
		if ((reason = ingest_control(&s, pf)))
			break;
		now = lsp_clock_mono_ms();
		ingest_health_tick(&s, now);
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (now >= deadline) {
				reason = "timeout";
				ingest_note(&s, LSP_WARN, "timeout", lsp_rtmp_stage_name(stage));
				break;
			}
			continue;
		}
		ssize_t n = io_read(&s, buf, sizeof buf < lsp_rtmp_space(s.r) ? sizeof buf : lsp_rtmp_space(s.r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			reason = n == 0 ? "disconnect" : "read error";
			break;
		}
		s.bytes_in += n;
		lsp_rtmp_feed(s.r, buf, (size_t)n);
		if (stage == LSP_RTMP_PUBLISHING)
			deadline = now + cfg->media_timeout_s * 1000LL;
		for (;;) {
			lsp_rtmp_event ev;
			rc = lsp_rtmp_step(s.r, &ev, s.err, sizeof s.err);
			if (rc == 0)
				break;
			if (rc < 0) {
				ingest_note(&s, LSP_WARN, "protocol error", s.err);
				reason = "protocol error";
				goto out;
			}
			switch (ev.type) {
			case LSP_RTMP_EV_CONNECT:
				if (strcmp(ev.app, cfg->app) != 0) {
					ingest_note(&s, LSP_WARN, "connect refused", "bad app");
					lsp_rtmp_refuse(s.r, "NetConnection.Connect.Rejected", "bad app");
					reason = "refused";
				} else if (lsp_rtmp_accept(s.r) < 0) {
					reason = "output buffer full";
					goto out;
				}
				break;
			case LSP_RTMP_EV_PUBLISH:
				rc = ingest_start_publish(&s, ev.name);
				memset(ev.name, 0, sizeof ev.name);
				if (rc < 0) {
					snprintf(err, errcap, "%s", s.err);
					result = rc;
				}
				if (rc != 0) {
					reason = "refused";
					flush_out(&s);
					goto out;
				}
				result = 0;
				break;
			case LSP_RTMP_EV_META:
				s.width = ev.width;
				s.height = ev.height;
				s.fps = ev.fps;
				if (check_meta(&s, &ev, &reason))
					goto out;
				break;
			case LSP_RTMP_EV_MEDIA:
				rc = on_media(&s, &ev, &reason);
				if (rc < 0) {
					ingest_note(&s, LSP_ERROR, "mux failed", s.err);
					reason = "mux error";
					goto out;
				}
				if (rc > 0)
					goto out;
				break;
			case LSP_RTMP_EV_UNPUBLISH:
				reason = "unpublished";
				break;
			}
		}
	}
out:
	flush_out(&s);
	ingest_sess_end(&s, reason);
	if (reason && strcmp(reason, "codec refused") == 0)
		linger(&s); /* the channel and its lock are free already */
	lsp_rtmp_free(s.r);
	return result;
}

int ingest_serve_rtmp(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap)
{
	(void)key;
	return serve_rtmp_on(cfg, fd, NULL, stopfd, err, errcap);
}

/* RTMPS: the TLS handshake under the handshake timeout, then RTMP. */
int ingest_serve_rtmps(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap)
{
	struct timeval tv = { cfg->hs_timeout_s, 0 };
	SSL *ssl;
	int rc;
	(void)key;
	if (!cfg->tls) {
		snprintf(err, errcap, "rtmps without a TLS context");
		return -EINVAL;
	}
	if (!(ssl = SSL_new(cfg->tls))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (!SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1) {
		unsigned long e = ERR_get_error();
		char why[200];
		if (e)
			ERR_error_string_n(e, why, sizeof why);
		else
			snprintf(why, sizeof why, "%s", errno ? strerror(errno) : "peer closed");
		ingest_emit(cfg, LSP_WARN, "tls handshake failed", NULL, why, "tls_handshake", 0, 0, -1);
		SSL_free(ssl);
		return 1;
	}
	tv.tv_sec = 0; /* poll() times every stage from here */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	rc = serve_rtmp_on(cfg, fd, ssl, stopfd, err, errcap);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	return rc;
}

int lsp_ingest_serve(const lsp_ingest_cfg *cfg, int fd, int stopfd, char *err, size_t errcap)
{
	return serve_rtmp_on(cfg, fd, NULL, stopfd, err, errcap);
}
