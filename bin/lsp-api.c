/* lsp-api — accounts, sessions, channels and stream keys, privacy requests,
 * as JSON over HTTP(S) (docs/api.md).  lib/api/api.c has the routes,
 * lib/api/apisrv.c the connection loop.  With LSP_NATS_URL it publishes
 * lsp.ctl.<channel>.kick (lib/api/kick.c), keeps the last
 * lsp.stream.<channel>.health (lib/api/health.c) and archives
 * lsp.chat.<channel> messages for data-subject requests (lib/api/archive.c).
 * This file parses options, wires those together and logs their events.
 * Exit codes (man/lsp.7): 0 stopped by a signal, 1 --set-role found no
 * such user, 100 usage, 111 system failure. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/apisrv.h"
#include "api/archive.h"
#include "api/health.h"
#include "api/kick.h"
#include "bus/bus.h"
#include "bus/subjects.h"
#include "core/event.h"
#include "core/exit.h"
#include "core/key.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "core/sdnotify.h"
#include "core/sigtok.h"
#include "state/store.h"
#include "state/token.h"

static const char usage[] =
	"usage: lsp-api [-h] [-V] [-l [HOST:]PORT] [--cert FILE --key FILE] [--cors ORIGINS]\n"
	"               [--scrypt-log2n N] [--session-ttl S] [--rate-user N] [--rate-addr N]\n"
	"               [--rate-signup N] [--max-conns N] [--max-per-addr N]\n"
	"               [--pw-threads N] [--pw-queue N]\n"
	"               [--port-file FILE] [--metrics [HOST]:PORT] [--playback-secret-file FILE]\n"
	"       lsp-api --routes | --set-role USER=ROLE\n"
	"  -l, --listen ADDR     listen address (default :8082; port 0 picks one)\n"
	"  --cert FILE --key FILE  serve HTTPS (and send HSTS) with this PEM chain and key\n"
	"  --cors ORIGINS        comma-separated origins whose pages may call the API with\n"
	"                        credentials, e.g. https://tv.example:8080\n"
	"  --scrypt-log2n N      password hash cost N (10..20, default 15)\n"
	"  --session-ttl S       session lifetime in seconds (default 604800)\n"
	"  --rate-user N         sign-in attempts per account before waiting (default 5, +1/min)\n"
	"  --rate-addr N         sign-in/sign-up attempts per address (default 30, +1 per 2 s)\n"
	"  --rate-signup N       accounts made per address (default 10, N more an hour)\n"
	"  --max-conns N         open connections at most (default 16384; when all are taken\n"
	"                        the oldest one still waiting for a request is closed)\n"
	"  --max-per-addr N      connections from one client address (default 256, 0 none;\n"
	"                        127.0.0.1 and ::1 are never capped)\n"
	"  --pw-threads N        threads that hash passwords, off the request loop (default 2)\n"
	"  --pw-queue N          sign-ins waiting for them at most; past it 503 (default 64)\n"
	"  --port-file FILE      write the bound port to FILE once listening\n"
	"  --metrics ADDR        serve Prometheus text at /metrics (host default 127.0.0.1)\n"
	"  --playback-secret-file FILE  sign playback tokens for private and age-gated channels\n"
	"                        with the secret in FILE (mode 600, >= 16 bytes); else\n"
	"                        $LSP_PLAYBACK_SECRET; without either none are issued (503)\n"
	"  --routes              print the route table (method, path, roles) and exit\n"
	"  --set-role USER=ROLE  set a user's role (viewer|creator|mod|admin) and exit\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL, LSP_SECRET, LSP_NATS_URL,\n"
	"  LSP_PLAYBACK_SECRET, LSP_LOG_LEVEL\n"
	"exit: 0 stopped by SIGINT/SIGTERM, 1 no such user, 100 usage, 111 system failure\n";

struct app {
	lsp_log_t lg;
	lsp_metrics *mx; /* NULL without --metrics */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Every event of lib/api (server, routes, kick, archive): a log line;
 * "request" counts requests by status class and bytes; warnings and
 * errors count by event name. */
static void on_event(void *ctx, const lsp_event *ev)
{
	static const char *const cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	struct app *a = ctx;
	lsp_log_event(&a->lg, ev);
	if (!a->mx)
		return;
	if (lsp_event_is(ev, "request")) {
		long long k = lsp_event_int(ev, "status", 0) / 100 - 1;
		lsp_metrics_add(a->mx, "lsp_api_requests_total", 1, "code", k >= 0 && k < 5 ? cls[k] : "other", NULL);
		lsp_metrics_add(a->mx, "lsp_api_bytes_in_total", (double)lsp_event_int(ev, "bytes_in", 0), NULL);
		lsp_metrics_add(a->mx, "lsp_api_bytes_out_total", (double)lsp_event_int(ev, "bytes_out", 0), NULL);
	}
	if (ev->level >= LSP_WARN)
		lsp_metrics_add(a->mx, "lsp_api_errors_total", 1, "kind", ev->name, NULL);
}

static void print_route(void *ctx, const char *method, const char *pattern, int roles)
{
	static const char *const names[] = { "anon", "viewer", "creator", "mod", "admin" };
	int first = 1;
	(void)ctx;
	printf("%s\t%s\t", method, pattern);
	for (int i = 0; i < 5; i++)
		if (roles & (1 << i)) {
			printf("%s%s", first ? "" : ",", names[i]);
			first = 0;
		}
	putchar('\n');
}

/* --set-role USER=ROLE: 0 set, 1 no such user, 100 bad words, 111 failure. */
static int set_role(struct app *a, lsp_store *st, const char *arg, const char *nats)
{
	char user[LSP_NAME_MAX + 1], err[512];
	const char *eq = strchr(arg, '=');
	int rc;
	if (!eq || (size_t)(eq - arg) > LSP_NAME_MAX || !lsp_api_role_bit(eq + 1)) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	memcpy(user, arg, (size_t)(eq - arg));
	user[eq - arg] = 0;
	rc = lsp_api_set_role(st, user, eq + 1, err, sizeof err);
	if (rc < 0)
		lsp_log(&a->lg, LSP_ERROR, "role not set", "reason", LSV_S(err), NULL);
	if (rc == 0 && nats && *nats) { /* open chat sockets re-read the role (bus/revoke.h) */
		lsp_kick k = { NULL, lsp_event_log, &a->lg };
		lsp_revoke r;
		if (lsp_revoke_make(&r, LSP_REVOKE_ROLE, user, NULL, eq + 1) == 0 &&
		    lsp_bus_open(&k.bus, nats, 2000, "lsp-api", err, sizeof err) == 0)
			lsp_kick_revoke(&k, &r);
		else
			lsp_log(&a->lg, LSP_WARN, "revocation not sent", "cause", LSV_S("role"), "user", LSV_S(user),
				"reason", LSV_S(err), NULL);
		lsp_bus_close(k.bus);
	}
	return rc == 0 ? LSP_EXIT_OK : rc == -ENOENT ? LSP_EXIT_NO : LSP_EXIT_SYS;
}

static int write_port(const char *file, int port)
{
	FILE *f = fopen(file, "w");
	int ok = f && fprintf(f, "%d\n", port) >= 0;
	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct app app;
	lsp_api_cfg acfg;
	lsp_apisrv_cfg scfg;
	lsp_store *st = NULL;
	lsp_api *api = NULL;
	lsp_apisrv *srv = NULL;
	lsp_bus *bus = NULL;
	lsp_bus_sub *sub_chat = NULL, *sub_health = NULL;
	lsp_health *health = NULL;
	lsp_archive arch = { NULL, on_event, &app };
	lsp_kick kick = { NULL, on_event, &app };
	unsigned char secret[LSP_SECRET_MAX], play_secret[LSP_SIGTOK_SECRET_MAX];
	const char *play_file = NULL;
	int play_len;
	char host[256] = "", err[512] = "";
	const char *listen_s = ":8082", *port_file = NULL, *role_arg = NULL, *nats = getenv("LSP_NATS_URL");
	const char *mx_addr = NULL;
	struct sigaction sa;
	long v;
	int c, port, routes = 0, slen, ret = LSP_EXIT_SYS;

	memset(&app, 0, sizeof app);
	memset(&acfg, 0, sizeof acfg);
	memset(&scfg, 0, sizeof scfg);
	acfg.pw_threads = 2;
	lsp_log_init(&app.lg, "lsp-api");
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },    { "cors", required_argument, NULL, 'o' },
		{ "scrypt-log2n", required_argument, NULL, 'n' }, { "session-ttl", required_argument, NULL, 't' },
		{ "rate-user", required_argument, NULL, 'u' }, { "rate-addr", required_argument, NULL, 'a' },
		{ "rate-signup", required_argument, NULL, 'g' },
		{ "max-conns", required_argument, NULL, 'm' }, { "port-file", required_argument, NULL, 'P' },
		{ "routes", no_argument, NULL, 'R' },	    { "set-role", required_argument, NULL, 'S' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "max-per-addr", required_argument, NULL, 'A' },
		{ "playback-secret-file", required_argument, NULL, 'Y' },
		{ "pw-threads", required_argument, NULL, 'w' }, { "pw-queue", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	while ((c = getopt_long(argc, argv, "hVl:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-api %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case 'l': listen_s = optarg; break;
		case 'c': scfg.cert = optarg; break;
		case 'k': scfg.key = optarg; break;
		case 'o': acfg.cors = optarg; break;
		case 'P': port_file = optarg; break;
		case 'M': mx_addr = optarg; break;
		case 'Y': play_file = optarg; break;
		case 'R': routes = 1; break;
		case 'S': role_arg = optarg; break;
		case 'n':
			if (lsp_opt_long(optarg, 10, 20, &v) < 0)
				goto bad;
			acfg.scrypt_log2n = (int)v;
			break;
		case 't':
			if (lsp_opt_long(optarg, 60, 365L * 86400, &v) < 0)
				goto bad;
			acfg.session_ttl = v;
			break;
		case 'u':
			if (lsp_opt_long(optarg, 1, 1000000, &v) < 0)
				goto bad;
			acfg.rl_user_burst = (int)v;
			break;
		case 'a':
			if (lsp_opt_long(optarg, 1, 1000000, &v) < 0)
				goto bad;
			acfg.rl_addr_burst = (int)v;
			break;
		case 'g':
			if (lsp_opt_long(optarg, 1, 1000000, &v) < 0)
				goto bad;
			acfg.rl_signup_burst = (int)v;
			break;
		case 'm':
			if (lsp_opt_long(optarg, 1, 1000000, &v) < 0)
				goto bad;
			scfg.max_conns = (int)v;
			break;
		case 'A':
			if (lsp_opt_long(optarg, 0, 1000000, &v) < 0)
				goto bad;
			scfg.max_per_addr = v ? (int)v : -1;
			break;
		case 'w':
			if (lsp_opt_long(optarg, 1, 64, &v) < 0)
				goto bad;
			acfg.pw_threads = (int)v;
			break;
		case 'q':
			if (lsp_opt_long(optarg, 1, 65536, &v) < 0)
				goto bad;
			acfg.pw_queue = (int)v;
			break;
		default: goto bad;
		}
	}
	if (optind != argc || !!scfg.cert != !!scfg.key || lsp_opt_hostport(listen_s, "", host, sizeof host, &port) < 0)
		goto bad;
	if (routes) {
		lsp_api_routes(print_route, NULL);
		return fflush(stdout) == 0 ? LSP_EXIT_OK : LSP_EXIT_SYS;
	}
	if (lsp_store_open_env(&st, err, sizeof err) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to open the store", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	if (role_arg) {
		ret = set_role(&app, st, role_arg, nats);
		lsp_store_close(st);
		return ret;
	}
	if ((slen = lsp_token_secret(lsp_opt_env("LSP_DATA_DIR", "./var"), secret, sizeof secret, err, sizeof err)) <
	    0) {
		lsp_log(&app.lg, LSP_FATAL, "no token secret", "reason", LSV_S(err), NULL);
		goto done;
	}
	if ((play_len = lsp_sigtok_secret_load(play_file, "LSP_PLAYBACK_SECRET", play_secret, sizeof play_secret, err,
					       sizeof err)) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to read the playback secret", "reason", LSV_S(err), NULL);
		ret = LSP_EXIT_USAGE;
		goto done;
	}
	if (play_len > 0) {
		acfg.play_secret = play_secret;
		acfg.play_secret_len = (size_t)play_len;
	}
	lsp_log(&app.lg, LSP_INFO, play_len > 0 ? "playback tokens on" : "playback tokens off", NULL);
	if (nats && *nats) {
		if (lsp_health_new(&health) < 0) {
			lsp_log(&app.lg, LSP_FATAL, "out of memory", NULL);
			goto done;
		}
		if (lsp_bus_open_ev(&bus, nats, 2000, "lsp-api", lsp_event_log, &app.lg, err, sizeof err) < 0 ||
		    lsp_store_open_env(&arch.st, err, sizeof err) < 0 ||
		    lsp_bus_subscribe(bus, LSP_SUBJ_CHAT_ANY, lsp_archive_on_msg, &arch, &sub_chat, err, sizeof err) < 0 ||
		    lsp_bus_subscribe(bus, LSP_SUBJ_HEALTH_ANY, lsp_health_on_msg, health, &sub_health, err,
				      sizeof err) < 0) {
			lsp_log(&app.lg, LSP_FATAL, "unable to use NATS", "reason", LSV_S(err), NULL);
			goto done;
		}
		kick.bus = bus;
	}
	acfg.st = st;
	acfg.secret = secret;
	acfg.secretlen = (size_t)slen;
	acfg.data_dir = lsp_opt_env("LSP_DATA_DIR", "./var");
	acfg.kick = lsp_kick_send;
	acfg.kick_ctx = &kick;
	acfg.revoke = lsp_kick_revoke;
	acfg.revoke_ctx = &kick;
	acfg.health = lsp_health_get;
	acfg.health_ctx = health;
	acfg.event = on_event;
	acfg.event_ctx = &app;
	if (lsp_api_open(&api, &acfg, err, sizeof err) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), NULL);
		goto done;
	}
	if (mx_addr) {
		if (lsp_metrics_new(&app.mx, "lsp-api") < 0) {
			lsp_log(&app.lg, LSP_FATAL, "out of memory", NULL);
			goto done;
		}
		lsp_metrics_def(app.mx, "lsp_api_requests_total", LSP_METRIC_COUNTER, "requests answered, by status class");
		lsp_metrics_def(app.mx, "lsp_api_bytes_in_total", LSP_METRIC_COUNTER, "request body bytes");
		lsp_metrics_def(app.mx, "lsp_api_bytes_out_total", LSP_METRIC_COUNTER, "response body bytes");
		lsp_metrics_def(app.mx, "lsp_api_errors_total", LSP_METRIC_COUNTER, "warnings and errors, by kind");
		if (lsp_metrics_serve_addr(app.mx, mx_addr, err, sizeof err) < 0) {
			lsp_log(&app.lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			goto done;
		}
		lsp_log(&app.lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(app.mx)), NULL);
	}
	scfg.host = host;
	scfg.port = port;
	scfg.handler = lsp_api_serve;
	scfg.handler_ctx = api;
	scfg.event = on_event;
	scfg.event_ctx = &app;
	scfg.tick = lsp_api_tick;
	scfg.tick_ctx = api;
	scfg.wake_fd = lsp_api_wake_fd(api);
	scfg.wake = lsp_api_wake;
	scfg.wake_ctx = api;
	if (lsp_apisrv_open(&srv, &scfg, err, sizeof err) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to listen", "reason", LSV_S(err), NULL);
		goto done;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (port_file && write_port(port_file, lsp_apisrv_port(srv)) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to write the port file", "file", LSV_S(port_file), NULL);
		goto done;
	}
	lsp_log(&app.lg, LSP_INFO, "listening", "port", LSV_I(lsp_apisrv_port(srv)), "tls", LSV_B(scfg.cert != NULL),
		"store", LSV_S(lsp_store_backend(st)), "nats", LSV_B(bus != NULL), NULL);
	lsp_sdnotify("READY=1");
	if (lsp_apisrv_run(srv, &stop_flag, err, sizeof err) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "loop failed", "reason", LSV_S(err), NULL);
		goto done;
	}
	lsp_sdnotify("STOPPING=1");
	lsp_log(&app.lg, LSP_INFO, "stopped", NULL);
	ret = LSP_EXIT_OK;
done:
	lsp_apisrv_close(srv);
	if (sub_chat)
		lsp_bus_unsubscribe(sub_chat);
	if (sub_health)
		lsp_bus_unsubscribe(sub_health);
	lsp_bus_close(bus);
	lsp_store_close(arch.st);
	lsp_health_free(health);
	lsp_api_close(api);
	lsp_metrics_free(app.mx);
	lsp_store_close(st);
	return ret;
bad:
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
