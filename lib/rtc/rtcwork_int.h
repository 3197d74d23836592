/* rtcwork_int.h — what the two halves of lsp-rtc's --workers share (not
 * an API): rtcsuper.c (the supervisor: listener, routing, workers' lives,
 * the loop) and rtcwork.c (the control socket, both ends: handed
 * connections, forwarded events, /stats summed).  See rtcwork.c for the
 * picture and the message formats. */
#ifndef LSP_RTCWORK_INT_H
#define LSP_RTCWORK_INT_H
#include <stddef.h>
#include <sys/types.h>

#include "rtc/rtc_int.h"

#define STATS_CAP 98304      /* one worker's three /stats lists */
#define STATS_WAIT_MS 3000   /* /stats: how long the workers may take */
#define STOP_WAIT_MS 5000    /* stop: how long workers may take to end */
#define RESTART_MIN 250
#define RESTART_MAX 8000
#define YOUNG_MS 5000        /* a worker dead sooner died young */
#define EV_MAX 4096          /* an event message */
#define CTL_SNDBUF (256 << 10)
#define AFF_MAX 256          /* channels whose workers the supervisor remembers */
#define AFF_STICK_MS 10000   /* a channel handed to a worker stays there this long */
/* A new viewer joins a worker already serving its channel unless that one
 * carries this many more sessions than the least-loaded worker. */
#define SPILL 50

/* A worker's /stats: counters, totals, and the lengths of the lists that
 * follow it in the message. */
struct wstats {
	char tag; /* 'T' */
	int sessions_total;
	long long relays_total;
	struct counters c;
	size_t len[3];
};

struct pend {            /* a connection whose request head is not whole yet */
	int fd;
	size_t len;
	long long t0;
	char peer[64];
	char buf[REQ_MAX];
};

struct worker {
	pid_t pid;               /* 0: not running */
	int ctl;                 /* our end of its control socket; -1 */
	int udp, port;           /* its media socket (ours, inherited) */
	int tcp, tport;          /* its ICE-TCP listener (ours, inherited), -1 none */
	int load, inflight;      /* sessions + relay clients; offers handed in this tick */
	int viewers, publishers; /* connected now */
	int restarts;
	long long started, next_start, backoff;
};

/* Which workers serve a channel: its sessions and relay clients on each,
 * and where it was last handed (an offer's event comes only once it is
 * answered; an edge's offer may wait seconds for its origin). */
struct aff {
	char name[LSP_NAME_MAX + 1];
	int n[LSP_RTC_WORKERS_MAX];
	int last_w;
	long long last_t;
};

struct super {
	const lsp_rtc_cfg *cfg;
	struct aff aff[AFF_MAX];
	int http, stopfd, nw, rr;
	pid_t self;
	struct worker w[LSP_RTC_WORKERS_MAX];
	struct pend *p[MAX_CONN];
	long long now, evicted;
	uint8_t *msg;            /* one control message in (MSG_CAP) */
	char **xargv;            /* a worker's exec: argv[0], flag, spec, cfg->argv[1..] */
	char flag[16], spec[128];
	struct pendtab *pt;      /* every worker's WHEP sessions not yet connected (rtcpend.c) */
	lsp_ratelim pend_rl;
	long long offers_refused;
};

#define MSG_CAP (sizeof(struct wstats) + STATS_CAP + 64)
/* rtcwork.c */
int rtc_untag(char c);                       /* the worker a session id names, or -1 */
void rtc_fwd_event(void *ctx, const lsp_event *ev); /* a worker's cfg->event (ctx: int *ctl) */
/* An event of the supervisor's own to cfg->event (key, lsp_logv pairs, NULL). */
void rtc_super_emit(struct super *s, int level, const char *name, ...);
/* Channel name's entry (add: make one if need be), or NULL. */
struct aff *rtc_aff_get(struct super *s, const char *name, int add);
/* Read what worker i sent: its events are passed on; a /stats reply is
 * merged into st and lists when st is given.  The tag of the last message
 * ('T' for a reply), 0 for none, -1 when the worker is gone (ctl closed). */
int rtc_super_drain(struct super *s, int i, struct wstats *st, char *const lists[3], size_t lens[3], size_t cap);
void rtc_super_stats(struct super *s, int fd); /* answer GET /stats on fd */

/* rtcpend.c: the supervisor's count of pending WHEP sessions per address */
int rtc_pt_new(struct super *s);                 /* 0, -1 out of memory */
void rtc_pt_free(struct super *s);
int rtc_pt_count(struct super *s, const char *addr);
void rtc_pt_event(struct super *s, int worker, const lsp_event *ev); /* play offer, viewer connected/gone */
void rtc_pt_worker_gone(struct super *s, int worker);

/* rtcsuper.c */
int rtc_super_alive(const struct super *s, int i); /* running, control socket open */

#endif
