/* ingest_bus.c — a publish on NATS (lib/bus): .live once media flows,
 * .health once a second, .ended at the end, and the kick subscription.
 * The .health report carries the channel's lsp-transcode status (shed
 * level, rungs encoded, shed and idle) as "transcode" while its status
 * file is fresh (transcode_field).  It is also published, with or
 * without NATS, as the status file <run_dir>/<channel>.health.json (atomic rename; removed when
 * the publish ends), which lsp-api reads when it has no NATS report.  Its
 * "bframes" is true once the source showed B-frames (an FLV composition
 * time offset other than 0, or a TS video PES whose DTS differs from its
 * PTS): WebRTC viewers then get a transcoded rung, and the studio tells
 * the creator to turn them off.
 *
 * Kick: while publishing with NATS, the session subscribes to
 * lsp.ctl.<channel>.kick (lsp-api sends it on suspension, key rotation and
 * channel deletion); the nats.c thread only writes a byte to a pipe that
 * the poll loop watches (ingest_control), and the publish ends with reason
 * "kicked".  The session (ingest_int.h) owns the bus connection, the
 * subscription and the pipe; this file opens and closes them. */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus/subjects.h"
#include "core/clock.h"
#include "core/fsio.h"
#include "core/log.h"

/* The largest transcoder status taken into a health report, which stays
 * under 1024 bytes (lsp-api keeps no longer one: api/health.h). */
#define TRANSCODE_FIELD_MAX 480

static double wall_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void bus_send(struct sess *s, const char *what, const char *json)
{
	char subj[LSP_SUBJ_CAP];
	if (!s->bus)
		return;
	if (lsp_subject_stream(subj, sizeof subj, s->channel, what) < 0)
		return;
	if (lsp_bus_publish(s->bus, subj, json, s->err, sizeof s->err) < 0)
		ingest_note(s, LSP_WARN, "nats publish failed", s->err);
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

void ingest_bus_open(struct sess *s)
{
	char subj[LSP_SUBJ_CAP];
	if (lsp_bus_open_ev(&s->bus, s->cfg->nats_url, 2000, "lsp-ingest", s->cfg->event, s->cfg->event_ctx, s->err,
			    sizeof s->err) < 0) {
		ingest_note(s, LSP_WARN, "nats unavailable; ingesting without it", s->err);
		s->bus = NULL;
		return;
	}
	(void)lsp_subject(subj, sizeof subj, LSP_SUBJ_KICK, s->channel);
	if (pipe2(s->kickfd, O_CLOEXEC | O_NONBLOCK) < 0) {
		s->kickfd[0] = s->kickfd[1] = -1;
		ingest_note(s, LSP_WARN, "kick not available", strerror(errno));
	} else if (lsp_bus_subscribe(s->bus, subj, on_kick, s, &s->kick_sub, s->err, sizeof s->err) < 0) {
		s->kick_sub = NULL;
		ingest_note(s, LSP_WARN, "kick not available", s->err);
	}
}

void ingest_bus_close(struct sess *s)
{
	if (s->kick_sub)
		lsp_bus_unsubscribe(s->kick_sub);
	s->kick_sub = NULL;
	lsp_bus_close(s->bus);
	s->bus = NULL;
	for (int i = 0; i < 2; i++) {
		if (s->kickfd[i] >= 0)
			close(s->kickfd[i]);
		s->kickfd[i] = -1;
	}
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

void ingest_send_live(struct sess *s)
{
	char json[1024], remote[160], vc[24], ac[24];
	const char *v, *a;
	size_t o;
	if (s->mux) {
		v = lsp_tsmux_video_codec(s->mux);
		a = lsp_tsmux_audio_codec(s->mux);
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

static void health_file_name(const struct sess *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s.health.json", s->channel);
}

/* ,"transcode":{...} — the channel's lsp-transcode status file
 * <run_dir>/<channel>.transcode.json (lsp-transcode --status, which
 * lsp-channel passes) when it was written within the last 5 s, is one
 * JSON object on one line and fits; else nothing.  The length. */
static size_t transcode_field(const struct sess *s, char *out, size_t cap)
{
	char path[4096], buf[TRANSCODE_FIELD_MAX];
	struct stat sb;
	ssize_t n;
	int fd, ok = 0;
	out[0] = 0;
	if (!s->cfg->run_dir ||
	    (size_t)snprintf(path, sizeof path, "%s/%s.transcode.json", s->cfg->run_dir, s->channel) >= sizeof path ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		return 0;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_mtime + 5 >= time(NULL) && sb.st_size > 1 &&
	    (size_t)sb.st_size < sizeof buf && (n = read(fd, buf, sizeof buf - 1)) == sb.st_size) {
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = 0;
		ok = n > 1 && buf[0] == '{' && buf[n - 1] == '}' && strcspn(buf, "\n\r") == (size_t)n;
	}
	close(fd);
	if (!ok || (size_t)snprintf(out, cap, ",\"transcode\":%s", buf) >= cap) {
		out[0] = 0;
		return 0;
	}
	return strlen(out);
}

static void send_health(struct sess *s, int64_t now)
{
	char json[1024], org[200] = "", name[96], tc[TRANSCODE_FIELD_MAX + 16];
	int n;
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
		s->bframes |= t->bframes;
	}
	origin_field(org, sizeof org);
	n = snprintf(json, sizeof json,
		     "{\"channel\":\"%s\",\"time\":%.3f,\"bitrate_kbps\":%.1f,\"fps\":%.2f,"
		     "\"keyframe_interval_s\":%.3f,\"video_ts_ms\":%lld,\"audio_ts_ms\":%lld,"
		     "\"av_drift_ms\":%lld,\"dropped\":%lld,\"bframes\":%s%s",
		     s->channel, wall_s(), (double)(bytes - s->win_bytes) * 8 / 1000 / secs, s->win_frames / secs,
		     s->kf_prev >= 0 && s->kf_last > s->kf_prev ? (s->kf_last - s->kf_prev) / 1000.0 : 0,
		     (long long)(s->have_v ? s->v_ts : -1), (long long)(s->have_a ? s->a_ts : -1),
		     (long long)(s->have_v && s->have_a ? s->v_ts - s->a_ts : 0), s->dropped,
		     s->bframes ? "true" : "false", org);
	if (n > 0 && (size_t)n + 1 < sizeof json) {
		size_t tl = transcode_field(s, tc, sizeof tc);
		if ((size_t)n + tl + 1 < sizeof json) { /* else the report goes without it */
			memcpy(json + n, tc, tl);
			n += (int)tl;
		}
		json[n++] = '}';
		json[n] = 0;
	}
	bus_send(s, "health", json);
	health_file_name(s, name, sizeof name);
	if (s->cfg->run_dir && n > 0 && (size_t)n < sizeof json &&
	    lsp_fsio_publish(s->cfg->run_dir, name, json, (size_t)n, 0, s->err, sizeof s->err) < 0 &&
	    !s->warned_health) {
		ingest_note(s, LSP_WARN, "health file not written", s->err);
		s->warned_health = 1;
	}
	s->win_bytes = bytes;
	s->win_frames = 0;
	s->win_start = now;
}

/* Once a second while publishing: .health (and, for a TS source whose PMT
 * was never seen, .live on the first tick with data). */
void ingest_health_tick(struct sess *s, int64_t now)
{
	if (!s->publishing || now < s->next_health)
		return;
	if (s->scan && !s->live_sent && s->bytes_in > 0)
		ingest_send_live(s);
	send_health(s, now);
	s->next_health += 1000;
	if (s->next_health <= now)
		s->next_health = now + 1000;
}

void ingest_send_ended(struct sess *s, const char *reason)
{
	char json[512], name[96], e2[128];
	health_file_name(s, name, sizeof name);
	if (s->cfg->run_dir)
		(void)lsp_fsio_unlink(s->cfg->run_dir, name, e2, sizeof e2);
	if (!s->bus)
		return;
	snprintf(json, sizeof json,
		 "{\"channel\":\"%s\",\"time\":%.3f,\"reason\":\"%s\",\"duration_s\":%.3f,\"bytes\":%llu}",
		 s->channel, wall_s(), reason, (lsp_clock_mono_ms() - s->t_start) / 1000.0,
		 (unsigned long long)s->bytes_in);
	bus_send(s, "ended", json);
	if (lsp_bus_flush(s->bus, 1000, s->err, sizeof s->err) < 0)
		ingest_note(s, LSP_WARN, "nats flush failed", s->err);
}
