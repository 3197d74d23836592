/* lsp-edge — serve LL-HLS (blocking playlist reload, held preload-hint
 * parts) and the web pages over HTTP/1.1 or HTTPS, from one epoll loop.
 * Exit codes (man/lsp.7): 0 stopped by a signal, 100 usage, 111 system. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "edge/edge.h"
#include "core/event.h"
#include "core/exit.h"
#include "core/log.h"
#include "core/sdnotify.h"
#include "core/sigtok.h"
#include "core/opt.h"
#include "bus/originmap.h"
#include "bus/presence.h"

static const char usage[] =
	"usage: lsp-edge [-h] [-V] [-l [HOST:]PORT] [--hls-root DIR] [--web-root DIR] [--vod-root DIR]\n"
	"                [--cert FILE --key FILE] [--max-conns N] [--part-hold MS] [--origin URL]\n"
	"                [--upstream-api URL] [--upstream-chat URL] [--upstream-rtc URL] [--upstream-timeout MS]\n"
	"                [--playback-secret-file FILE]\n"
	"  -l, --listen ADDR    listen address (default :8080; port 0 picks one)\n"
	"  --hls-root DIR       LL-HLS tree served at /hls/ (default $LSP_DATA_DIR/hls)\n"
	"  --web-root DIR       pages served at / (default $LSP_WEB_ROOT, else web/ beside bin/)\n"
	"  --vod-root DIR       recordings served at /vod/ (default $LSP_DATA_DIR/vod)\n"
	"  --cert FILE --key FILE   serve HTTPS with this PEM certificate chain and key (ALPN: h2, http/1.1;\n"
	"                       h2c with prior knowledge is taken on any port)\n"
	"  --max-conns N        open connections at most (default 20000)\n"
	"  --part-hold MS       wait this long for a part that is not written yet (default 3000)\n"
	"  --origin URL         relay mode: /hls/ and /api/ from this origin edge (http://host:port),\n"
	"                       identical requests coalesced, answers kept for their max-age;\n"
	"                       'auto': each channel's origin from NATS lsp.stream.<ch>.live/.health\n"
	"                       ($LSP_NATS_URL), following a channel that moves to another origin\n"
	"  --origin-ttl MS      auto: forget an origin not heard from for MS (default 5000)\n"
	"  --port-file FILE     write the bound port to FILE once listening\n"
	"  --upstream-api URL   front door: /api/v1/ forwarded to lsp-api (default http://127.0.0.1:8082)\n"
	"  --upstream-chat URL  /ws/ and /presence forwarded to lsp-chat (default http://127.0.0.1:8081)\n"
	"  --upstream-rtc URL   /whep/ and /whip/ forwarded to lsp-rtc (default http://127.0.0.1:8083)\n"
	"                       ('off': that route answers 404)\n"
	"  --upstream-timeout MS  connect + answer head from an upstream within MS, else 504 (default 10000)\n"
	"  --playback-secret-file FILE  check playback tokens of private and age-gated channels\n"
	"                       with the secret in FILE (mode 600, >= 16 bytes); else\n"
	"                       $LSP_PLAYBACK_SECRET; without either such channels answer 403\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_WEB_ROOT, LSP_LOG_LEVEL, LSP_PLAYBACK_SECRET,\n"
	"             LSP_NATS_URL (--origin auto; HLS viewer counts to lsp.presence.<ch>)\n"
	"exit: 0 stopped by SIGINT/SIGTERM, 100 usage, 111 system failure\n";

static volatile sig_atomic_t stop_flag;

/* Presence: the loop's "viewers" events (HLS clients per channel) as
 * reports on lsp.presence.<ch> (LSP_NATS_URL); every event is logged. */
struct pres {
	lsp_log_t *lg;
	lsp_bus *bus;
	char node[LSP_PRESENCE_NODE_MAX];
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct pres *p = ctx;
	const char *ch = lsp_event_str(ev, "channel");
	char err[256];
	lsp_log_event(p->lg, ev);
	if (p->bus && ch && lsp_event_is(ev, "viewers"))
		lsp_presence_publish(p->bus, p->node, "edge", ch, (long)lsp_event_int(ev, "viewers", 0), err, sizeof err);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* web/ next to the directory holding this binary (the repo layout). */
static void default_web_root(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		snprintf(out, cap, "web");
		return;
	}
	exe[n] = 0;
	snprintf(out, cap, "%s/web", dirname(dirname(exe))); /* <repo>/bin/lsp-edge */
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_edge_cfg cfg = { .max_conns = 20000, .part_hold_ms = 3000,
			     .upstream = { "http://127.0.0.1:8082", "http://127.0.0.1:8081", "http://127.0.0.1:8083" } };
	lsp_edge *e = NULL;
	lsp_originmap *om = NULL;
	long origin_ttl = 5000;
	char host[256] = "", hls[PATH_MAX], web[PATH_MAX], vod[PATH_MAX], err[512] = "";
	const char *listen_s = ":8080", *port_file = NULL, *origin = NULL, *hls_opt = NULL, *web_opt = NULL, *vod_opt = NULL;
	struct sigaction sa;
	struct rlimit rl;
	long v;
	int c, port, rc;
	struct pres pres = { &lg, NULL, "" };
	unsigned char play_secret[LSP_SIGTOK_SECRET_MAX];
	const char *play_file = NULL;

	lsp_log_init(&lg, "lsp-edge");
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' }, { "hls-root", required_argument, NULL, 'r' },
		{ "web-root", required_argument, NULL, 'w' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' }, { "max-conns", required_argument, NULL, 'm' },
		{ "part-hold", required_argument, NULL, 'p' }, { "origin", required_argument, NULL, 'o' },
		{ "port-file", required_argument, NULL, 'P' }, { "vod-root", required_argument, NULL, 'v' },
		{ "origin-ttl", required_argument, NULL, 'T' }, { "upstream-api", required_argument, NULL, 'A' },
		{ "upstream-chat", required_argument, NULL, 'C' }, { "upstream-rtc", required_argument, NULL, 'R' },
		{ "upstream-timeout", required_argument, NULL, 'U' },
		{ "playback-secret-file", required_argument, NULL, 'Y' },
		{ NULL, 0, NULL, 0 }
	};
	while ((c = getopt_long(argc, argv, "hVl:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-edge %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case 'l': listen_s = optarg; break;
		case 'r': hls_opt = optarg; break;
		case 'w': web_opt = optarg; break;
		case 'v': vod_opt = optarg; break;
		case 'c': cfg.cert = optarg; break;
		case 'k': cfg.key = optarg; break;
		case 'o': origin = optarg; break;
		case 'P': port_file = optarg; break;
		case 'A': cfg.upstream[0] = optarg; break;
		case 'C': cfg.upstream[1] = optarg; break;
		case 'R': cfg.upstream[2] = optarg; break;
		case 'Y': play_file = optarg; break;
		case 'U':
			if (lsp_opt_long(optarg, 100, 600000, &v) < 0)
				goto bad;
			cfg.upstream_timeout_ms = (int)v;
			break;
		case 'T':
			if (lsp_opt_long(optarg, 100, 600000, &origin_ttl) < 0)
				goto bad;
			break;
		case 'm':
			if (lsp_opt_long(optarg, 1, 1000000, &v) < 0)
				goto bad;
			cfg.max_conns = (int)v;
			break;
		case 'p':
			if (lsp_opt_long(optarg, 1, 60000, &v) < 0)
				goto bad;
			cfg.part_hold_ms = (int)v;
			break;
		default: goto bad;
		}
	}
	if (optind != argc || !!cfg.cert != !!cfg.key)
		goto bad;
	if (lsp_opt_hostport(listen_s, "", host, sizeof host, &port) < 0)
		goto bad;
	cfg.origin = origin;
	if (origin && !strcmp(origin, "auto")) {
		const char *nu = getenv("LSP_NATS_URL");
		if (!nu || !*nu) {
			lsp_log(&lg, LSP_FATAL, "bad usage", "option", LSV_S("--origin auto"), "needs", LSV_S("LSP_NATS_URL"), NULL);
			return LSP_EXIT_USAGE;
		}
		if (lsp_originmap_open(&om, nu, (int)origin_ttl, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to follow origins", "reason", LSV_S(err), NULL);
			return LSP_EXIT_SYS;
		}
		cfg.origin = NULL;
		cfg.route = lsp_originmap_route;
		cfg.list = lsp_originmap_list;
		cfg.route_ctx = om;
	}
	if (hls_opt)
		snprintf(hls, sizeof hls, "%s", hls_opt);
	else
		snprintf(hls, sizeof hls, "%s/hls", lsp_opt_env("LSP_DATA_DIR", "./var"));
	if (vod_opt)
		snprintf(vod, sizeof vod, "%s", vod_opt);
	else
		snprintf(vod, sizeof vod, "%s/vod", lsp_opt_env("LSP_DATA_DIR", "./var"));
	cfg.vod_root = vod;
	if (web_opt)
		snprintf(web, sizeof web, "%s", web_opt);
	else if (*lsp_opt_env("LSP_WEB_ROOT", ""))
		snprintf(web, sizeof web, "%s", lsp_opt_env("LSP_WEB_ROOT", ""));
	else
		default_web_root(web, sizeof web);
	cfg.host = host;
	cfg.port = port;
	cfg.hls_root = hls;
	cfg.web_root = web;
	if ((rc = lsp_sigtok_secret_load(play_file, "LSP_PLAYBACK_SECRET", play_secret, sizeof play_secret, err,
					 sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to read the playback secret", "reason", LSV_S(err), NULL);
		lsp_originmap_close(om);
		return LSP_EXIT_USAGE;
	}
	cfg.play_secret = rc > 0 ? play_secret : NULL;
	cfg.play_secret_len = rc > 0 ? (size_t)rc : 0;
	lsp_log(&lg, LSP_INFO, rc > 0 ? "playback tokens on" : "playback tokens off", NULL);
	cfg.event = on_event;
	cfg.event_ctx = &pres;
	if (*lsp_opt_env("LSP_NATS_URL", "")) { /* presence: HLS viewers count in the directory */
		lsp_presence_node(pres.node, sizeof pres.node, "lsp-edge");
		if (lsp_bus_open(&pres.bus, lsp_opt_env("LSP_NATS_URL", ""), 2000, "lsp-edge", err, sizeof err) < 0) {
			lsp_log(&lg, LSP_WARN, "presence off", "reason", LSV_S(err), NULL);
			pres.bus = NULL;
		}
	}

	/* one descriptor per connection, plus files being sent and a margin */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)cfg.max_conns * 2 + 64;
		if (rl.rlim_cur < want) {
			rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < (rlim_t)cfg.max_conns + 64)
				lsp_log(&lg, LSP_WARN, "descriptor limit below max-conns", "nofile", LSV_I(rl.rlim_cur),
					"max_conns", LSV_I(cfg.max_conns), NULL);
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (lsp_edge_open(&e, &cfg, err, sizeof err) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), NULL);
		lsp_bus_close(pres.bus);
		lsp_originmap_close(om);
		return LSP_EXIT_SYS;
	}
	lsp_log(&lg, LSP_INFO, "listening", "port", LSV_I(lsp_edge_port(e)), "tls", LSV_B(cfg.cert != NULL), "origin", LSV_S(origin ? origin : ""),
		"upstream_api", LSV_S(cfg.upstream[0]), "upstream_chat", LSV_S(cfg.upstream[1]), "upstream_rtc", LSV_S(cfg.upstream[2]),
		"hls_root", LSV_S(hls), "web_root", LSV_S(web), "vod_root", LSV_S(vod), "max_conns", LSV_I(cfg.max_conns), NULL);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%d\n", lsp_edge_port(e)) < 0 || fclose(f) != 0) {
			lsp_log(&lg, LSP_FATAL, "unable to write port file", "path", LSV_S(port_file), NULL);
			lsp_edge_close(e);
			lsp_bus_close(pres.bus);
			lsp_originmap_close(om);
			return LSP_EXIT_SYS;
		}
	}
	lsp_sdnotify("READY=1");
	rc = lsp_edge_run(e, &stop_flag, err, sizeof err);
	lsp_edge_close(e);
	lsp_bus_close(pres.bus);
	if (om)
		lsp_log(&lg, LSP_INFO, "origin switches", "n", LSV_I(lsp_originmap_switches(om)), NULL);
	lsp_originmap_close(om);
	if (rc < 0) {
		lsp_log(&lg, LSP_FATAL, "server loop failed", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_log(&lg, LSP_INFO, "stopped", NULL);
	return LSP_EXIT_OK;
bad:
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
