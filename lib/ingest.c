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
#include "ingest.h"

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

#include "bus.h"
#include "flv.h"
#include "log.h"
#include "rtmp.h"
#include "tsmux.h"

struct sess {
	const lsp_ingest_cfg *cfg;
	int fd;
	lsp_rtmp *r;
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
	long long dropped;
	char err[256];
};

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int lsp_ingest_expand(const char *tmpl, const char *channel, char *out, size_t cap)
{
	size_t o = 0, cl = strlen(channel);
	if (cap == 0)
		return -ENAMETOOLONG;
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "{channel}", 9) == 0) {
			if (cap - o <= cl)
				return -ENAMETOOLONG;
			memcpy(out + o, channel, cl);
			o += cl;
			p += 9;
		} else {
			if (cap - o <= 1)
				return -ENAMETOOLONG;
			out[o++] = *p++;
		}
	}
	out[o] = 0;
	return 0;
}

static void note(struct sess *s, int level, const char *msg, const char *reason)
{
	lsp_ingest_note n = { s->channel[0] ? s->channel : NULL, s->cfg->remote, reason,
			      lsp_rtmp_stage_name(lsp_rtmp_stage(s->r)),
			      (long long)lsp_rtmp_bytes_in(s->r),
			      s->publishing ? (now_ms() - s->t_start) / 1000.0 : 0, -1 };
	if (s->cfg->note)
		s->cfg->note(s->cfg->ctx, level, msg, &n);
}

static void bus_send(struct sess *s, const char *what, const char *json)
{
	char subj[160];
	if (!s->bus)
		return;
	snprintf(subj, sizeof subj, "lsp.stream.%s.%s", s->channel, what);
	if (lsp_bus_publish(s->bus, subj, json, s->err, sizeof s->err) < 0)
		note(s, LSP_WARN, "nats publish failed", s->err);
}

static int flush_out(struct sess *s)
{
	size_t len;
	const uint8_t *p = lsp_rtmp_out(s->r, &len);
	while (len > 0) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
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
		int p[2];
		if (lsp_ingest_expand(c->exec_tmpl, s->channel, buf, sizeof buf) < 0)
			return -ENAMETOOLONG;
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		s->child = fork();
		if (s->child < 0) {
			int e = errno;
			close(p[0]);
			close(p[1]);
			return -e;
		}
		if (s->child == 0) {
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			signal(SIGPIPE, SIG_DFL);
			if (dup2(p[0], 0) < 0)
				_exit(127);
			execl("/bin/sh", "sh", "-c", buf, (char *)NULL);
			_exit(127);
		}
		close(p[0]);
		s->outfd = p[1];
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

static int start_publish(struct sess *s, const char *key)
{
	const char *reason = "unknown key";
	int rc;
	if (s->cfg->auth(s->cfg->ctx, key, s->channel, sizeof s->channel, &reason) < 0) {
		note(s, LSP_WARN, "publish refused", reason);
		lsp_rtmp_refuse(s->r, "NetStream.Publish.BadName", "stream key refused");
		return 1;
	}
	if ((rc = take_lock(s)) < 0) {
		if (rc == -EWOULDBLOCK) {
			note(s, LSP_WARN, "publish refused", "channel busy");
			lsp_rtmp_refuse(s->r, "NetStream.Publish.BadName", "channel busy");
			return 1;
		}
		snprintf(s->err, sizeof s->err, "publish lock: %s", strerror(-rc));
		note(s, LSP_ERROR, "publish refused", s->err);
		lsp_rtmp_refuse(s->r, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if ((rc = take_out_lock(s)) < 0) {
		note(s, LSP_WARN, "publish refused", rc == -EWOULDBLOCK ? "output busy" : strerror(-rc));
		lsp_rtmp_refuse(s->r, "NetStream.Publish.BadName", "output busy");
		return rc == -EWOULDBLOCK ? 1 : rc;
	}
	if ((rc = open_output(s)) < 0) {
		snprintf(s->err, sizeof s->err, "output: %s", strerror(-rc));
		note(s, LSP_ERROR, "publish refused", s->err);
		lsp_rtmp_refuse(s->r, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if ((rc = lsp_tsmux_open(&s->mux, s->outfd, s->err, sizeof s->err)) < 0) {
		note(s, LSP_ERROR, "publish refused", s->err);
		lsp_rtmp_refuse(s->r, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if (s->cfg->nats_url && *s->cfg->nats_url &&
	    lsp_bus_open(&s->bus, s->cfg->nats_url, 2000, "lsp-ingest", s->err, sizeof s->err) < 0) {
		note(s, LSP_WARN, "nats unavailable; ingesting without it", s->err);
		s->bus = NULL;
	}
	if (s->bus) {
		char subj[sizeof s->channel + 32];
		snprintf(subj, sizeof subj, "lsp.ctl.%s.kick", s->channel);
		if (pipe2(s->kickfd, O_CLOEXEC | O_NONBLOCK) < 0) {
			s->kickfd[0] = s->kickfd[1] = -1;
			note(s, LSP_WARN, "kick not available", strerror(errno));
		} else if (lsp_bus_subscribe(s->bus, subj, on_kick, s, &s->kick_sub, s->err, sizeof s->err) < 0) {
			s->kick_sub = NULL;
			note(s, LSP_WARN, "kick not available", s->err);
		}
	}
	if ((rc = lsp_rtmp_accept(s->r)) < 0)
		return rc;
	s->publishing = 1;
	s->t_start = s->win_start = now_ms();
	s->next_health = s->t_start + 1000;
	note(s, LSP_INFO, "publish started", NULL);
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

static void send_live(struct sess *s)
{
	char json[1024], remote[160];
	size_t o;
	lsp_json_escape(remote, sizeof remote, s->cfg->remote ? s->cfg->remote : "");
	o = (size_t)snprintf(json, sizeof json,
			     "{\"channel\":\"%s\",\"time\":%.3f,\"remote\":\"%s\",\"video_codec\":%s,"
			     "\"audio_codec\":%s",
			     s->channel, wall_s(), remote,
			     lsp_tsmux_has_video(s->mux) ? "\"h264\"" : "null",
			     lsp_tsmux_has_audio(s->mux) ? "\"aac\"" : "null");
	if (o < sizeof json && s->width > 0 && s->height > 0)
		o += (size_t)snprintf(json + o, sizeof json - o, ",\"width\":%d,\"height\":%d",
				      (int)s->width, (int)s->height);
	if (o < sizeof json)
		snprintf(json + o, sizeof json - o, "}");
	bus_send(s, "live", json);
	s->live_sent = 1;
}

static void send_health(struct sess *s, int64_t now)
{
	char json[768];
	double secs = (now - s->win_start) / 1000.0;
	uint64_t bytes = lsp_rtmp_bytes_in(s->r);
	if (secs <= 0)
		secs = 1;
	snprintf(json, sizeof json,
		 "{\"channel\":\"%s\",\"time\":%.3f,\"bitrate_kbps\":%.1f,\"fps\":%.2f,"
		 "\"keyframe_interval_s\":%.3f,\"video_ts_ms\":%lld,\"audio_ts_ms\":%lld,"
		 "\"av_drift_ms\":%lld,\"dropped\":%lld}",
		 s->channel, wall_s(), (double)(bytes - s->win_bytes) * 8 / 1000 / secs,
		 s->win_frames / secs, s->kf_prev >= 0 && s->kf_last > s->kf_prev ? (s->kf_last - s->kf_prev) / 1000.0 : 0,
		 (long long)(s->have_v ? s->v_ts : -1), (long long)(s->have_a ? s->a_ts : -1),
		 (long long)(s->have_v && s->have_a ? s->v_ts - s->a_ts : 0), s->dropped);
	bus_send(s, "health", json);
	s->win_bytes = bytes;
	s->win_frames = 0;
	s->win_start = now;
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
	if ((rc = lsp_tsmux_close(s->mux, s->err, sizeof s->err)) < 0 && rc != -EPIPE)
		note(s, LSP_WARN, "TS trailer failed", s->err);
	s->mux = NULL;
	if (s->out_owned && s->outfd >= 0)
		close(s->outfd);
	s->outfd = -1;
	note(s, LSP_INFO, "publish stopped", reason);
	if (s->bus) {
		snprintf(json, sizeof json,
			 "{\"channel\":\"%s\",\"time\":%.3f,\"reason\":\"%s\",\"duration_s\":%.3f,\"bytes\":%llu}",
			 s->channel, wall_s(), reason, (now_ms() - s->t_start) / 1000.0,
			 (unsigned long long)lsp_rtmp_bytes_in(s->r));
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

int lsp_ingest_serve(const lsp_ingest_cfg *cfg, int fd, int stopfd, char *err, size_t errcap)
{
	struct sess s;
	uint8_t buf[16384];
	const char *reason = NULL;
	int result = 1, rc, last_stage = -1;
	int64_t deadline = 0;

	memset(&s, 0, sizeof s);
	s.cfg = cfg;
	s.fd = fd;
	s.lockfd = s.outlockfd = s.outfd = -1;
	s.kickfd[0] = s.kickfd[1] = -1;
	s.kf_last = s.kf_prev = -1;
	if (!(s.r = lsp_rtmp_new((uint32_t)now_ms(), (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32)))) {
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
		now = now_ms();
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
		rc = poll(pf, 3, (int)tmo); /* negative fds are ignored */
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errcap, "poll: %s", strerror(errno));
			result = -EIO;
			reason = "poll failed";
			break;
		}
		if (stopfd >= 0 && (pf[1].revents & POLLIN)) {
			reason = "shutdown";
			break;
		}
		if (s.kickfd[0] >= 0 && (pf[2].revents & POLLIN)) {
			reason = "kicked";
			note(&s, LSP_WARN, "publish kicked", "lsp.ctl kick (suspended, key rotated or deleted)");
			break;
		}
		now = now_ms();
		if (s.publishing && now >= s.next_health) {
			send_health(&s, now);
			s.next_health += 1000;
			if (s.next_health <= now)
				s.next_health = now + 1000;
		}
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (now >= deadline) {
				reason = "timeout";
				note(&s, LSP_WARN, "timeout", lsp_rtmp_stage_name(stage));
				break;
			}
			continue;
		}
		ssize_t n = read(fd, buf, sizeof buf < lsp_rtmp_space(s.r) ? sizeof buf : lsp_rtmp_space(s.r));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			reason = n == 0 ? "disconnect" : "read error";
			break;
		}
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
				} else if ((rc = lsp_rtmp_accept(s.r)) < 0) {
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
	if (s.publishing)
		end_publish(&s, reason ? reason : "ended");
	if (s.lockfd >= 0)
		close(s.lockfd);
	if (s.outlockfd >= 0)
		close(s.outlockfd);
	if (s.kick_sub)
		lsp_bus_unsubscribe(s.kick_sub);
	lsp_bus_close(s.bus);
	for (int i = 0; i < 2; i++)
		if (s.kickfd[i] >= 0)
			close(s.kickfd[i]);
	lsp_rtmp_free(s.r);
	return result;
}
