/* lsp-api — accounts, sessions, channels and stream keys, privacy requests,
 * as JSON over HTTP(S) (docs/api.md).  lib/api/api.c has the routes,
 * lib/api/apisrv.c the connection loop.  With LSP_NATS_URL it publishes
 * lsp.ctl.<channel>.kick, keeps the last lsp.stream.<channel>.health and
 * archives lsp.chat.<channel> messages for data-subject requests.
 * Exit codes (man/lsp.7): 0 stopped by a signal, 1 --set-role found no
 * such user, 100 usage, 111 system failure. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/apisrv.h"
#include "bus/bus.h"
#include "state/dsar.h"
#include "core/exit.h"
#include "core/key.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "api/passwd.h"
#include "core/sdnotify.h"
#include "state/store.h"
#include "state/token.h"
#include "bus/subjects.h"

static const char usage[] =
	"usage: lsp-api [-h] [-V] [-l [HOST:]PORT] [--cert FILE --key FILE] [--cors ORIGINS]\n"
	"               [--scrypt-log2n N] [--session-ttl S] [--rate-user N] [--rate-addr N]\n"
	"               [--max-conns N] [--port-file FILE] [--metrics [HOST]:PORT]\n"
	"       lsp-api --routes | --set-role USER=ROLE\n"
	"  -l, --listen ADDR     listen address (default :8082; port 0 picks one)\n"
	"  --cert FILE --key FILE  serve HTTPS (and send HSTS) with this PEM chain and key\n"
	"  --cors ORIGINS        comma-separated origins whose pages may call the API with\n"
	"                        credentials, e.g. https://tv.example:8080\n"
	"  --scrypt-log2n N      password hash cost N (10..20, default 15)\n"
	"  --session-ttl S       session lifetime in seconds (default 604800)\n"
	"  --rate-user N         sign-in attempts per account before waiting (default 5, +1/min)\n"
	"  --rate-addr N         sign-in/sign-up attempts per address (default 30, +1 per 2 s)\n"
	"  --max-conns N         open connections at most (default 1024)\n"
	"  --port-file FILE      write the bound port to FILE once listening\n"
	"  --metrics ADDR        serve Prometheus text at /metrics (host default 127.0.0.1)\n"
	"  --routes              print the route table (method, path, roles) and exit\n"
	"  --set-role USER=ROLE  set a user's role (viewer|creator|mod|admin) and exit\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL, LSP_SECRET, LSP_NATS_URL,\n"
	"  LSP_LOG_LEVEL\n"
	"exit: 0 stopped by SIGINT/SIGTERM, 1 no such user, 100 usage, 111 system failure\n";

#define HEALTH_MAX 256

struct health {
	pthread_mutex_t mu;
	int n;
	struct {
		char ch[LSP_NAME_MAX + 1];
		char json[1024];
	} e[HEALTH_MAX];
};

struct app {
	lsp_log_t lg;
	lsp_bus *bus;
	lsp_store *arch;   /* the chat archiver's own connection (a nats.c thread) */
	struct health *h;
	lsp_store *st;      /* the loop's store (tick) */
	time_t next_sweep;
	lsp_api *api;
	lsp_metrics *mx;    /* NULL without --metrics */
};

/* The API's handler, counted: requests by status class, bytes in and out. */
static void serve_counted(void *ctx, const lsp_apisrv_req *rq, lsp_apisrv_resp *rs)
{
	struct app *a = ctx;
	static const char *const cls[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	lsp_api_serve(a->api, rq, rs);
	int k = rs->status / 100 - 1;
	lsp_metrics_add(a->mx, "lsp_api_requests_total", 1, "code", k >= 0 && k < 5 ? cls[k] : "other", NULL);
	lsp_metrics_add(a->mx, "lsp_api_bytes_in_total", (double)rq->body_len, NULL);
	lsp_metrics_add(a->mx, "lsp_api_bytes_out_total", (double)rs->body_len, NULL);
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void srv_log(void *ctx, int level, const char *msg, const char *detail)
{
	struct app *a = ctx;
	lsp_log(&a->lg, level, msg, "detail", LSV_S(detail), NULL);
	if (level >= LSP_WARN)
		lsp_metrics_add(a->mx, "lsp_api_errors_total", 1, "kind", msg, NULL);
}

static void api_log(void *ctx, int level, const char *msg, const char *k1, const char *v1, const char *k2,
		    const char *v2)
{
	struct app *a = ctx;
	if (k2)
		lsp_log(&a->lg, level, msg, k1, LSV_S(v1), k2, LSV_S(v2), NULL);
	else if (k1)
		lsp_log(&a->lg, level, msg, k1, LSV_S(v1), NULL);
	else
		lsp_log(&a->lg, level, msg, NULL);
}

/* About once a second from the loop: drop expired sessions each minute. */
static int tick(void *ctx)
{
	struct app *a = ctx;
	char now[24], err[256];
	const char *p[1] = { now };
	time_t t = time(NULL);
	if (t < a->next_sweep)
		return 0;
	a->next_sweep = t + 60;
	snprintf(now, sizeof now, "%lld", (long long)t);
	if (lsp_store_exec(a->st, "DELETE FROM sessions WHERE expires_at <= $1", 1, p, NULL, NULL, err, sizeof err) < 0)
		lsp_log(&a->lg, LSP_WARN, "expired sessions not swept", "reason", LSV_S(err), NULL);
	return 0;
}

static int kick(void *ctx, const char *channel)
{
	struct app *a = ctx;
	char subj[LSP_SUBJ_CAP], body[LSP_NAME_MAX + 64], err[256];
	if (!a->bus || lsp_subject(subj, sizeof subj, LSP_SUBJ_KICK, channel) < 0)
		return -1;
	snprintf(body, sizeof body, "{\"channel\":\"%s\",\"action\":\"kick\"}", channel);
	if (lsp_bus_publish(a->bus, subj, body, err, sizeof err) < 0 || lsp_bus_flush(a->bus, 500, err, sizeof err) < 0) {
		lsp_log(&a->lg, LSP_WARN, "kick not sent", "channel", LSV_S(channel), "reason", LSV_S(err), NULL);
		return -1;
	}
	lsp_log(&a->lg, LSP_INFO, "kick sent", "channel", LSV_S(channel), NULL);
	return 0;
}

/* lsp.stream.<channel>.health → the table (a nats.c thread). */
static void on_health(void *ctx, const char *subject, const char *data, size_t len)
{
	struct app *a = ctx;
	char ch[LSP_NAME_MAX + 1];
	int i;
	if (lsp_subject_parse(subject, ch, sizeof ch) != LSP_SUBJ_HEALTH || len >= 1024)
		return;
	pthread_mutex_lock(&a->h->mu);
	for (i = 0; i < a->h->n && strcmp(a->h->e[i].ch, ch) != 0; i++)
		;
	if (i == a->h->n && a->h->n < HEALTH_MAX)
		a->h->n++;
	if (i < HEALTH_MAX) {
		snprintf(a->h->e[i].ch, sizeof a->h->e[i].ch, "%s", ch);
		memcpy(a->h->e[i].json, data, len);
		a->h->e[i].json[len] = 0;
	}
	pthread_mutex_unlock(&a->h->mu);
}

static int health(void *ctx, const char *channel, char *out, size_t cap)
{
	struct app *a = ctx;
	int rc = -1;
	if (!a->h)
		return -1;
	pthread_mutex_lock(&a->h->mu);
	for (int i = 0; i < a->h->n; i++)
		if (!strcmp(a->h->e[i].ch, channel)) {
			snprintf(out, cap, "%s", a->h->e[i].json);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&a->h->mu);
	return rc;
}

/* lsp.chat.<channel> → chat_messages (a nats.c thread, its own store). */
static void on_chat(void *ctx, const char *subject, const char *data, size_t len)
{
	struct app *a = ctx;
	char err[256];
	(void)subject;
	if (lsp_dsar_chat_event(a->arch, data, len, err, sizeof err) < 0)
		lsp_log(&a->lg, LSP_WARN, "chat message not archived", "reason", LSV_S(err), NULL);
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

int main(int argc, char **argv)
{
	struct app app;
	lsp_api_cfg acfg;
	lsp_apisrv_cfg scfg;
	lsp_store *st = NULL;
	lsp_api *api = NULL;
	lsp_apisrv *srv = NULL;
	lsp_bus_sub *sub_chat = NULL, *sub_health = NULL;
	unsigned char secret[LSP_SECRET_MAX];
	char host[256] = "", err[512] = "";
	const char *listen_s = ":8082", *port_file = NULL, *set_role = NULL, *nats = getenv("LSP_NATS_URL");
	const char *mx_addr = NULL;
	struct sigaction sa;
	long v;
	int c, port, rc, routes = 0, slen, ret = LSP_EXIT_SYS;

	memset(&app, 0, sizeof app);
	memset(&acfg, 0, sizeof acfg);
	memset(&scfg, 0, sizeof scfg);
	lsp_log_init(&app.lg, "lsp-api");
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },    { "cors", required_argument, NULL, 'o' },
		{ "scrypt-log2n", required_argument, NULL, 'n' }, { "session-ttl", required_argument, NULL, 't' },
		{ "rate-user", required_argument, NULL, 'u' }, { "rate-addr", required_argument, NULL, 'a' },
		{ "max-conns", required_argument, NULL, 'm' }, { "port-file", required_argument, NULL, 'P' },
		{ "routes", no_argument, NULL, 'R' },	    { "set-role", required_argument, NULL, 'S' },
		{ "metrics", required_argument, NULL, 'M' },
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
		case 'R': routes = 1; break;
		case 'S': set_role = optarg; break;
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
		case 'm':
			if (lsp_opt_long(optarg, 1, 1000000, &v) < 0)
				goto bad;
			scfg.max_conns = (int)v;
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
	if (set_role) {
		char user[LSP_NAME_MAX + 1];
		const char *eq = strchr(set_role, '=');
		if (!eq || (size_t)(eq - set_role) > LSP_NAME_MAX || !lsp_api_role_bit(eq + 1)) {
			lsp_store_close(st);
			goto bad;
		}
		memcpy(user, set_role, (size_t)(eq - set_role));
		user[eq - set_role] = 0;
		rc = lsp_api_set_role(st, user, eq + 1, err, sizeof err);
		lsp_store_close(st);
		if (rc < 0)
			lsp_log(&app.lg, LSP_ERROR, "role not set", "reason", LSV_S(err), NULL);
		return rc == 0 ? LSP_EXIT_OK : rc == -ENOENT ? LSP_EXIT_NO : LSP_EXIT_SYS;
	}
	if ((slen = lsp_token_secret(lsp_opt_env("LSP_DATA_DIR", "./var"), secret, sizeof secret, err, sizeof err)) <
	    0) {
		lsp_log(&app.lg, LSP_FATAL, "no token secret", "reason", LSV_S(err), NULL);
		goto done;
	}
	if (nats && *nats) {
		if (!(app.h = calloc(1, sizeof *app.h)) || pthread_mutex_init(&app.h->mu, NULL) != 0) {
			lsp_log(&app.lg, LSP_FATAL, "out of memory", NULL);
			goto done;
		}
		if (lsp_bus_open(&app.bus, nats, 2000, "lsp-api", err, sizeof err) < 0 ||
		    lsp_store_open_env(&app.arch, err, sizeof err) < 0 ||
		    lsp_bus_subscribe(app.bus, LSP_SUBJ_CHAT_ANY, on_chat, &app, &sub_chat, err, sizeof err) < 0 ||
		    lsp_bus_subscribe(app.bus, LSP_SUBJ_HEALTH_ANY, on_health, &app, &sub_health, err, sizeof err) < 0) {
			lsp_log(&app.lg, LSP_FATAL, "unable to use NATS", "reason", LSV_S(err), NULL);
			goto done;
		}
	}
	acfg.st = st;
	acfg.secret = secret;
	acfg.secretlen = (size_t)slen;
	acfg.data_dir = lsp_opt_env("LSP_DATA_DIR", "./var");
	acfg.kick = kick;
	acfg.kick_ctx = &app;
	acfg.health = health;
	acfg.health_ctx = &app;
	acfg.log = api_log;
	acfg.log_ctx = &app;
	if (lsp_api_open(&api, &acfg, err, sizeof err) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), NULL);
		goto done;
	}
	scfg.host = host;
	scfg.port = port;
	scfg.handler = lsp_api_serve;
	scfg.handler_ctx = api;
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
		app.api = api;
		scfg.handler = serve_counted;
		scfg.handler_ctx = &app;
	}
	scfg.log = srv_log;
	scfg.log_ctx = &app;
	scfg.tick = tick;
	scfg.tick_ctx = &app;
	app.st = st;
	if (lsp_apisrv_open(&srv, &scfg, err, sizeof err) < 0) {
		lsp_log(&app.lg, LSP_FATAL, "unable to listen", "reason", LSV_S(err), NULL);
		goto done;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%d\n", lsp_apisrv_port(srv)) < 0 || fclose(f) != 0) {
			lsp_log(&app.lg, LSP_FATAL, "unable to write the port file", "file", LSV_S(port_file), NULL);
			goto done;
		}
	}
	lsp_log(&app.lg, LSP_INFO, "listening", "port", LSV_I(lsp_apisrv_port(srv)), "tls", LSV_B(scfg.cert != NULL),
		"store", LSV_S(lsp_store_backend(st)), "nats", LSV_B(app.bus != NULL), NULL);
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
	lsp_metrics_free(app.mx);
	lsp_api_close(api);
	if (sub_chat)
		lsp_bus_unsubscribe(sub_chat);
	if (sub_health)
		lsp_bus_unsubscribe(sub_health);
	lsp_bus_close(app.bus);
	lsp_store_close(app.arch);
	if (app.h) {
		pthread_mutex_destroy(&app.h->mu);
		free(app.h);
	}
	lsp_store_close(st);
	return ret;
bad:
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
