/* lsp-rtc — WebRTC for lsp: WHEP playback of a channel's ring and WHIP
 * ingest into the channel pipeline, ICE-lite + DTLS-SRTP on one UDP port,
 * HTTP signalling on another; with --origin, an edge that relays each
 * channel from an origin lsp-rtc over one connection.
 * Exit codes (man/lsp.7): 0 stopped by signal, 100 usage, 111 system failure. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/exit.h"
#include "core/key.h"
#include "core/log.h"
#include "core/event.h"
#include "core/metrics.h"
#include "core/net.h"
#include "bus/originmap.h"
#include "bus/presence.h"
#include "core/sdnotify.h"
#include "core/sigtok.h"
#include "core/webhook.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "rtc/rtc.h"
#include "rtc/rtcauth.h"
#include "state/chanhook.h"
#include "state/pubtoken.h"
#include "state/streamauth.h"
#include "state/token.h"

static const char usage[] =
	"usage: lsp-rtc [-h] [-V] [--http [HOST]:PORT] [--udp [HOST]:PORT] [--candidate IP[,IP…]]\n"
	"               [--whip-exec COMMAND] [--whip-ring] [--max-sessions N] [--consent S]\n"
	"               [--opus-bitrate BPS] [--whip-bitrate BPS] [--pli-interval MS]\n"
	"               [--origin URL|auto [--origin-port N] [--origin-ttl MS]] [--metrics [HOST]:PORT]\n"
	"               [--workers N] [--ice-tcp PORT|off]\n"
	"               [--relay-secret-file FILE] [--playback-secret-file FILE] [--hls-root DIR]\n"
	"               [--max-pending-per-addr N] [--abr-start HEIGHT|src]\n"
	"  -l, --http [HOST]:PORT    WHEP/WHIP signalling (default 0.0.0.0:8083)\n"
	"  -u, --udp [HOST]:PORT     media (default 0.0.0.0:8189); worker i uses PORT+i (port 0:\n"
	"                            each worker its own free port)\n"
	"  --ice-tcp PORT|off        ICE-TCP for viewers whose UDP is blocked: a passive TCP\n"
	"                            candidate on the --udp address, TCP port PORT (worker i:\n"
	"                            PORT+i; 0: each worker its own free port), RFC 4571 framing\n"
	"                            (default: on, the same port number as --udp; off: none)\n"
	"  -c, --candidate IP[,IP…]  addresses offered as ICE host candidates, e.g. the public one\n"
	"                            (default: the --udp address, or when that is every address,\n"
	"                            each non-loopback address that is up, else 127.0.0.1)\n"
	"  -e, --whip-exec COMMAND   per WHIP publish: /bin/sh -c COMMAND ({channel} expanded)\n"
	"                            with MPEG-TS on its stdin, e.g. 'scripts/lsp-channel {channel}'\n"
	"  -R, --whip-ring           write the channel ring for WHIP publishers directly (the\n"
	"                            default without --whip-exec; with it, the pipeline's\n"
	"                            lsp-ring does)\n"
	"  -m, --max-sessions N      viewers + publishers at most (default 512)\n"
	"  -t, --consent S           reap a session silent for S seconds (default 15)\n"
	"  -b, --opus-bitrate BPS    Opus bitrate for viewers (default 64000)\n"
	"  -B, --whip-bitrate BPS    video bitrate WHIP publishers may send (REMB; default 2500000)\n"
	"  -k, --pli-interval MS     ask WHIP publishers for a keyframe (PLI) every MS (default 2000;\n"
	"                            0: only when a viewer needs one)\n"
	"  -o, --origin URL          edge: WHEP viewers' channels come from the origin lsp-rtc at URL\n"
	"                            (http://host:port), one connection per channel; 'auto': each\n"
	"                            channel's origin host from NATS lsp.stream.<ch>.live/.health\n"
	"                            ($LSP_NATS_URL), on port --origin-port\n"
	"  --origin-port N           auto: the origins' lsp-rtc HTTP port (default 8083)\n"
	"  --origin-ttl MS           auto: forget an origin not heard from for MS (default 5000)\n"
	"  --metrics [HOST]:PORT     serve Prometheus text at /metrics (host default 127.0.0.1)\n"
	"  -w, --workers N           worker processes, each with its own sessions and UDP port,\n"
	"                            behind one signalling port (1..62; default: the CPUs this\n"
	"                            process may run on; 1: one process, no supervisor)\n"
	"  --relay-secret-file FILE  relay: sign (edge) and check (origin) GET /relay tokens with the\n"
	"                            secret in FILE (mode 600, >= 16 bytes); else $LSP_RELAY_SECRET;\n"
	"                            with neither, /relay answers loopback peers only\n"
	"  --playback-secret-file FILE  WHEP offers for private and age-gated channels (the .signed\n"
	"                            marker under --hls-root) need a playback token good under the\n"
	"                            secret in FILE (mode 600); else $LSP_PLAYBACK_SECRET; with\n"
	"                            neither such offers answer 403\n"
	"  --hls-root DIR            where the channels' access markers are (default $LSP_DATA_DIR/hls)\n"
	"  --max-pending-per-addr N  WHEP sessions answered but not connected (ICE) one client\n"
	"                            address may hold; one more offer is answered 429 (default 16;\n"
	"                            0: no cap; loopback is never capped)\n"
	"  --abr-start HEIGHT|src    a WHEP viewer in 'auto' starts on the tallest rung of its\n"
	"                            channel at most HEIGHT lines (e.g. 720p; the shortest when\n"
	"                            none is), then follows its REMB and loss (default 720p;\n"
	"                            src: the channel's own video)\n"
	"environment: LSP_DATA_DIR, LSP_DB_URL (WHIP key check), LSP_RING_DIR, LSP_LOG_LEVEL,\n"
	"             LSP_NATS_URL (--origin auto; viewer counts to lsp.presence.<ch>), LSP_RELAY_SECRET,\n"
	"             LSP_PLAYBACK_SECRET, LSP_RTC_GSO (0: no UDP GSO); TURN for the pages\n"
	"             (GET /whep/ice-servers): LSP_TURN_URLS (comma-separated turn:/turns:/stun:\n"
	"             URLs), LSP_TURN_SECRET_FILE or LSP_TURN_SECRET (the TURN server's\n"
	"             static-auth-secret, >= 16 bytes), LSP_TURN_TTL (credential life, s; default 3600);\n"
	"             WHIP admission webhook:\n"
	"             LSP_WEBHOOK_URL, LSP_WEBHOOK_SECRET[_FILE], LSP_WEBHOOK_TIMEOUT (s, default 2),\n"
	"             LSP_WEBHOOK_FAIL (open|closed), LSP_WEBHOOK_PER_CHANNEL (0: no channel's own URL),\n"
	"             LSP_WEBHOOK_MAX_PENDING (offers held at once, default 32)\n"
	"exit: 0 stopped by signal, 100 usage, 111 system failure\n";

struct ctx {
	lsp_log_t *lg;
	char why[320];
	lsp_metrics *mx;   /* NULL without --metrics */
	lsp_originmap *om; /* --origin auto */
	int origin_port;
	lsp_bus *bus;      /* presence (LSP_NATS_URL); NULL: none */
	char node[LSP_PRESENCE_NODE_MAX];
	unsigned char pub_secret[LSP_SECRET_MAX]; /* lsp-api's token secret: WHIP publish tokens */
	size_t pub_secret_len;                     /* 0: publish tokens refused */
};

static long long mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* --origin auto: the bus names each channel's origin edge ("http://H:P");
 * its lsp-rtc is on the same host at --origin-port. */
static int route(void *c, const char *channel, char *url, size_t cap)
{
	struct ctx *cx = c;
	char edge[LSP_ORIGIN_URL_MAX], *h, *end, *colon;
	int n;
	if (!cx->om || lsp_originmap_lookup(cx->om, channel, mono_ms(), edge, sizeof edge) < 0 || strncmp(edge, "http://", 7) != 0)
		return -ENOENT;
	h = edge + 7;
	end = h + strcspn(h, "/");
	*end = 0;
	colon = strrchr(h, ':');
	if (colon && (h[0] != '[' || colon > strchr(h, ']')))
		*colon = 0;
	if (!*h)
		return -ENOENT;
	n = snprintf(url, cap, "http://%s:%d", h, cx->origin_port);
	return n < 0 || (size_t)n >= cap ? -ENOENT : 0;
}

/* The stream-key check every ingest path shares (lib/streamauth), or a
 * publish token lsp-api gave a signed-in owner (lib/state/pubtoken.h). */
static int auth(void *c, const char *key, char *channel, size_t cap, const char **reason)
{
	struct ctx *cx = c;
	char err[256];
	int rc = lsp_pubtoken_like(key)
			 ? lsp_pubtoken_check(NULL, cx->pub_secret, cx->pub_secret_len, key, (long long)time(NULL),
					      channel, cap, reason, err, sizeof err)
			 : lsp_streamauth_check(NULL, key, channel, cap, reason, err, sizeof err);
	if (rc < 0) {
		snprintf(cx->why, sizeof cx->why, "store unavailable: %s", err);
		*reason = cx->why;
	}
	return rc == LSP_STREAMAUTH_OK ? 0 : -1;
}

/* A channel's own admission webhook URL (lib/state/chanhook.h), read as
 * the key was: from the store, at the offer. */
static int hook_route(void *c, const char *channel, char *url, size_t cap)
{
	char err[256];
	(void)c;
	return lsp_chanhook_get(NULL, channel, url, cap, err, sizeof err) < 0 ? -1 : 0;
}

/* Every event lsp-rtc reports: logged; readiness and the metrics keyed
 * off its name and fields. */
static void on_event(void *c, const lsp_event *ev)
{
	struct ctx *cx = c;
	const char *ch = lsp_event_str(ev, "channel"), *kind = NULL;
	lsp_log_event(cx->lg, ev);
	if (lsp_event_is(ev, "listening"))
		lsp_sdnotify("READY=1");
	if (lsp_event_is(ev, "viewers") && ch) { /* presence: lsp-chat's counts and the directory */
		long n = (long)lsp_event_int(ev, "viewers", 0);
		char e[256];
		if (cx->bus)
			lsp_presence_publish(cx->bus, cx->node, "rtc", ch, n, e, sizeof e);
		if (cx->mx)
			lsp_metrics_set(cx->mx, "lsp_rtc_viewers", (double)n, "channel", ch, NULL);
	}
	if (!cx->mx)
		return;
	if (!ch)
		ch = "";
	if (lsp_event_is(ev, "viewer connected") || lsp_event_is(ev, "publisher connected")) {
		kind = lsp_event_is(ev, "viewer connected") ? "viewer" : "publisher";
		lsp_metrics_add(cx->mx, "lsp_rtc_sessions", 1, "kind", kind, NULL);
		lsp_metrics_add(cx->mx, "lsp_rtc_sessions_total", 1, "kind", kind, NULL);
		if (!strcmp(lsp_event_str(ev, "transport") ? lsp_event_str(ev, "transport") : "", "tcp"))
			lsp_metrics_add(cx->mx, "lsp_rtc_ice_tcp_sessions_total", 1, "kind", kind, NULL);
	} else if (lsp_event_is(ev, "rung switched")) {
		const char *why = lsp_event_str(ev, "reason");
		lsp_metrics_add(cx->mx, "lsp_rtc_rung_switches_total", 1, "reason", why ? why : "", NULL);
	} else if (lsp_event_is(ev, "ice-tcp connection")) {
		lsp_metrics_add(cx->mx, "lsp_rtc_ice_tcp_connections_total", 1, NULL);
	} else if (lsp_event_is(ev, "ice-tcp closed")) {
		const char *why = lsp_event_str(ev, "reason");
		lsp_metrics_add(cx->mx, "lsp_rtc_ice_tcp_closed_total", 1, "reason", why ? why : "", NULL);
	} else if (lsp_event_is(ev, "viewer gone") || lsp_event_is(ev, "publisher gone")) {
		kind = lsp_event_is(ev, "viewer gone") ? "viewer" : "publisher";
		if (lsp_event_int(ev, "connected", 0)) /* it was counted as open */
			lsp_metrics_add(cx->mx, "lsp_rtc_sessions", -1, "kind", kind, NULL);
	} else if (lsp_event_is(ev, "play offer") || lsp_event_is(ev, "publish offer")) {
		kind = lsp_event_is(ev, "play offer") ? "play" : "publish";
		lsp_metrics_add(cx->mx, "lsp_rtc_offers_total", 1, "kind", kind, NULL);
	} else if (lsp_event_is(ev, "origin connected")) {
		lsp_metrics_add(cx->mx, "lsp_rtc_relay_connects_total", 1, "channel", ch, NULL);
		if (lsp_event_int(ev, "reconnect", 0))
			lsp_metrics_add(cx->mx, "lsp_rtc_relay_reconnects_total", 1, "channel", ch, NULL);
	} else if (lsp_event_is(ev, "relay bytes in")) {
		lsp_metrics_add(cx->mx, "lsp_rtc_relay_bytes_total", (double)lsp_event_int(ev, "bytes", 0), "channel",
				ch, NULL);
	} else if (lsp_event_is(ev, "relay client connected") || lsp_event_is(ev, "relay client gone")) {
		lsp_metrics_add(cx->mx, "lsp_rtc_relay_clients", lsp_event_is(ev, "relay client gone") ? -1 : 1,
				"channel", ch, NULL);
	} else if (lsp_event_is(ev, "relay refused")) {
		const char *why = lsp_event_str(ev, "reason");
		lsp_metrics_add(cx->mx, "lsp_rtc_relay_refused_total", 1, "reason",
				!why ? "" : !strncmp(why, "no relay secret", 15) ? "not_loopback" : why, NULL);
	} else if (lsp_event_is(ev, "relay bytes out")) {
		lsp_metrics_add(cx->mx, "lsp_rtc_relay_sent_bytes_total", (double)lsp_event_int(ev, "bytes", 0),
				"channel", ch, NULL);
	} else if (lsp_event_is(ev, "publish refused") || lsp_event_is(ev, "webhook busy")) {
		const char *why = lsp_event_str(ev, "reason");
		lsp_metrics_add(cx->mx, "lsp_rtc_publish_refused_total", 1, "reason",
				lsp_event_is(ev, "webhook busy")   ? "webhook_busy"
				: why && !strncmp(why, "webhook", 7) ? "webhook"
								     : "key",
				NULL);
	} else if (lsp_event_is(ev, "offer refused")) { /* each one (a warning once a second) */
		lsp_metrics_add(cx->mx, "lsp_rtc_offers_refused_total", 1, "reason", "pending", NULL);
	} else if (lsp_event_is(ev, "srtp dropped")) {
		lsp_metrics_add(cx->mx, "lsp_rtc_srtp_dropped_total", (double)lsp_event_int(ev, "bad_tag", 0), "reason",
				"bad_tag", NULL);
		lsp_metrics_add(cx->mx, "lsp_rtc_srtp_dropped_total", (double)lsp_event_int(ev, "replayed", 0), "reason",
				"replayed", NULL);
	} else if (lsp_event_is(ev, "worker started") || lsp_event_is(ev, "worker died")) {
		lsp_metrics_set(cx->mx, "lsp_rtc_workers", (double)lsp_event_int(ev, "workers", 0), NULL);
		if (lsp_event_int(ev, "restart", 0))
			lsp_metrics_add(cx->mx, "lsp_rtc_worker_restarts_total", 1, NULL);
		/* its sessions went with it, unannounced */
		lsp_metrics_add(cx->mx, "lsp_rtc_sessions", -(double)lsp_event_int(ev, "viewers", 0), "kind", "viewer",
				NULL);
		lsp_metrics_add(cx->mx, "lsp_rtc_sessions", -(double)lsp_event_int(ev, "publishers", 0), "kind",
				"publisher", NULL);
	}
	if (ev->level >= LSP_WARN)
		lsp_metrics_add(cx->mx, "lsp_rtc_errors_total", 1, "kind", ev->name, NULL);
}

/* TURN for the pages (rtc/turn.h): $LSP_TURN_URLS, the secret in
 * $LSP_TURN_SECRET_FILE else $LSP_TURN_SECRET, $LSP_TURN_TTL.  0, or -1
 * after a fatal log line (never with the secret in it). */
static int turn_load(lsp_log_t *lg, lsp_turn_cfg *t, unsigned char *secret, size_t cap)
{
	const char *ttl = getenv("LSP_TURN_TTL");
	char err[256];
	long v = LSP_TURN_TTL_DEFAULT;
	int rc;
	t->urls = getenv("LSP_TURN_URLS");
	if (ttl && *ttl && lsp_opt_long(ttl, LSP_TURN_TTL_MIN, LSP_TURN_TTL_MAX, &v) < 0) {
		lsp_log(lg, LSP_FATAL, "bad LSP_TURN_TTL", "min", LSV_I(LSP_TURN_TTL_MIN), "max", LSV_I(LSP_TURN_TTL_MAX), NULL);
		return -1;
	}
	t->ttl = (int)v;
	if (!t->urls || !*t->urls) {
		t->urls = NULL;
		return 0;
	}
	if ((rc = lsp_sigtok_secret_load(getenv("LSP_TURN_SECRET_FILE"), "LSP_TURN_SECRET", secret, cap, err, sizeof err)) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to read the TURN secret", "reason", LSV_S(err), NULL);
		return -1;
	}
	t->secret = rc > 0 ? secret : NULL;
	t->secret_len = rc > 0 ? (size_t)rc : 0;
	if ((rc = lsp_turn_check(t, err, sizeof err)) < 0) {
		lsp_log(lg, LSP_FATAL, "bad LSP_TURN_URLS", "reason", LSV_S(err), NULL);
		return -1;
	}
	lsp_log(lg, LSP_INFO, "turn on", "urls", LSV_I(rc), "ttl", LSV_I(t->ttl), "credentials",
		LSV_S(t->secret ? "rest" : "none"), NULL);
	return 0;
}

/* The relay secret: --relay-secret-file, else $LSP_RELAY_SECRET.  Its
 * length, 0 when there is none (loopback-only /relay, logged), or -1
 * after a fatal log line (a bad secret is a usage error). */
static int relay_secret_load(lsp_log_t *lg, const char *file, unsigned char *out, size_t cap)
{
	const char *env = getenv("LSP_RELAY_SECRET");
	char err[320];
	int n;
	if (file) {
		if ((n = lsp_rtcauth_secret_file(file, out, cap, err, sizeof err)) < 0) {
			lsp_log(lg, LSP_FATAL, "unable to read the relay secret", "reason", LSV_S(err), NULL);
			return -1;
		}
	} else if (env && *env) {
		size_t l = strlen(env);
		if (l < LSP_RTCAUTH_SECRET_MIN || l > cap) {
			lsp_log(lg, LSP_FATAL, "bad relay secret", "source", LSV_S("LSP_RELAY_SECRET"), "min_bytes",
				LSV_I(LSP_RTCAUTH_SECRET_MIN), "max_bytes", LSV_I((long long)cap), NULL);
			return -1;
		}
		memcpy(out, env, l);
		n = (int)l;
	} else {
		lsp_log(lg, LSP_INFO, "relay auth off", "relay_peers", LSV_S("loopback"), "edge_token", LSV_B(0), NULL);
		return 0;
	}
	lsp_log(lg, LSP_INFO, "relay auth on", "source", LSV_S(file ? "file" : "LSP_RELAY_SECRET"), NULL);
	return n;
}

/* The addresses viewers may reach the media socket on (bound to host):
 * host itself when it names one address; else every address of the
 * socket's family that is up, loopback and IPv6 link-local left out
 * (127.0.0.1 when that leaves none), comma-separated. */
static void local_addrs(const char *host, char *out, size_t cap)
{
	struct ifaddrs *ifs, *i;
	int v6 = strchr(host, ':') != NULL, n = 0;
	size_t o = 0;
	snprintf(out, cap, "127.0.0.1");
	if (*host && strcmp(host, "0.0.0.0") != 0 && strcmp(host, "::") != 0) {
		snprintf(out, cap, "%s", host);
		return;
	}
	if (getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i && n < LSP_RTC_CAND_MAX; i = i->ifa_next) {
		char a[INET6_ADDRSTRLEN];
		const struct sockaddr *sa = i->ifa_addr;
		int k;
		if (!sa || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    (sa->sa_family != AF_INET && !(v6 && sa->sa_family == AF_INET6)))
			continue;
		if (sa->sa_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr))
			continue;
		if (sa->sa_family == AF_INET &&
		    (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127)
			continue;
		lsp_net_addr_str(sa, 0, a, sizeof a);
		k = snprintf(out + o, cap - o, "%s%s", n ? "," : "", a);
		if (k < 0 || (size_t)k >= cap - o)
			break;
		o += (size_t)k;
		n++;
	}
	if (!n)
		snprintf(out, cap, "127.0.0.1");
	freeifaddrs(ifs);
}

/* --candidate: IP[,IP…], each a numeric address, LSP_RTC_CAND_MAX at most. */
static int cand_ok(const char *s)
{
	int n = 0;
	while (*s) {
		char a[64];
		unsigned char bin[16];
		size_t l = strcspn(s, ",");
		if (!l || l >= sizeof a || ++n > LSP_RTC_CAND_MAX)
			return 0;
		memcpy(a, s, l);
		a[l] = 0;
		if (inet_pton(strchr(a, ':') ? AF_INET6 : AF_INET, a, bin) != 1)
			return 0;
		s += l + (s[l] == ',');
	}
	return n > 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "http", required_argument, NULL, 'l' }, { "udp", required_argument, NULL, 'u' },
		{ "candidate", required_argument, NULL, 'c' }, { "whip-exec", required_argument, NULL, 'e' },
		{ "whip-ring", no_argument, NULL, 'R' }, { "max-sessions", required_argument, NULL, 'm' },
		{ "consent", required_argument, NULL, 't' }, { "opus-bitrate", required_argument, NULL, 'b' },
		{ "whip-bitrate", required_argument, NULL, 'B' }, { "metrics", required_argument, NULL, 'M' },
		{ "pli-interval", required_argument, NULL, 'k' }, { "origin", required_argument, NULL, 'o' },
		{ "origin-port", required_argument, NULL, 'P' }, { "origin-ttl", required_argument, NULL, 'T' },
		{ "workers", required_argument, NULL, 'w' }, { "ice-tcp", required_argument, NULL, 'I' },
		{ "relay-secret-file", required_argument, NULL, 'S' },
		{ "playback-secret-file", required_argument, NULL, 'Y' }, { "hls-root", required_argument, NULL, 'H' },
		{ "max-pending-per-addr", required_argument, NULL, 'p' }, { "abr-start", required_argument, NULL, 'A' },
		{ "rtc-worker", required_argument, NULL, 'W' }, /* internal: an exec'd worker */
		{ NULL, 0, NULL, 0 }
	};
	char hhost[256] = "0.0.0.0", uhost[256] = "0.0.0.0", cand[LSP_RTC_CAND_MAX * 48] = "", err[256];
	lsp_rtc_cfg cfg = { .http_port = 8083, .udp_port = 8189, .max_sessions = 512, .consent_s = 15,
			    .opus_bitrate = 64000, .whip_bitrate = 2500000, .pli_interval_ms = 2000,
			    .max_pending_per_addr = 16, .abr_start = 720 };
	int force_ring = 0;
	long v, origin_ttl = 5000, ice_tcp = -2; /* -2: the --udp port, -1: off */
	const char *origin = NULL, *gso;
	int c, sfd, rc;
	sigset_t mask;
	lsp_log_t lg;
	struct ctx cx = { &lg, "", NULL, NULL, 8083, NULL, "", { 0 }, 0 };
	cpu_set_t cpus;
	const char *mx_addr = NULL, *worker_spec = NULL;
	const char *relay_file = NULL;            /* relay auth (lib/rtc/rtcauth.h) */
	unsigned char relay_secret[LSP_RTCAUTH_SECRET_MAX], play_secret[LSP_SIGTOK_SECRET_MAX];
	unsigned char turn_secret[LSP_SIGTOK_SECRET_MAX];
	const char *play_file = NULL, *hls_opt = NULL;
	char hls[4096];
	lsp_webhook_conf hook;
	lsp_log_init(&lg, "lsp-rtc");
	/* libav speaks as JSON events too: plain text would break the log */
	lsp_avlog_route(lsp_event_log, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	CPU_ZERO(&cpus);
	cfg.workers = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
	if (cfg.workers > LSP_RTC_WORKERS_MAX)
		cfg.workers = LSP_RTC_WORKERS_MAX;
	while ((c = getopt_long(argc, argv, "hVl:u:c:e:Rm:t:b:B:k:o:w:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': puts("lsp-rtc " LSP_VERSION); return LSP_EXIT_OK;
		case 'l':
			if (lsp_opt_hostport(optarg, "0.0.0.0", hhost, sizeof hhost, &cfg.http_port) < 0)
				goto bad;
			break;
		case 'u':
			if (lsp_opt_hostport(optarg, "0.0.0.0", uhost, sizeof uhost, &cfg.udp_port) < 0)
				goto bad;
			break;
		case 'c':
			if (strlen(optarg) >= sizeof cand || !cand_ok(optarg))
				goto bad;
			snprintf(cand, sizeof cand, "%s", optarg);
			break;
		case 'e': cfg.whip_exec = optarg; break;
		case 'R': force_ring = 1; break;
		case 'm':
			if (lsp_opt_long(optarg, 1, 65536, &v) < 0)
				goto bad;
			cfg.max_sessions = (int)v;
			break;
		case 't':
			if (lsp_opt_long(optarg, 1, 3600, &v) < 0)
				goto bad;
			cfg.consent_s = (int)v;
			break;
		case 'b':
			if (lsp_opt_long(optarg, 6000, 510000, &v) < 0)
				goto bad;
			cfg.opus_bitrate = (int)v;
			break;
		case 'B':
			if (lsp_opt_long(optarg, 100000, 50000000, &v) < 0)
				goto bad;
			cfg.whip_bitrate = v;
			break;
		case 'M': mx_addr = optarg; break;
		case 'A': {
			char hb[16];
			size_t hl = strlen(optarg);
			if (!strcmp(optarg, "src")) {
				cfg.abr_start = 0;
				break;
			}
			if (hl == 0 || hl >= sizeof hb)
				goto bad;
			snprintf(hb, sizeof hb, "%.*s", (int)(optarg[hl - 1] == 'p' ? hl - 1 : hl), optarg);
			if (lsp_opt_long(hb, 1, 4320, &v) < 0)
				goto bad;
			cfg.abr_start = (int)v;
			break;
		}
		case 'k':
			if (lsp_opt_long(optarg, 0, 600000, &v) < 0 || (v && v < 500))
				goto bad;
			cfg.pli_interval_ms = (int)v;
			break;
		case 'o':
			if (strcmp(optarg, "auto") != 0 && strncmp(optarg, "http://", 7) != 0)
				goto bad;
			origin = optarg;
			break;
		case 'P':
			if (lsp_opt_long(optarg, 1, 65535, &v) < 0)
				goto bad;
			cx.origin_port = (int)v;
			break;
		case 'T':
			if (lsp_opt_long(optarg, 100, 600000, &origin_ttl) < 0)
				goto bad;
			break;
		case 'W':
			worker_spec = optarg;
			lg.level = LSP_WARN; /* the supervisor logged the start; events travel to it */
			break;
		case 'w':
			if (lsp_opt_long(optarg, 1, LSP_RTC_WORKERS_MAX, &v) < 0)
				goto bad;
			cfg.workers = (int)v;
			break;
		case 'I':
			if (!strcmp(optarg, "off"))
				ice_tcp = -1;
			else if (lsp_opt_long(optarg, 0, 65535, &ice_tcp) < 0)
				goto bad;
			break;
		case 'S': relay_file = optarg; break;
		case 'Y': play_file = optarg; break;
		case 'H': hls_opt = optarg; break;
		case 'p':
			if (lsp_opt_long(optarg, 0, 65536, &v) < 0)
				goto bad;
			cfg.max_pending_per_addr = (int)v;
			break;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	if (!cand[0])
		local_addrs(uhost, cand, sizeof cand);
	cfg.whip_ring = force_ring || !cfg.whip_exec;
	cfg.ice_tcp = ice_tcp == -1 ? 0 : ice_tcp == -2 ? 2 : 1; /* the default: a busy port is a warning */
	cfg.tcp_port = ice_tcp == -2 ? cfg.udp_port : (int)(ice_tcp < 0 ? 0 : ice_tcp);
	cfg.http_host = hhost;
	cfg.udp_host = uhost;
	cfg.cand_ip = cand;
	if ((rc = relay_secret_load(&lg, relay_file, relay_secret, sizeof relay_secret)) < 0)
		return LSP_EXIT_USAGE;
	if (rc > 0) {
		cfg.relay_secret = relay_secret;
		cfg.relay_secret_len = (size_t)rc;
	}
	if ((rc = lsp_sigtok_secret_load(play_file, "LSP_PLAYBACK_SECRET", play_secret, sizeof play_secret, err,
					 sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to read the playback secret", "reason", LSV_S(err), NULL);
		return LSP_EXIT_USAGE;
	}
	cfg.play_secret = rc > 0 ? play_secret : NULL;
	cfg.play_secret_len = rc > 0 ? (size_t)rc : 0;
	if (turn_load(&lg, &cfg.turn, turn_secret, sizeof turn_secret) < 0)
		return LSP_EXIT_USAGE;
	if (hls_opt)
		snprintf(hls, sizeof hls, "%s", hls_opt);
	else
		snprintf(hls, sizeof hls, "%s/hls", lsp_opt_env("LSP_DATA_DIR", "./var"));
	cfg.hls_root = hls;
	lsp_log(&lg, LSP_INFO, rc > 0 ? "playback tokens on" : "playback tokens off", "hls_root", LSV_S(hls), NULL);
	cfg.auth = auth;
	{ /* the studio's WHIP publish tokens: lsp-api's secret (LSP_SECRET or the data dir's) */
		char serr[256];
		int sl = lsp_token_secret(lsp_opt_env("LSP_DATA_DIR", "./var"), cx.pub_secret, sizeof cx.pub_secret,
					  serr, sizeof serr);
		if (sl > 0)
			cx.pub_secret_len = (size_t)sl;
		else
			lsp_log(&lg, LSP_WARN, "publish tokens off", "reason", LSV_S(serr), NULL);
	}
	{ /* the WHIP admission webhook (core/webhook.h): lsp-ingest's settings */
		const char *mp = getenv("LSP_WEBHOOK_MAX_PENDING");
		v = 0;
		if (mp && *mp && lsp_opt_long(mp, 1, 4096, &v) < 0) {
			lsp_log(&lg, LSP_FATAL, "bad webhook settings", "reason",
				LSV_S("LSP_WEBHOOK_MAX_PENDING must be 1..4096"), NULL);
			return LSP_EXIT_USAGE;
		}
		if (lsp_webhook_conf_env(&hook, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "bad webhook settings", "reason", LSV_S(err), NULL);
			return LSP_EXIT_USAGE;
		}
		if (!hook.secret_len) /* no global URL: a channel's own still needs the secret */
			(void)lsp_webhook_secret(getenv("LSP_WEBHOOK_SECRET"), getenv("LSP_WEBHOOK_SECRET_FILE"), hook.secret,
						 sizeof hook.secret, &hook.secret_len, err, sizeof err);
		/* not for the --whip-exec pipelines; a supervisor keeps it for the
		 * workers it execs, each of which reads it and unsets it */
		if (worker_spec || cfg.workers <= 1)
			unsetenv("LSP_WEBHOOK_SECRET");
		cfg.hook_url = hook.url;
		cfg.hook_secret = (const unsigned char *)hook.secret;
		cfg.hook_secret_len = hook.secret_len;
		cfg.hook_timeout_ms = hook.timeout_ms;
		cfg.hook_fail_closed = hook.fail_closed;
		cfg.hook_max_pending = (int)v;
		cfg.hook_route = lsp_chanhook_enabled() ? hook_route : NULL;
		lsp_log(&lg, LSP_INFO, hook.secret_len ? "admission webhook on" : "admission webhook off", "global",
			LSV_B(hook.url != NULL), "per_channel", LSV_B(hook.secret_len && cfg.hook_route), "timeout_ms",
			LSV_I(hook.timeout_ms), "fail", LSV_S(hook.fail_closed ? "closed" : "open"), NULL);
	}
	cfg.event = on_event;
	cfg.event_ctx = &cx;
	cfg.ctx = &cx;
	gso = getenv("LSP_RTC_GSO");
	cfg.gso = !gso || strcmp(gso, "0") != 0;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		lsp_log(&lg, LSP_FATAL, "signalfd failed", "reason", LSV_S(strerror(errno)), NULL);
		return LSP_EXIT_SYS;
	}
	if (mx_addr && !worker_spec) { /* the supervisor counts what its workers report */
		if (lsp_metrics_new(&cx.mx, "lsp-rtc") < 0) {
			lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
			close(sfd);
			return LSP_EXIT_SYS;
		}
		lsp_metrics_def(cx.mx, "lsp_rtc_sessions", LSP_METRIC_GAUGE, "WebRTC sessions open now, by kind");
		lsp_metrics_def(cx.mx, "lsp_rtc_sessions_total", LSP_METRIC_COUNTER, "WebRTC sessions connected, by kind");
		lsp_metrics_def(cx.mx, "lsp_rtc_offers_total", LSP_METRIC_COUNTER, "WHEP/WHIP offers, by kind");
		lsp_metrics_def(cx.mx, "lsp_rtc_offers_refused_total", LSP_METRIC_COUNTER,
				"WHEP offers answered 429: reason pending (too many half-open sessions from one address)");
		lsp_metrics_def(cx.mx, "lsp_rtc_publish_refused_total", LSP_METRIC_COUNTER,
				"WHIP offers refused, by reason: key (401), webhook (403, or 503 fail closed), "
				"webhook_busy (503: too many waiting for the admission webhook)");
		lsp_metrics_def(cx.mx, "lsp_rtc_errors_total", LSP_METRIC_COUNTER, "warnings and errors, by kind");
		lsp_metrics_def(cx.mx, "lsp_rtc_srtp_dropped_total", LSP_METRIC_COUNTER,
				"SRTP/SRTCP packets dropped before decryption: bad_tag or replayed");
		lsp_metrics_def(cx.mx, "lsp_rtc_relay_connects_total", LSP_METRIC_COUNTER,
				"edge: connections to the origin that streamed, by channel");
		lsp_metrics_def(cx.mx, "lsp_rtc_relay_reconnects_total", LSP_METRIC_COUNTER,
				"edge: of those, the ones after the first, by channel");
		lsp_metrics_def(cx.mx, "lsp_rtc_relay_bytes_total", LSP_METRIC_COUNTER,
				"edge: bytes received from the origin, by channel");
		lsp_metrics_def(cx.mx, "lsp_rtc_relay_clients", LSP_METRIC_GAUGE,
				"origin: edges reading a channel now, by channel");
		lsp_metrics_def(cx.mx, "lsp_rtc_relay_sent_bytes_total", LSP_METRIC_COUNTER,
				"origin: bytes sent to edges, by channel");
		lsp_metrics_def(cx.mx, "lsp_rtc_workers", LSP_METRIC_GAUGE, "worker processes running now");
		lsp_metrics_def(cx.mx, "lsp_rtc_rung_switches_total", LSP_METRIC_COUNTER,
				"WHEP viewers moved to another rung, by reason (pin, loss, estimate, probe)");
		lsp_metrics_def(cx.mx, "lsp_rtc_ice_tcp_connections_total", LSP_METRIC_COUNTER,
				"ICE-TCP connections accepted");
		lsp_metrics_def(cx.mx, "lsp_rtc_ice_tcp_closed_total", LSP_METRIC_COUNTER,
				"ICE-TCP connections closed, by reason");
		lsp_metrics_def(cx.mx, "lsp_rtc_ice_tcp_sessions_total", LSP_METRIC_COUNTER,
				"WebRTC sessions connected over ICE-TCP, by kind");
		lsp_metrics_def(cx.mx, "lsp_rtc_worker_restarts_total", LSP_METRIC_COUNTER,
				"worker processes forked again after one died");
		lsp_metrics_def(cx.mx, "lsp_rtc_relay_refused_total", LSP_METRIC_COUNTER,
				"origin: GET /relay answered 401, by reason");
		lsp_metrics_def(cx.mx, "lsp_rtc_viewers", LSP_METRIC_GAUGE,
				"WHEP viewers connected now, by channel (as reported to presence)");
		if ((rc = lsp_metrics_serve_addr(cx.mx, mx_addr, err, sizeof err)) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			lsp_metrics_free(cx.mx);
			close(sfd);
			return rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
		}
		lsp_log(&lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(cx.mx)), NULL);
	}
	if (*lsp_opt_env("LSP_NATS_URL", "") && !worker_spec) { /* presence: WebRTC viewers count too */
		lsp_presence_node(cx.node, sizeof cx.node, "lsp-rtc");
		if (lsp_bus_open(&cx.bus, lsp_opt_env("LSP_NATS_URL", ""), 2000, "lsp-rtc", err, sizeof err) < 0) {
			lsp_log(&lg, LSP_WARN, "presence off", "reason", LSV_S(err), NULL);
			cx.bus = NULL;
		}
	}
	if (origin && !strcmp(origin, "auto")) {
		const char *nu = getenv("LSP_NATS_URL");
		if (!nu || !*nu) {
			lsp_log(&lg, LSP_FATAL, "bad usage", "option", LSV_S("--origin auto"), "needs", LSV_S("LSP_NATS_URL"), NULL);
			rc = LSP_EXIT_USAGE;
			goto early;
		}
		if (lsp_originmap_open(&cx.om, nu, (int)origin_ttl, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to follow origins", "reason", LSV_S(err), NULL);
			rc = LSP_EXIT_SYS;
			goto early;
		}
		cfg.origin_route = route;
	} else
		cfg.origin = origin;
	if (worker_spec) {
		rc = lsp_rtc_worker(&cfg, worker_spec, sfd, err, sizeof err);
		if (rc < 0)
			lsp_log(&lg, LSP_FATAL, "bad worker spec", "reason", LSV_S(err), NULL);
		close(sfd);
		lsp_originmap_close(cx.om);
		return rc < 0 ? LSP_EXIT_USAGE : rc == LSP_RTC_WORKER_DONE ? LSP_EXIT_OK : LSP_EXIT_SYS;
	}
	/* workers are exec'd afresh from this argv: no thread (NATS, the
	 * metrics responder) or lock of this process goes with them */
	cfg.argv = argv;
	cfg.argc = argc;
	rc = lsp_rtc_run(&cfg, sfd, err, sizeof err);
	close(sfd);
	lsp_bus_close(cx.bus);
	lsp_metrics_free(cx.mx);
	lsp_originmap_close(cx.om);
	if (rc < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to serve", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_sdnotify("STOPPING=1");
	lsp_log(&lg, LSP_INFO, "stopped", NULL);
	return LSP_EXIT_OK;
early:
	close(sfd);
	lsp_bus_close(cx.bus);
	lsp_metrics_free(cx.mx);
	return rc;
bad:
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
