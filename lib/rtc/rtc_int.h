/* rtc_int.h — what the pieces of the lsp-rtc server share (not an API):
 * the server (struct rtc), its channel table (struct chan: a ring reader or
 * an origin connection, the H.264 packetizer and its history, the Opus
 * encoder), sessions (struct sess), HTTP connections (struct conn) and
 * relay clients (struct relayc), and the functions the files call across.
 *
 *   rtc.c        the server object and the event loop (lsp_rtc_run), timers
 *   rtcchan.c    the channel table: find/add/drop, ring pump, packetizer,
 *                fan-out of video and Opus to the channel's viewers
 *   rtcsess.c    sessions: UDP in (STUN/ICE, DTLS, SRTP/SRTCP), RTCP out,
 *                keyframe requests to WHIP publishers, the consent timer
 *   rtcorigin.c  relay, origin side: edges reading our rings (GET /relay/C)
 *   rtcedge.c    relay, edge side: a channel's connection to its origin
 *   rtchttp.c    HTTP signalling: WHEP/WHIP offers, DELETE, /stats
 *   rtcpend.c    half-open WHEP sessions capped per client address
 *   rtctcp.c     ICE-TCP: connections to the passive TCP candidate, RFC 4571
 *                framing both ways, bounded output queues
 *   rtcabr.c     a viewer's rung: the channel's ladder, switching a session
 *                between rungs at a keyframe, the automatic choice (REMB,
 *                RR loss), POST/GET <session>/layer
 *   rtcwork.c    --workers N: the supervisor (HTTP listener, routing of
 *                requests to workers, restarts, /stats) and a worker's
 *                side of its control socket (handed connections, events)
 *
 * One thread: nothing here locks.  The server owns everything; sessions,
 * relay clients and parked offers borrow their channel (chan_users). */
#ifndef LSP_RTC_INT_H
#define LSP_RTC_INT_H
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/event.h"
#include "core/http.h"
#include "core/key.h"
#include "core/ratelim.h"
#include "media/ring.h"
#include "rtc/aopus.h"
#include "rtc/dtls.h"
#include "rtc/rtc.h"
#include "rtc/rtcrelay.h"
#include "rtc/rtp.h"
#include "rtc/stun.h"
#include "rtc/tcpframe.h"
#include "rtc/whip.h"

#define MAX_CHAN 64
#define HIST 4096          /* video packets kept per channel (NACK, last GOP) */
#define PAY_MAX 1160       /* RTP payload bytes at most (datagram <= 1200 with SRTP) */
/* Signalling connections held at once.  When all are taken, a new one
 * takes the place of the oldest that has not sent its whole request (a
 * browser sends its offer at once; idle sockets cannot lock it out). */
#define MAX_CONN 256
#define REQ_MAX 32768
#define AU_MAX (4u << 20)
#define TICK_MS 250
#define MAX_RELAY 64       /* edges reading our rings */
#define RELAY_PING_MS 1000 /* origin: a ping after this long without a frame */
#define UP_SILENT_MS 5000  /* edge: an origin silent this long is gone */
#define UP_SETUP_MS 3000   /* edge: connect + response head */
#define UP_BACKOFF_MIN 250
#define UP_BACKOFF_MAX 5000
#define PARK_MS 4000       /* edge: an offer waits this long for its origin */
#define RELAY_KEYREQ_MS 500 /* keyframe requests passed up the relay tree: one per channel this often */

/* ICE-TCP (rtctcp.c): connections to our passive TCP candidate, each
 * carrying one session once a STUN Binding request authenticates it. */
#define MAX_TCP 256            /* ICE-TCP connections held at once (per worker) */
#define TCP_UNBOUND_MAX 64     /* ...of them not carrying a session yet */
#define TCP_UNBOUND_MS 10000   /* a connection carrying no session is closed after this */
#define TCP_OUTQ (256 << 10)   /* bytes queued for one connection at most */
#define TCP_STALL_MS 5000      /* a queue the peer has not taken from this long: closed */

enum { S_FREE = 0, S_NEW, S_LIVE };

/* The local address a datagram came in on (IP_PKTINFO, IPV6_PKTINFO): on a
 * socket bound to every address, a reply must leave from the address the
 * peer sent to, or its ICE stack (which checks the source) drops it. */
struct laddr {
	int family;        /* AF_INET, AF_INET6; 0: unknown (the kernel picks) */
	int ifindex;
	struct in_addr a4;
	struct in6_addr a6;
};
/* Room for the control messages of one send: a UDP GSO segment size and
 * the source address. */
#define RTC_CMSG_CAP (CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)))

struct vpkt {
	uint64_t cseq, frame;
	uint32_t ts;
	uint16_t len;
	uint8_t marker;
	uint8_t d[PAY_MAX];
};

/* Edge mode: the channel's connection to its origin (fd valid unless
 * state == UP_IDLE).  result tells parked offers how the last attempt
 * ended: 0 none yet, 200 streaming, else the status to answer. */
enum { UP_IDLE = 0, UP_CONNECT, UP_HEAD, UP_STREAM };
struct upstream {
	int fd, state;
	char url[160];
	char req[512];
	size_t reqlen;
	char head[4096];
	size_t hlen;
	lsp_rtcrelay_rd rd;
	long long t0, stream_t0, last_rx, next_try, backoff, last_route;
	int result;
	long long result_at;
	int fails, ever;            /* consecutive failures; ever connected */
	int have_gen, have_seq;
	uint64_t gen, gen_id, seq;  /* origin ring generation and identity, next seq expected */
	struct { uint64_t seq; int64_t pts; } seen[1024]; /* recent entries: tells a resent one */
	long long connects, reconnects, bytes, frames, gaps, restarts;
	long long bytes_rep;        /* of bytes, reported in an event */
	/* relay tier: what comes from the origin, kept for our own relay
	 * clients (rtcedge.c) in a private ring nobody else maps */
	lsp_ring *fwd;              /* made for the first relay client; NULL before */
	uint64_t fwd_epoch, fwd_id; /* bumped / new with each new upstream stream */
	int fwd_need_key;           /* entries were lost: nothing until a keyframe */
	/* keyframe requests up the tree (rtcedge.c sends, rtcorigin.c takes):
	 * the last one sent up (edge) / passed on (origin), per channel */
	int tx_preface;             /* the preface went up on this connection */
	long long keyreq_up_at, keyreq_in_at, keyreqs_up, keyreqs_in;
};

/* One rung of a channel's ladder as a viewer may be served it (rtcabr.c). */
#define LADDER_MAX 8
#define RUNG_NAME LSP_RTC_RUNG_MAX
struct rung {
	char name[RUNG_NAME]; /* "src" (the channel's own ring), "360p", … */
	int height;           /* 0: not known yet */
	uint32_t bps;         /* measured video rate, else the ladder's nominal; 0 unknown */
};

struct chan {
	int used;
	char name[LSP_NAME_MAX + RUNG_NAME + 2]; /* "CH", or a rung's own "CH~RUNG" */
	char path[256];
	lsp_ring *ring;
	uint64_t cur, gen;
	uint8_t *au;
	size_t aucap;
	struct vpkt *hist;
	uint64_t vseq, frame;   /* next packet number, frames packetized */
	uint64_t key_cseq;
	int have_key;
	uint32_t last_ts;       /* RTP (90 kHz) time of the newest frame */
	uint8_t sps[256], pps[256];
	size_t sps_len, pps_len;
	uint32_t pk_ts;         /* packetizer: current frame */
	int pk_first, pk_key;
	lsp_aopus *aop;
	int aop_failed;
	int nsess;
	long long idle_since, last_reopen;
	int anchored;
	long long anchor_ms;
	int64_t anchor_pts;
	long long overruns, aus;
	int bframes;            /* the source reorders (pts != dts seen) */
	int want_rung;          /* ...or no H.264 video: look for a transcoded rung's ring (CH~RUNG) */
	long long ring_since, ring_aus; /* the ring attached when (0: not yet ticked), aus then */
	int novideo;            /* said "source has no H.264 video" for this source */
	char rung[24];          /* the rung fed from instead of the source, "" none */
	long long rung_wanted;  /* last lsp_ring_want of that rung (lsp-transcode --on-demand) */
	int nrelay, nwait;      /* relay clients, parked offers using it */
	int rebase, have_last;  /* a new source: continue its time after last_t */
	int64_t shift, last_t;  /* added to the source's pts/dts; newest time out */
	uint64_t ring_epoch;    /* bumped whenever ring is replaced */
	uint64_t ring_id;       /* the ring file's identity (device, inode) */
	int relay;              /* edge mode: fed by up, never by a ring */
	struct upstream up;
	/* ABR (rtcabr.c).  A rung's own channel "CH~RUNG" (lad) carries only
	 * video for viewers of CH switched to that rung; its packets are made
	 * once, whatever the number of viewers on it. */
	int lad;
	int nvid;               /* sessions whose video is (or is about to be) from it, lad only */
	struct rung ladder[LADDER_MAX]; /* the base channel's rungs, tallest first */
	int nladder;
	long long ladder_at;    /* when it was last looked up */
	int width, height;      /* of the newest SPS */
	uint32_t fdur;          /* RTP ticks between the last two frames (0: not known) */
	long long rate_t0, rate_bytes; /* the video rate over the current window */
	uint32_t rate_bps;      /* ... over the last whole window */
	struct rtc *r;
};

struct sess {
	int state;
	struct rtc *r;
	char id[33];
	int whip;
	struct chan *ch;
	char chname[LSP_NAME_MAX + 1];
	char ufrag[16], pwd[40], peer_fp[128];
	int vpt, apt, nack;
	struct sockaddr_storage addr;
	socklen_t alen;
	int have_addr;
	struct laddr local;   /* where the peer sends to: our replies' source */
	struct tcpc *tcp;     /* ICE-TCP: the connection it runs on; NULL: UDP */
	char peer[48];        /* WHEP: the address that made the offer (rtcpend.c) */
	lsp_dtls *dtls;
	long long created, last_rx, last_sr;
	uint32_t vssrc, assrc, vts_off, ats_off;
	uint16_t vseq_off, aseq;
	uint64_t next;
	int waiting_key;
	uint64_t nack_floor;  /* no retransmission of packets before this */
	uint64_t burst_end, burst_frame;
	uint32_t burst_ts;
	long long vpkts, voct, apkts, aoct, nacks, rtx, plis;
	/* the rung served (rtcabr.c): video from vch (ch itself, or a rung's
	 * own channel), switching to pend at its next keyframe */
	struct chan *vch, *pend;
	long long pend_at;
	const char *pend_why;   /* the reason of the pending switch (a literal) */
	uint64_t remb;          /* the viewer's last REMB (bps), 0 none */
	long long remb_at;
	long long loss_since, last_switch, est_low_since;
	long long up_at;        /* when the last try up was made (0: it held, or none) */
	long long switches;
	uint32_t vlast_ts, vout_ts; /* RTP time of the last video packet sent: vch's, and as sent */
	int loss;               /* its last RR's fraction lost for our video, 0..255 */
	int up_fails;           /* tries up in a row that came back down soon */
	char pin[RUNG_NAME];    /* the rung the viewer chose; "" auto */
	/* WHIP */
	lsp_whip *pub;
	uint32_t pub_vssrc;
	long long last_pli;
};

struct conn {
	int fd;
	size_t len;
	long long t0;
	struct chan *park;      /* an offer waiting for its channel's origin */
	long long park_t;
	int parked;             /* it did wait: the next answer is final */
	size_t head;
	char peer[64];          /* "addr:port" */
	lsp_http_req rq;
	/* WHIP admission (rtcadmit.c): the webhook job asked for it (0: none
	 * pending), when the loop gives up on it, and whether it was admitted
	 * (the request is then handled again, without asking) */
	unsigned long long admit_id;
	long long admit_deadline;
	int admit_ok;
	char admit_ch[LSP_NAME_MAX + 1];
	char buf[REQ_MAX];
};

/* Origin side: an edge reading one channel (GET /relay/C), fed from the
 * channel's ring with its own cursor; at most one frame pending. */
struct relayc {
	int fd;
	struct chan *ch;
	uint64_t cur, gen, epoch;
	int have_gen, sent_end;
	uint8_t *ob;
	size_t obcap, olen, ooff;
	long long t0, last_tx, bytes, frames, skips;
	long long bytes_rep;    /* of bytes, reported in an event */
	char peer[64];
	lsp_rtcrelay_rd in;     /* what the edge sends: keyframe requests, pings */
	long long keyreqs;
};

/* An ICE-TCP connection (RFC 6544 passive; RFC 4571 framing both ways).
 * Output that the socket does not take at once waits in q (TCP_OUTQ at
 * most, whole frames: one that does not fit is dropped). */
struct tcpc {
	int fd, idx;
	int dead;               /* to be closed by the loop (its session went) */
	struct sess *s;         /* the session it carries, or NULL */
	struct sockaddr_storage addr;
	socklen_t alen;
	char peer[64];
	char sid[33];           /* the id of the session it carried, "" none yet */
	long long seq;          /* order of acceptance: the oldest is evicted first */
	long long t0, last_rx, moved; /* opened, last bytes in, last bytes out (or queue start) */
	long long bytes_in, bytes_out, dropped;
	uint8_t *q;             /* NULL until first needed */
	size_t qoff, qlen;
	lsp_tcpframe_rd rd;
};

/* An HTTP answer being built. */
struct resp {
	int status;
	const char *ctype;
	char loc[128];
	const char *body;
	size_t blen;
	struct chan *park;  /* edge: wait for this channel's origin, then again */
	int taken;          /* the connection became a relay client */
	int admit;          /* WHIP: held for the admission webhook (rtcadmit.c) */
	int retry_after;    /* seconds for a Retry-After header; 0: none */
	char link[200];     /* a Link header (WHEP: the layer control), "" none */
};

struct counters {
	long long stun_bad, stun_auth, dtls_bad, rtp_bad, rtcp_bad, sdp_bad, http_bad, unknown, reaped,
		sent, send_err;
	long long srtp_auth, srtp_replay;         /* SRTP/SRTCP: bad tag, replayed or too old */
	long long http_evicted;                   /* idle signalling connections closed for a new one */
	long long offers_refused;                 /* WHEP offers over the per-address pending cap */
	long long srtp_auth_rep, srtp_replay_rep; /* as last reported ("srtp dropped") */
	long long tcp_accepted, tcp_bad, tcp_dropped, tcp_evicted; /* ICE-TCP: connections, bad frames,
								    * packets dropped (queue full), evicted */
};

struct rtc {
	const lsp_rtc_cfg *cfg;
	int udp, http;
	int udp_port;            /* the media port bound (cfg's, or the one port 0 got) */
	struct conn *conns[MAX_CONN];
	struct relayc *relays[MAX_RELAY];
	long long relays_total;
	int edge;                /* cfg->origin or cfg->origin_route */
	struct sess *sess;
	int nsess_max;
	struct chan chans[MAX_CHAN];
	lsp_dtls_cert *cert;
	struct counters c;
	long long now;
	long long last_report;   /* byte counts last reported */
	char ans[16384];  /* one response at a time */
	char sb[65536];
	uint8_t rx[65536]; /* edge: what one recv from an origin brings */
	int worker;        /* --workers: this worker's index; -1 when alone */
	int ctl;           /* worker: its socket to the supervisor; else -1 */
	int gso_off;       /* UDP GSO refused on this path: send datagram by datagram */
	lsp_ratelim pend_rl; /* "offer refused" once a second at most */
	int tcp_l;         /* ICE-TCP listener, -1 none */
	int tcp_port;
	struct tcpc *tcps[MAX_TCP];
	lsp_ratelim tcp_rl; /* "ice-tcp bad frame" a warning once a second at most */
	struct lsp_hookpool *hooks; /* WHIP admission POSTs (rtcadmit.c); NULL until the first */
	unsigned long long admit_seq;
};

/* An event to cfg->event: RTC_EMIT(r, LSP_INFO, "name", "key", LSV_S(v), …). */
#define RTC_EMIT(r, level, name, ...) \
	lsp_event_emit((r)->cfg->event, (r)->cfg->event_ctx, (level), (name), __VA_ARGS__, NULL)

/* rtc.c */
/* A server for cfg with its session table and DTLS certificate, no sockets
 * yet (udp, http -1; now 0).  0, or -errno with err filled. */
int rtc_new(struct rtc **out, const lsp_rtc_cfg *cfg, char *err, size_t errcap);
/* Close every relay client, connection, session and channel; free r. */
void rtc_free(struct rtc *r);
void rtc_rand_str(char *out, size_t n); /* n random alphanumerics + NUL */
uint32_t rtc_rand32(void);
/* The event loop over r's sockets until stopfd is readable (or, in a
 * worker, the supervisor goes): 0, or -errno with err filled. */
int rtc_loop(struct rtc *r, int stopfd, char *err, size_t errcap);
/* The media socket: UDP on host:port with room for bursts, telling each
 * datagram's local address (IP_PKTINFO); fd or -errno. */
int rtc_udp_open(const char *host, int port, char *err, size_t errcap);
/* "ip:port,[v6]:port" of the candidate addresses ips (comma-separated). */
void rtc_cand_str(const char *ips, int port, char *out, size_t cap);
/* The local address in a received message's control data (family 0 when
 * none). */
void rtc_laddr_get(struct msghdr *mh, struct laddr *out);
/* Control messages for one send into buf (RTC_CMSG_CAP bytes, aligned):
 * the GSO segment size when seg > 0, the source address l when known.
 * Their length (0: none; leave msg_control NULL then). */
size_t rtc_cmsg_put(void *buf, const struct laddr *l, uint16_t seg);

/* rtcchan.c */
/* The channel called name: the one in use, else a new one (edge: fed by
 * its origin; else reading its ring, which need_ring requires to exist
 * now).  NULL when the table is full, the name too long for a ring path,
 * memory is short, or need_ring and no ring. */
struct chan *rtc_chan_get(struct rtc *r, const char *name, int need_ring);
/* The channel in use called name, or NULL. */
struct chan *rtc_chan_find(struct rtc *r, const char *name);
void rtc_chan_drop(struct chan *c);               /* free it; its slot is free again */
int rtc_chan_users(const struct chan *c);         /* sessions + relay clients + parked offers */
void rtc_chan_unuse(struct rtc *r, struct chan *c); /* a user left: idle from now if none is left */
/* The source broke its continuity: viewers wait for the next keyframe;
 * with rebase, time continues after the last entry sent. */
void rtc_chan_restart(struct rtc *r, struct chan *c, int rebase);
/* One entry in from the channel's source (d: its len bytes); live: the
 * newest one the source had. */
void rtc_chan_entry(struct rtc *r, struct chan *c, const lsp_ring_entry *in, const uint8_t *d, int live);
void rtc_chan_pump(struct rtc *r, struct chan *c); /* read what the ring has new */
/* Timers: drop a channel idle for 10 s, look for a new ring writer. */
void rtc_chan_tick(struct rtc *r, struct chan *c);
/* Video packet cseq from the channel's history, or NULL if gone. */
const struct vpkt *rtc_hist_get(const struct chan *c, uint64_t cseq);
void rtc_send_vpkt(struct rtc *r, struct sess *s, const struct vpkt *p, int rtx);
void rtc_flush_viewers(struct rtc *r, struct chan *c); /* send viewers what they have not had */

/* rtcabr.c: a viewer's rung */
/* The ladder of base channel c (its own video first as "src" or its rung,
 * then the other rungs lsp-transcode writes, tallest first), looked up
 * again when older than a second. */
void rtc_ladder_update(struct rtc *r, struct chan *c);
/* The rung called name for a viewer of base channel c: the channel itself
 * or a rung's channel (made, reading its ring; fresh: from the live edge
 * rather than the last keyframe).  NULL when there is no such rung. */
struct chan *rtc_rung_chan(struct rtc *r, struct chan *c, const char *name, int fresh);
/* The name a viewer knows video channel v by ("src", "360p"). */
const char *rtc_rung_name(const struct chan *v);
/* Serve s from rung name at its next keyframe (at once when s is not live
 * yet); "" or "auto": the automatic choice.  pin: the viewer chose it.
 * 0, -ENOENT no such rung, -EBUSY no room for its channel. */
int rtc_sess_rung(struct rtc *r, struct sess *s, const char *name, int pin, const char *why);
/* A keyframe of video channel v is packetized from cseq key (ts its RTP
 * time): sessions switching to v move to it now. */
void rtc_abr_key(struct rtc *r, struct chan *v);
/* s goes on from packet key (RTP time ts, fdur after its last frame) of
 * another history: its sequence numbers and RTP time continue from the
 * last packet sent (vpkts of them), its cursor and NACK floor at key. */
void rtc_abr_rebase(struct sess *s, uint64_t key, uint32_t ts, uint32_t fdur);
void rtc_abr_tick(struct rtc *r, struct sess *s);       /* the automatic choice, pending switches */
void rtc_abr_rtcp(struct rtc *r, struct sess *s, const lsp_rtcp_info *in); /* REMB, RR loss */
void rtc_abr_release(struct rtc *r, struct sess *s);   /* s goes: its rung channels are free */
/* GET/POST <session>/layer: the answer in rs (its body in out). */
void rtc_layer_http(struct rtc *r, struct sess *s, int post, const char *body, size_t blen, struct resp *rs,
		    char *out, size_t cap);

/* rtcsess.c */
struct sess *rtc_sess_new(struct rtc *r);   /* a free slot, zeroed; NULL if none */
void rtc_sess_free(struct rtc *r, struct sess *s, const char *why);
void rtc_udp_send(struct rtc *r, struct sess *s, const uint8_t *p, size_t len);
/* A datagram in from `from`, sent to our address `to`. */
void rtc_on_udp(struct rtc *r, uint8_t *p, size_t len, struct sockaddr_storage *from, socklen_t flen,
		const struct laddr *to);
void rtc_ask_key(struct rtc *r, struct sess *p);  /* PLI to a WHIP publisher (500 ms floor) */
void rtc_want_key(struct rtc *r, const char *name); /* ... to the channel's, if it is here */
void rtc_sess_tick(struct rtc *r, struct sess *s); /* consent, SR/REMB, periodic PLI */

/* The session a STUN Binding request p (parsed into m) is for, its
 * MESSAGE-INTEGRITY good; NULL (counted) if none. */
struct sess *rtc_stun_sess(struct rtc *r, const uint8_t *p, size_t len, lsp_stun_msg *m);
/* A packet other than STUN for session s (DTLS, SRTP, SRTCP). */
void rtc_sess_input(struct rtc *r, struct sess *s, uint8_t *p, size_t len);

/* rtctcp.c: ICE-TCP */
int rtc_tcp_open(const char *host, int port, char *err, size_t errcap); /* the listener: fd or -errno */
void rtc_tcp_accept(struct rtc *r);            /* new connections on r->tcp_l */
void rtc_tcp_io(struct rtc *r, int i, short revents); /* tcps[i] is readable / writable */
void rtc_tcp_close(struct rtc *r, int i, const char *why);
void rtc_tcp_tick(struct rtc *r);              /* unbound and stalled connections, dead ones */
/* One packet out on t, framed (queued if the socket is full; dropped whole
 * if the queue is). */
void rtc_tcp_write(struct rtc *r, struct tcpc *t, const uint8_t *p, size_t len);
/* Session s is gone: the connection carrying it is closed by the loop. */
void rtc_tcp_detach(struct sess *s);

/* rtcadmit.c: the WHIP admission webhook */
/* Ask about WHIP offer k for channel ch: 0 no webhook applies (go on), 1
 * held (rs->admit; the answer comes through rtc_admit_collect), -1
 * answered in rs (503: too many held, or the pool would not start and the
 * policy is closed).  ans (anscap) holds a JSON body. */
int rtc_admit_ask(struct rtc *r, struct conn *k, const char *ch, struct resp *rs, char *ans, size_t anscap);
int rtc_admit_fd(const struct rtc *r);   /* poll for input; -1 when no pool */
void rtc_admit_collect(struct rtc *r);   /* answers in: admit (handle again) or refuse */
void rtc_admit_tick(struct rtc *r);      /* held offers past their deadline: the policy */
void rtc_admit_free(struct rtc *r);

/* rtcorigin.c */
/* GET /relay/C: the connection k becomes a relay client (rs->taken). */
void rtc_relay_open(struct rtc *r, struct conn *k, const lsp_http_req *rq, const char *ch, struct resp *rs);
void rtc_relay_free(struct rtc *r, int i, const char *why);
void rtc_relay_flush(struct rtc *r, int i);
void rtc_relay_report(struct rtc *r, struct relayc *rc); /* "relay bytes out" since the last */
/* relays[i] is readable: keyframe requests (passed on, rate-limited per
 * channel), pings; its close, or anything else, ends it. */
void rtc_relay_input(struct rtc *r, int i);

/* rtcedge.c */
void rtc_up_close(struct chan *c);
void rtc_up_io(struct rtc *r, struct chan *c, short ev);
void rtc_up_step(struct rtc *r, struct chan *c);
/* One frame from the origin's stream (exposed for tests). */
void rtc_up_frame(struct rtc *r, struct chan *c, const lsp_rtcrelay_frame *f);
void rtc_up_report(struct rtc *r, struct chan *c); /* "relay bytes in" since the last */
/* Relay tier: start keeping c's entries for relay clients (0, -errno);
 * forget them (on drop). */
int rtc_fwd_open(struct rtc *r, struct chan *c);
void rtc_fwd_close(struct chan *c);
/* A viewer of channel name waits for a keyframe: ask upstream, if the
 * channel comes from an origin (one request per RELAY_KEYREQ_MS). */
void rtc_up_want_key(struct rtc *r, const char *name);

/* rtcpres.c */
void rtc_viewers_report(struct rtc *r); /* a "viewers" event per channel */

/* rtchttp.c */
void rtc_http_accept(struct rtc *r);        /* new connections on the listener */
void rtc_on_conn(struct rtc *r, int i);     /* conns[i] is readable */
void rtc_conn_close(struct rtc *r, int i);
void rtc_unpark(struct rtc *r);             /* answer offers whose origin decided */
/* A connection fd from peer into a free slot of r->conns (the oldest idle
 * one evicted when full): its index, or -1 (fd closed). */
int rtc_conn_add(struct rtc *r, int fd, const char *peer);
void rtc_http_answer(int fd, const struct resp *rs); /* the answer, blocking (1 s at most) */
void rtc_conn_input(struct rtc *r, int i);  /* answer conns[i] if its request is whole */
/* /stats: the sessions, channels and relays lists (JSON objects joined by
 * commas), one after the other in out, each within cap / 3; len[] their
 * lengths, *total the sessions in all. */
void rtc_stats_lists(struct rtc *r, char *out, size_t cap, size_t len[3], int *total);
/* The /stats document from counters, totals and the three lists; extra
 * (may be NULL or "") goes in as more members.  Its length. */
size_t rtc_stats_doc(char *out, size_t cap, const struct counters *c, int sessions_total, long long relays_total,
		     const char *const lists[3], const size_t len[3], const char *extra);

/* rtcpend.c: half-open WHEP sessions per client address */
void rtc_peer_addr(const char *peer, char *out, size_t cap); /* "a:port" / "[v6]:port" → "a" / "v6" */
int rtc_pend_exempt(const lsp_rtc_cfg *cfg, const char *addr); /* no cap, or loopback */
int rtc_pend_count(const struct rtc *r, const char *addr);   /* r's WHEP sessions from addr not yet connected */
/* Answer fd 429 (JSON) and log it, rate-limited by rl. */
void rtc_pend_refuse(const lsp_rtc_cfg *cfg, lsp_ratelim *rl, int fd, const char *addr, int pending);

/* rtcwork.c */
/* --workers N > 1: the supervisor (what lsp_rtc_run does then). */
int rtc_super_run(const lsp_rtc_cfg *cfg, int stopfd, char *err, size_t errcap);
/* Worker: what the supervisor sent (connections, /stats asks); negative
 * when the supervisor is gone. */
int rtc_work_ctl(struct rtc *r);
char rtc_worker_tag(int i);                 /* session ids of worker i start with it */

#endif
