/* ingest_int.h — inside lib/ingest's connection code (ingest.h is the
 * public side).  One session per connection, split by concern:
 *
 *   ingest.c       the session: events, locks, output, publish start and
 *                  end, the stop/kick check, the protocol table
 *   ingest_bus.c   NATS: .live/.health/.ended and the kick subscription
 *   ingest_rtmp.c  RTMP and RTMPS (TLS) over lib/rtmp, lsp_ingest_serve
 *   ingest_ts.c    MPEG-TS passthrough (SRT), watched by lib/tsscan
 *   ingest_hook.c  the admission webhook asked at publish start
 *
 * A session lives on its protocol's serve function's stack; that function
 * owns it from ingest_sess_init to ingest_sess_end. */
#ifndef LSP_INGEST_INT_H
#define LSP_INGEST_INT_H
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus/bus.h"
#include "ingest/ingest.h"
#include "ingest/rtmp.h"
#include "ingest/tsmux.h"
#include "ingest/tsscan.h"

struct ssl_st; /* OpenSSL's SSL */

struct sess {
	const lsp_ingest_cfg *cfg;
	int fd;
	struct ssl_st *ssl;     /* RTMPS: TLS over fd; NULL for plain RTMP and SRT */
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
	int live_sent;
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
	int bframes, warned_health; /* the source reorders (health "bframes") */
	char err[256];
};

/* ---- ingest.c: the session ---- */

/* One event with ingest.h's fields (NULL strings are sent as ""). */
void ingest_emit(const lsp_ingest_cfg *cfg, int level, const char *name, const char *channel, const char *reason,
		 const char *stage, long long bytes, double duration_s, int status);
/* An event about session s (its channel, stage, bytes, duration). */
void ingest_note(struct sess *s, int level, const char *name, const char *reason);
void ingest_sess_init(struct sess *s, const lsp_ingest_cfg *cfg, int fd, const char *proto);
/* Every session's one teardown: end a running publish, drop the locks,
 * the kick subscription and the bus. */
void ingest_sess_end(struct sess *s, const char *reason);
/* Check key, lock the channel, open the output (and the muxer for RTMP),
 * the bus and the kick: 0 publishing, 1 refused (already reported, the
 * RTMP refusal queued), negative on a failure (s->err says which). */
int ingest_start_publish(struct sess *s, const char *key);
/* Open the output (-o file, --exec child or stdout) if not open yet and
 * hand it to the muxer; RTMP calls it at the first media frame.  0 or a
 * negative code (s->err says why). */
int ingest_open_output(struct sess *s);
/* pf[1] the stop signal, pf[2] the kick pipe: the reason to end, or NULL. */
const char *ingest_control(struct sess *s, const struct pollfd *pf);

/* ---- ingest_bus.c: NATS ---- */

/* Connect (a failure is a warning) and subscribe to the channel's kick. */
void ingest_bus_open(struct sess *s);
void ingest_send_live(struct sess *s);
/* Once a second while publishing: .health (and, for a TS source whose PMT
 * was never seen, .live on the first tick with data). */
void ingest_health_tick(struct sess *s, int64_t now);
/* .ended with reason, then a flush; nothing without a bus. */
void ingest_send_ended(struct sess *s, const char *reason);
void ingest_bus_close(struct sess *s);

/* ---- ingest_hook.c: admission ---- */

/* Ask cfg->hook_url whether s may publish: 0 admitted (or no webhook), 1
 * refused (already reported, the RTMP refusal queued). */
int ingest_admit(struct sess *s);

/* ---- the protocols (lsp_ingest_protos) ---- */

int ingest_serve_rtmp(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap);
int ingest_serve_rtmps(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap);
int ingest_serve_ts(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap);

#endif
