/* ingest.c — one publisher connection's session; see ingest.h and, for
 * how the pieces share it, ingest_int.h.
 *
 * Stages and their timeouts (the RTMP stage names come from lib/rtmp):
 *   handshake_*                       cfg->hs_timeout_s from accept
 *   wait_connect .. publish_pending   cfg->cmd_timeout_s from the handshake's end
 *   publishing                        cfg->media_timeout_s since the last message
 * The session owns: the rtmp object, the publish lock fd, the output fd
 * (and the --exec child), the muxer and the bus connection.  This file
 * holds what every protocol shares: events, the locks, the output, the
 * start and end of a publish, the stop/kick check and the protocol table;
 * NATS is ingest_bus.c, RTMP(S) ingest_rtmp.c, TS passthrough ingest_ts.c. */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/spawn.h"

int lsp_ingest_expand(const char *tmpl, const char *channel, char *out, size_t cap)
{
	return lsp_spawn_expand(tmpl, channel, out, cap);
}

/* ---- events ---- */

void ingest_emit(const lsp_ingest_cfg *cfg, int level, const char *name, const char *channel, const char *reason,
		 const char *stage, long long bytes, double duration_s, int status)
{
	lsp_event_emit(cfg->event, cfg->event_ctx, level, name, "channel", LSV_S(channel ? channel : ""), "remote",
		       LSV_S(cfg->remote ? cfg->remote : ""), "reason", LSV_S(reason ? reason : ""), "stage",
		       LSV_S(stage ? stage : ""), "bytes", LSV_I(bytes), "duration_s", LSV_D(duration_s), "status",
		       LSV_I(status), NULL);
}

void ingest_note(struct sess *s, int level, const char *name, const char *reason)
{
	ingest_emit(s->cfg, level, name, s->channel, reason,
		    s->r ? lsp_rtmp_stage_name(lsp_rtmp_stage(s->r)) : s->proto, s->bytes_in,
		    s->publishing ? (lsp_clock_mono_ms() - s->t_start) / 1000.0 : 0, -1);
}

/* ---- locks and output ---- */

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

int ingest_open_output(struct sess *s)
{
	int rc;
	if (s->outfd >= 0)
		return 0;
	if ((rc = open_output(s)) < 0) {
		snprintf(s->err, sizeof s->err, "output: %s", strerror(-rc));
		return rc;
	}
	if (s->mux)
		lsp_tsmux_set_fd(s->mux, s->outfd);
	return 0;
}

/* ---- publish start and end ---- */

static void refuse(struct sess *s, const char *code, const char *text)
{
	if (s->r)
		lsp_rtmp_refuse(s->r, code, text);
}

int ingest_start_publish(struct sess *s, const char *key)
{
	const char *reason = "unknown key";
	int rc;
	if (s->cfg->auth(s->cfg->ctx, key, s->channel, sizeof s->channel, &reason) < 0) {
		ingest_note(s, LSP_WARN, LSP_INGEST_EV_REFUSED, reason);
		refuse(s, "NetStream.Publish.BadName", "stream key refused");
		return 1;
	}
	if ((rc = take_lock(s)) < 0) {
		if (rc == -EWOULDBLOCK) {
			ingest_note(s, LSP_WARN, LSP_INGEST_EV_REFUSED, "channel busy");
			refuse(s, "NetStream.Publish.BadName", "channel busy");
			return 1;
		}
		snprintf(s->err, sizeof s->err, "publish lock: %s", strerror(-rc));
		ingest_note(s, LSP_ERROR, LSP_INGEST_EV_REFUSED, s->err);
		refuse(s, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if ((rc = take_out_lock(s)) < 0) {
		ingest_note(s, LSP_WARN, LSP_INGEST_EV_REFUSED, rc == -EWOULDBLOCK ? "output busy" : strerror(-rc));
		refuse(s, "NetStream.Publish.BadName", "output busy");
		return rc == -EWOULDBLOCK ? 1 : rc;
	}
	if (ingest_admit(s))
		return 1;
	/* RTMP opens the output at its first media frame (ingest_open_output):
	 * a stream refused for its codec never starts the --exec pipeline */
	if (!s->r && (rc = open_output(s)) < 0) {
		snprintf(s->err, sizeof s->err, "output: %s", strerror(-rc));
		ingest_note(s, LSP_ERROR, LSP_INGEST_EV_REFUSED, s->err);
		refuse(s, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if (s->r && (rc = lsp_tsmux_open(&s->mux, -1, s->err, sizeof s->err)) < 0) {
		ingest_note(s, LSP_ERROR, LSP_INGEST_EV_REFUSED, s->err);
		refuse(s, "NetStream.Publish.Rejected", "server error");
		return rc;
	}
	if (s->cfg->nats_url && *s->cfg->nats_url)
		ingest_bus_open(s);
	if (s->r && (rc = lsp_rtmp_accept(s->r)) < 0)
		return rc;
	s->publishing = 1;
	s->t_start = s->win_start = lsp_clock_mono_ms();
	s->next_health = s->t_start + 1000;
	ingest_note(s, LSP_INFO, LSP_INGEST_EV_STARTED, NULL);
	return 0;
}

const char *ingest_control(struct sess *s, const struct pollfd *pf)
{
	if (pf[1].fd >= 0 && (pf[1].revents & POLLIN))
		return "shutdown";
	if (s->kickfd[0] >= 0 && (pf[2].revents & POLLIN)) {
		ingest_note(s, LSP_WARN, LSP_INGEST_EV_KICKED, "lsp.ctl kick (suspended, key rotated or deleted)");
		return "kicked";
	}
	return NULL;
}

static void end_publish(struct sess *s, const char *reason)
{
	int rc;
	if (s->mux && (rc = lsp_tsmux_close(s->mux, s->err, sizeof s->err)) < 0 && rc != -EPIPE)
		ingest_note(s, LSP_WARN, "TS trailer failed", s->err);
	s->mux = NULL;
	if (s->out_owned && s->outfd >= 0)
		close(s->outfd);
	s->outfd = -1;
	ingest_note(s, LSP_INFO, LSP_INGEST_EV_STOPPED, reason);
	ingest_send_ended(s, reason);
	if (s->child > 0) {
		int st = 0, i;
		pid_t w = 0;
		for (i = 0; i < 100 && (w = waitpid(s->child, &st, WNOHANG)) == 0; i++)
			usleep(100000);
		if (w == s->child) {
			int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			ingest_emit(s->cfg, status ? LSP_WARN : LSP_INFO, "exec command exited", s->channel, NULL, NULL, 0,
				    0, status);
		} else {
			ingest_emit(s->cfg, LSP_WARN, "exec command exited", s->channel,
				    "still running after 10 s; left to finish", NULL, 0, 0, -1);
		}
		s->child = 0;
	}
	s->publishing = 0;
}

void ingest_sess_init(struct sess *s, const lsp_ingest_cfg *cfg, int fd, const char *proto)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->fd = fd;
	s->proto = proto;
	s->lockfd = s->outlockfd = s->outfd = -1;
	s->kickfd[0] = s->kickfd[1] = -1;
	s->kf_last = s->kf_prev = -1;
}

void ingest_sess_end(struct sess *s, const char *reason)
{
	if (s->publishing)
		end_publish(s, reason ? reason : "ended");
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->outlockfd >= 0)
		close(s->outlockfd);
	ingest_bus_close(s);
}

/* ---- the protocol table ---- */

const lsp_ingest_proto lsp_ingest_protos[] = {
	{ "rtmp", ingest_serve_rtmp },
	{ "rtmps", ingest_serve_rtmps },
	{ "srt", ingest_serve_ts },
	{ NULL, NULL },
};

const lsp_ingest_proto *lsp_ingest_proto_find(const char *name)
{
	for (const lsp_ingest_proto *p = lsp_ingest_protos; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}
