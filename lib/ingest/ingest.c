/* ingest.c — one RTMP publisher connection; see ingest.h.
 *
 * Stages and their timeouts (the RTMP stage names come from lib/rtmp):
 *   handshake_*                       cfg->hs_timeout_s from accept
 *   wait_connect .. publish_pending   cfg->cmd_timeout_s from the handshake's end
 *   publishing                        cfg->media_timeout_s since the last message
 * The session owns: the rtmp object, the publish lock fd, the output fd
 * (and the --exec child), the muxer and the bus connection.
 *
 * Kick: while publishing with NATS, the session subscribes to
 * lsp.ctl.<channel>.kick (lsp-api sends it on suspension, key rotation and
 * channel deletion); the nats.c thread only writes a byte to a pipe that
 * the poll loop watches, and the publish ends with reason "kicked". */
#include "ingest/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bus/bus.h"
#include "ingest/flv.h"
#include "core/log.h"
#include "ingest/rtmp.h"
#include "core/spawn.h"
#include "ingest/tsmux.h"
#include "ingest/tsscan.h"
#include "core/clock.h"
#include "bus/subjects.h"

struct sess {
	const lsp_ingest_cfg *cfg;
	int fd;
	SSL *ssl;               /* RTMPS: TLS over fd; NULL for plain RTMP and SRT */
	const char *proto;      /* "rtmp", "rtmps", "srt" */
	long long bytes_in;     /* bytes read from the publisher */
	lsp_rtmp *r;            /* RTMP(S) only */
	lsp_tsscan *scan;       /* SRT (TS passthrough) only */
	char channel[80];
	int publishing;
	int lockfd, outlockfd, outfd, out_owned;
	pid_t child;
	lsp_tsmux *mux;
	lsp_bus *bus;
	lsp_bus_sub *kick_sub;
	int kickfd[2]; /* [0] polled, [1] written by the NATS callback */
	int live_sent, warned_codec;
	double width, height, fps;
	int64_t t_start;
	uint32_t ts_last[2];
	int64_t ts_hi[2];
	int ts_seen[2];
	uint64_t win_bytes;
	int win_frames;
	int64_t win_start, next_health;
	int64_t kf_last, kf_prev, v_ts, a_ts;
	int have_v, have_a;
	long long dropped, win_ts_frames;
	char err[256];
};

static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int lsp_ingest_expand(const char *tmpl, const char *channel, char *out, size_t cap)
{
	return lsp_spawn_expand(tmpl, channel, out, cap);
}

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

static void note(struct sess *s, int level, const char *msg, const char *reason)
{
	lsp_ingest_note n = { s->channel[0] ? s->channel : NULL, s->cfg->remote, reason,
			      s->r ? lsp_rtmp_stage_name(lsp_rtmp_stage(s->r)) : s->proto, s->bytes_in,
			      s->publishing ? (lsp_clock_mono_ms() - s->t_start) / 1000.0 : 0, -1 };
	if (s->cfg->note)
		s->cfg->note(s->cfg->ctx, level, msg, &n);
}

static void bus_send(struct sess *s, const char *what, const char *json)
{
	char subj[LSP_SUBJ_CAP];
	if (!s->bus)
		return;
	if (lsp_subject_stream(subj, sizeof subj, s->channel, what) < 0)
		return;
	if (lsp_bus_publish(s->bus, subj, json, s->err, sizeof s->err) < 0)
		note(s, LSP_WARN, "nats publish failed", s->err);
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

static int mkdir_p(const char *dir)
{
	char tmp[512];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof tmp)
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == 0) {
			char c = tmp[i];
			tmp[i] = 0;
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -errno;
			tmp[i] = c;
		}
	}
	return 0;
}

/* Returns 0 locked, -EWOULDBLOCK busy, other negative on failure. */
static int take_lock(struct sess *s)
{
	char path[512];
	int rc;
	if ((rc = mkdir_p(s->cfg->run_dir)) < 0)
		return rc;
	if ((size_t)snprintf(path, sizeof path, "%s/%s.lock", s->cfg->run_dir, s->channel) >= sizeof path)
		return -ENAMETOOLONG;
	if ((s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(s->lockfd);
		s->lockfd = -1;
		return rc;
	}
	return 0;
}

/* 0 when nobody else writes the shared output, -EWOULDBLOCK if busy. */
static int take_out_lock(struct sess *s)
{
	if (!s->cfg->out_lock)
		return 0;
	if ((s->outlockfd = open(s->cfg->out_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (flock(s->outlockfd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(s->outlockfd);
		s->outlockfd = -1;
		return rc;
	}
	return 0;
}

static int open_output(struct sess *s)
{
	char buf[1024];
	const lsp_ingest_cfg *c = s->cfg;
	if (c->exec_tmpl && *c->exec_tmpl) {
		int rc = lsp_spawn_template(c->exec_tmpl, s->channel, &s->child, &s->outfd, s->err, sizeof s->err);
		if (rc < 0)
			return rc;
		s->out_owned = 1;
		return 0;
	}
	if (c->out_tmpl && *c->out_tmpl && strcmp(c->out_tmpl, "-") != 0) {
		if (lsp_ingest_expand(c->out_tmpl, s->channel, buf, sizeof buf) < 0)
			return -ENAMETOOLONG;
		if ((s->outfd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
			return -errno;
		s->out_owned = 1;
		return 0;
	}
	s->outfd = 1;
	return 0;
}

/* On a nats.c thread: only wake the poll loop. */
static void on_kick(void *ctx, const char *subject, const char *data, size_t len)
{
	struct sess *s = ctx;
	ssize_t w;
	(void)subject;
	(void)data;
	(void)len;
	w = write(s->kickfd[1], "k", 1);
	(void)w;
}

static void refuse(struct sess *s, const char *code, const char *text)
{
	if (s->r)
		lsp_rtmp_refuse(s->r, code, text);
}

static int start_publish(struct sess *s, const char *key)
{
	const char *reason = "unknown key";
	int rc;
	if (s->cfg->auth(s->cfg->ctx, key, s->channel, sizeof s->channel, &reason) < 0) {
		note(s, LSP_WARN, "publish refused", reason);
		refuse(s, "NetStream.Publish.BadName", "stream key refused");
		return 1;
	}
	if ((rc = take_lock(s)) < 0) {
		if (rc == -EWOULDBLOCK) {
			note(s, LSP_WARN, "publish refused", "channel busy");
			refuse(s, "NetStream.Publish.BadName", "channel busy");
			return 1;
		}
		snprintf(s->err, sizeof s->err, "publish lock: %s", strerror(-rc));
		note(s, LSP_ERROR, "publish refused", s->err);
		refuse(s, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if ((rc = take_out_lock(s)) < 0) {
		note(s, LSP_WARN, "publish refused", rc == -EWOULDBLOCK ? "output busy" : strerror(-rc));
		refuse(s, "NetStream.Publish.BadName", "output busy");
		return rc == -EWOULDBLOCK ? 1 : rc;
	}
	if ((rc = open_output(s)) < 0) {
		snprintf(s->err, sizeof s->err, "output: %s", strerror(-rc));
		note(s, LSP_ERROR, "publish refused", s->err);
		refuse(s, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if (s->r && (rc = lsp_tsmux_open(&s->mux, s->outfd, s->err, sizeof s->err)) < 0) {
		note(s, LSP_ERROR, "publish refused", s->err);
		refuse(s, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if (s->cfg->nats_url && *s->cfg->nats_url &&
	    lsp_bus_open(&s->bus, s->cfg->nats_url, 2000, "lsp-ingest", s->err, sizeof s->err) < 0) {
		note(s, LSP_WARN, "nats unavailable; ingesting without it", s->err);
		s->bus = NULL;
	}
	if (s->bus) {
		char subj[LSP_SUBJ_CAP];
		(void)lsp_subject(subj, sizeof subj, LSP_SUBJ_KICK, s->channel);
		if (pipe2(s->kickfd, O_CLOEXEC | O_NONBLOCK) < 0) {
			s->kickfd[0] = s->kickfd[1] = -1;
			note(s, LSP_WARN, "kick not available", strerror(errno));
		} else if (lsp_bus_subscribe(s->bus, subj, on_kick, s, &s->kick_sub, s->err, sizeof s->err) < 0) {
			s->kick_sub = NULL;
			note(s, LSP_WARN, "kick not available", s->err);
		}
	}
	if (s->r && (rc = lsp_rtmp_accept(s->r)) < 0)
		return rc;
	s->publishing = 1;
	s->t_start = s->win_start = lsp_clock_mono_ms();
	s->next_health = s->t_start + 1000;
	note(s, LSP_INFO, "publish started", NULL);
	return 0;
}

/* pf[1] the stop signal, pf[2] the kick pipe: the reason to end, or NULL. */
static const char *control(struct sess *s, const struct pollfd *pf)
{
	if (pf[1].fd >= 0 && (pf[1].revents & POLLIN))
		return "shutdown";
	if (s->kickfd[0] >= 0 && (pf[2].revents & POLLIN)) {
		note(s, LSP_WARN, "publish kicked", "lsp.ctl kick (suspended, key rotated or deleted)");
		return "kicked";
	}
	return NULL;
}

static int64_t ext_ts(struct sess *s, int slot, uint32_t ts)
{
	if (s->ts_seen[slot] && ts < s->ts_last[slot] && s->ts_last[slot] - ts > 0x80000000u)
		s->ts_hi[slot] += INT64_C(1) << 32;
	s->ts_seen[slot] = 1;
	s->ts_last[slot] = ts;
	return s->ts_hi[slot] + ts;
}

static const char *jcodec(const char *c, char *buf, size_t cap)
{
	if (!c)
		return "null";
	snprintf(buf, cap, "\"%s\"", c);
	return buf;
}

/* ,"origin":"<LSP_ORIGIN_URL>" — this node's edge URL, which lsp-edge
 * --origin auto relays the channel from (docs/design.md, cluster mode). */
static size_t origin_field(char *out, size_t cap)
{
	const char *u = getenv("LSP_ORIGIN_URL");
	char esc[160];
	int n;
	if (!u || !*u || cap == 0)
		return 0;
	lsp_json_escape(esc, sizeof esc, u);
	n = snprintf(out, cap, ",\"origin\":\"%s\"", esc);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = 0;
		return 0;
	}
	return (size_t)n;
}

static void send_live(struct sess *s)
{
	char json[1024], remote[160], vc[24], ac[24];
	const char *v, *a;
	size_t o;
	if (s->mux) {
		v = lsp_tsmux_has_video(s->mux) ? "h264" : NULL;
		a = lsp_tsmux_has_audio(s->mux) ? "aac" : NULL;
	} else {
		v = s->scan ? lsp_tsscan_codec(s->scan->vtype) : NULL;
		a = s->scan ? lsp_tsscan_codec(s->scan->atype) : NULL;
	}
	lsp_json_escape(remote, sizeof remote, s->cfg->remote ? s->cfg->remote : "");
	o = (size_t)snprintf(json, sizeof json,
			     "{\"channel\":\"%s\",\"time\":%.3f,\"remote\":\"%s\",\"video_codec\":%s,"
			     "\"audio_codec\":%s",
			     s->channel, wall_s(), remote, jcodec(v, vc, sizeof vc), jcodec(a, ac, sizeof ac));
	if (o < sizeof json && s->width > 0 && s->height > 0)
		o += (size_t)snprintf(json + o, sizeof json - o, ",\"width\":%d,\"height\":%d",
				      (int)s->width, (int)s->height);
	if (o < sizeof json)
		o += origin_field(json + o, sizeof json - o);
	if (o < sizeof json)
		snprintf(json + o, sizeof json - o, "}");
	bus_send(s, "live", json);
	s->live_sent = 1;
}

static void send_health(struct sess *s, int64_t now)
{
	char json[768], org[200] = "";
	double secs = (now - s->win_start) / 1000.0;
	uint64_t bytes = (uint64_t)s->bytes_in;
	if (secs <= 0)
		secs = 1;
	if (s->scan) { /* TS passthrough: what the cheap scan saw */
		const lsp_tsscan *t = s->scan;
		s->win_frames = (int)(t->frames - s->win_ts_frames);
		s->win_ts_frames = t->frames;
		s->have_v = t->v_pts >= 0;
		s->have_a = t->a_pts >= 0;
		s->v_ts = t->v_pts / 90;
		s->a_ts = t->a_pts / 90;
		s->kf_last = t->kf_pts >= 0 ? t->kf_pts / 90 : -1;
		s->kf_prev = t->kf_prev >= 0 ? t->kf_prev / 90 : -1;
		s->dropped = t->skipped / 188;
	}
	origin_field(org, sizeof org);
	snprintf(json, sizeof json,
		 "{\"channel\":\"%s\",\"time\":%.3f,\"bitrate_kbps\":%.1f,\"fps\":%.2f,"
		 "\"keyframe_interval_s\":%.3f,\"video_ts_ms\":%lld,\"audio_ts_ms\":%lld,"
		 "\"av_drift_ms\":%lld,\"dropped\":%lld%s}",
		 s->channel, wall_s(), (double)(bytes - s->win_bytes) * 8 / 1000 / secs,
		 s->win_frames / secs, s->kf_prev >= 0 && s->kf_last > s->kf_prev ? (s->kf_last - s->kf_prev) / 1000.0 : 0,
		 (long long)(s->have_v ? s->v_ts : -1), (long long)(s->have_a ? s->a_ts : -1),
		 (long long)(s->have_v && s->have_a ? s->v_ts - s->a_ts : 0), s->dropped, org);
	bus_send(s, "health", json);
	s->win_bytes = bytes;
	s->win_frames = 0;
	s->win_start = now;
}

/* Once a second while publishing: .health (and, for a TS source whose PMT
 * was never seen, .live on the first tick with data). */
static void health_tick(struct sess *s, int64_t now)
{
	if (!s->publishing || now < s->next_health)
		return;
	if (s->scan && !s->live_sent && s->bytes_in > 0)
		send_live(s);
	send_health(s, now);
	s->next_health += 1000;
	if (s->next_health <= now)
		s->next_health = now + 1000;
}

/* 0 go on, >0 end normally (*reason set), <0 failure. */
static int on_media(struct sess *s, const lsp_rtmp_event *ev, const char **reason)
{
	lsp_flv_frame f;
	int rc, was = lsp_tsmux_started(s->mux);
	int64_t t;
	rc = lsp_flv_parse(ev->kind, ev->data, ev->len, &f);
	if (rc == -ENOTSUP) {
		if (!s->warned_codec) {
			note(s, LSP_WARN, "unsupported codec ignored (want H.264 + AAC)",
			     ev->kind == LSP_FLV_VIDEO ? "video" : "audio");
			s->warned_codec = 1;
		}
		return 0;
	}
	if (rc < 0 || f.len == 0) {
		s->dropped += rc < 0;
		return 0;
	}
	if (f.is_header) {
		rc = f.kind == LSP_FLV_VIDEO ? lsp_tsmux_video_config(s->mux, f.data, f.len, s->err, sizeof s->err)
					     : lsp_tsmux_audio_config(s->mux, f.data, f.len, s->err, sizeof s->err);
		if (rc < 0)
			note(s, LSP_WARN, "bad sequence header", s->err);
		return 0;
	}
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
		send_live(s);
	if (f.kind == LSP_FLV_VIDEO) {
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

static void end_publish(struct sess *s, const char *reason)
{
	char json[512];
	int rc;
	if (s->mux && (rc = lsp_tsmux_close(s->mux, s->err, sizeof s->err)) < 0 && rc != -EPIPE)
		note(s, LSP_WARN, "TS trailer failed", s->err);
	s->mux = NULL;
	if (s->out_owned && s->outfd >= 0)
		close(s->outfd);
	s->outfd = -1;
	note(s, LSP_INFO, "publish stopped", reason);
	if (s->bus) {
		snprintf(json, sizeof json,
			 "{\"channel\":\"%s\",\"time\":%.3f,\"reason\":\"%s\",\"duration_s\":%.3f,\"bytes\":%llu}",
			 s->channel, wall_s(), reason, (lsp_clock_mono_ms() - s->t_start) / 1000.0,
			 (unsigned long long)s->bytes_in);
		bus_send(s, "ended", json);
		if (lsp_bus_flush(s->bus, 1000, s->err, sizeof s->err) < 0)
			note(s, LSP_WARN, "nats flush failed", s->err);
	}
	if (s->child > 0) {
		int st = 0, i;
		pid_t w = 0;
		for (i = 0; i < 100 && (w = waitpid(s->child, &st, WNOHANG)) == 0; i++)
			usleep(100000);
		lsp_ingest_note n = { s->channel, s->cfg->remote, NULL, NULL, 0, 0, -1 };
		if (w == s->child) {
			n.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			if (s->cfg->note)
				s->cfg->note(s->cfg->ctx, n.status ? LSP_WARN : LSP_INFO, "exec command exited", &n);
		} else {
			n.reason = "still running after 10 s; left to finish";
			if (s->cfg->note)
				s->cfg->note(s->cfg->ctx, LSP_WARN, "exec command exited", &n);
		}
		s->child = 0;
	}
	s->publishing = 0;
}

static void sess_init(struct sess *s, const lsp_ingest_cfg *cfg, int fd, const char *proto)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->fd = fd;
	s->proto = proto;
	s->lockfd = s->outlockfd = s->outfd = -1;
	s->kickfd[0] = s->kickfd[1] = -1;
	s->kf_last = s->kf_prev = -1;
}

/* Every session's one teardown: end a running publish, drop the locks,
 * the kick subscription and the bus. */
static void sess_end(struct sess *s, const char *reason)
{
	if (s->publishing)
		end_publish(s, reason ? reason : "ended");
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->outlockfd >= 0)
		close(s->outlockfd);
	if (s->kick_sub)
		lsp_bus_unsubscribe(s->kick_sub);
	lsp_bus_close(s->bus);
	for (int i = 0; i < 2; i++)
		if (s->kickfd[i] >= 0)
			close(s->kickfd[i]);
}

static int serve_rtmp_on(const lsp_ingest_cfg *cfg, int fd, SSL *ssl, int stopfd, char *err, size_t errcap)
{
	struct sess s;
	uint8_t buf[16384];
	const char *reason = NULL;
	int result = 1, rc, last_stage = -1;
	int64_t deadline = 0;

	sess_init(&s, cfg, fd, ssl ? "rtmps" : "rtmp");
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
		if ((reason = control(&s, pf)))
			break;
		now = lsp_clock_mono_ms();
		health_tick(&s, now);
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (now >= deadline) {
				reason = "timeout";
				note(&s, LSP_WARN, "timeout", lsp_rtmp_stage_name(stage));
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
				note(&s, LSP_WARN, "protocol error", s.err);
				reason = "protocol error";
				goto out;
			}
			switch (ev.type) {
			case LSP_RTMP_EV_CONNECT:
				if (strcmp(ev.app, cfg->app) != 0) {
					note(&s, LSP_WARN, "connect refused", "bad app");
					lsp_rtmp_refuse(s.r, "NetConnection.Connect.Rejected", "bad app");
					reason = "refused";
				} else if (lsp_rtmp_accept(s.r) < 0) {
					reason = "output buffer full";
					goto out;
				}
				break;
			case LSP_RTMP_EV_PUBLISH:
				rc = start_publish(&s, ev.name);
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
				break;
			case LSP_RTMP_EV_MEDIA:
				rc = on_media(&s, &ev, &reason);
				if (rc < 0) {
					note(&s, LSP_ERROR, "mux failed", s.err);
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
	sess_end(&s, reason);
	lsp_rtmp_free(s.r);
	return result;
}

/* SRT (or any TS source): the stream key came with the connection; the
 * MPEG-TS on fd goes through unchanged, watched by lib/tsscan for health. */
static int serve_ts(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap)
{
	struct sess s;
	lsp_tsscan scan;
	uint8_t buf[16384];
	const char *reason = NULL;
	int result, rc;
	int64_t deadline;

	sess_init(&s, cfg, fd, "srt");
	lsp_tsscan_init(&scan);
	s.scan = &scan;
	result = start_publish(&s, key ? key : "");
	if (result != 0) {
		if (result < 0)
			snprintf(err, errcap, "%s", s.err);
		goto out;
	}
	deadline = lsp_clock_mono_ms() + cfg->media_timeout_s * 1000LL;
	for (;;) {
		struct pollfd pf[3] = { { fd, POLLIN, 0 }, { stopfd, POLLIN, 0 }, { s.kickfd[0], POLLIN, 0 } };
		int64_t now = lsp_clock_mono_ms(), tmo = deadline - now;
		ssize_t n;
		if (s.next_health - now < tmo)
			tmo = s.next_health - now;
		if (tmo < 0)
			tmo = 0;
		rc = poll(pf, 3, (int)tmo);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errcap, "poll: %s", strerror(errno));
			result = -EIO;
			reason = "poll failed";
			break;
		}
		if ((reason = control(&s, pf)))
			break;
		now = lsp_clock_mono_ms();
		health_tick(&s, now);
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (now >= deadline) {
				reason = "timeout";
				note(&s, LSP_WARN, "timeout", "no media");
				break;
			}
			continue;
		}
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			reason = n == 0 ? "disconnect" : "read error";
			break;
		}
		s.bytes_in += n;
		deadline = now + cfg->media_timeout_s * 1000LL;
		lsp_tsscan_feed(&scan, buf, (size_t)n);
		if (!s.live_sent && scan.vpid >= 0 && scan.apid >= 0)
			send_live(&s);
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(s.outfd, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				reason = errno == EPIPE ? "downstream closed" : "output error";
				if (errno != EPIPE) {
					snprintf(s.err, sizeof s.err, "output: %s", strerror(errno));
					note(&s, LSP_ERROR, "output failed", s.err);
				}
				goto out;
			}
			o += w;
		}
	}
out:
	sess_end(&s, reason);
	return result;
}

static int serve_rtmp(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap)
{
	(void)key;
	return serve_rtmp_on(cfg, fd, NULL, stopfd, err, errcap);
}

/* RTMPS: the TLS handshake under the handshake timeout, then RTMP. */
static int serve_rtmps(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap)
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
		lsp_ingest_note n = { NULL, cfg->remote, NULL, "tls_handshake", 0, 0, -1 };
		unsigned long e = ERR_get_error();
		char why[200];
		if (e)
			ERR_error_string_n(e, why, sizeof why);
		else
			snprintf(why, sizeof why, "%s", errno ? strerror(errno) : "peer closed");
		n.reason = why;
		if (cfg->note)
			cfg->note(cfg->ctx, LSP_WARN, "tls handshake failed", &n);
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

const lsp_ingest_proto lsp_ingest_protos[] = {
	{ "rtmp", serve_rtmp },
	{ "rtmps", serve_rtmps },
	{ "srt", serve_ts },
	{ NULL, NULL },
};

const lsp_ingest_proto *lsp_ingest_proto_find(const char *name)
{
	for (const lsp_ingest_proto *p = lsp_ingest_protos; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

int lsp_ingest_serve(const lsp_ingest_cfg *cfg, int fd, int stopfd, char *err, size_t errcap)
{
	return serve_rtmp_on(cfg, fd, NULL, stopfd, err, errcap);
}

/* The reason OpenSSL gives for its most recent error, never NULL. */
static const char *tls_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());
	return r ? r : "unreadable, or not a PEM file";
}

int lsp_ingest_tls_open(void **out, const char *cert, const char *key, char *err, size_t errcap)
{
	SSL_CTX *c = SSL_CTX_new(TLS_server_method());
	if (!c) {
		snprintf(err, errcap, "TLS context: out of memory");
		return -ENOMEM;
	}
	SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
		snprintf(err, errcap, "certificate %s: %s", cert, tls_reason());
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1) {
		snprintf(err, errcap, "key %s: %s", key, tls_reason());
		goto fail;
	}
	*out = c;
	return 0;
fail:
	SSL_CTX_free(c);
	return -EINVAL;
}

void lsp_ingest_tls_close(void *tls)
{
	SSL_CTX_free(tls);
}
