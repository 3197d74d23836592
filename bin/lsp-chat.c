/* lsp-chat — WebSocket chat node: say/history, tips, presence and
 * moderation for /ws/<channel>, fanned out over NATS when LSP_NATS_URL is
 * set; viewer counts for many channels on GET /presence.  Exit codes (man/lsp.7): 0 stopped by a signal, 100 usage, 111
 * store, bus or socket failure. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "chat/chatsrv.h"
#include "core/event.h"
#include "core/exit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "core/sdnotify.h"
#include "state/store.h"
#include "state/token.h"

static const char usage[] =
	"usage: lsp-chat [-h] [-V] [-l [HOST]:PORT] [--history N] [--max-clients N] [--max-msg BYTES]\n"
	"                [--rate PER_S] [--burst N] [--flood PER_S] [--node ID] [--metrics ADDR]\n"
	"                [--recheck SECONDS]\n"
	"  -l, --listen [HOST]:PORT  WebSocket address (default :8081), path /ws/<channel>;\n"
	"                            GET /presence?channels=a,b there: viewer counts as JSON\n"
	"  --history N               messages kept per channel for joiners (default 50)\n"
	"  --max-clients N           connections accepted at once (default 100000)\n"
	"  --max-msg BYTES           largest client message (default 4096; larger: close 1009)\n"
	"  --rate PER_S, --burst N   chat messages per second per user, bucket size (1, 5)\n"
	"  --flood PER_S             any messages per second per connection (default 20, burst\n"
	"                            twice that; beyond: error replies, then close 1008)\n"
	"  --node ID                 node id in presence reports (default host-pid-random)\n"
	"  --metrics [HOST]:PORT     serve Prometheus text at /metrics (host default 127.0.0.1)\n"
	"  --recheck SECONDS         re-check open sockets' rights (role, account, channel) in the\n"
	"                            store this often (default 30; 300 with NATS, where\n"
	"                            lsp.auth.revoke acts at once; 0 never)\n"
	"environment: LSP_NATS_URL (fan-out across nodes), LSP_REDIS_URL (presence and rate limits\n"
	"  across nodes), LSP_DATA_DIR, LSP_DB_URL (store), LSP_SECRET (token key), LSP_LOG_LEVEL\n"
	"exit: 0 stopped, 100 usage, 111 store, bus or socket failure\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* What the chat node reports: logged, counted, and "listening" is readiness. */
struct app {
	lsp_log_t lg;
	lsp_metrics *mx;
};

static void on_event(void *ctx, const lsp_event *ev)
{
	const struct app *a = ctx;
	const char *ch = lsp_event_str(ev, "channel");
	lsp_log_event(&a->lg, ev);
	if (lsp_event_is(ev, "listening"))
		lsp_sdnotify("READY=1");
	if (lsp_event_is(ev, "tip") && ch) {
		lsp_metrics_add(a->mx, "lsp_chat_tips_total", 1, "channel", ch, NULL);
		lsp_metrics_add(a->mx, "lsp_chat_tip_amount_total", (double)lsp_event_int(ev, "amount", 0), "channel",
				ch, NULL);
	}
	if (ev->level >= LSP_WARN || lsp_event_is(ev, "max clients"))
		lsp_metrics_add(a->mx, "lsp_chat_errors_total", 1, "kind", ev->name, NULL);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },	      { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' },   { "history", required_argument, NULL, 1 },
		{ "max-clients", required_argument, NULL, 2 }, { "max-msg", required_argument, NULL, 3 },
		{ "rate", required_argument, NULL, 4 },	      { "burst", required_argument, NULL, 5 },
		{ "node", required_argument, NULL, 6 },	      { "flood", required_argument, NULL, 7 },
		{ "metrics", required_argument, NULL, 8 },    { "recheck", required_argument, NULL, 9 },
		{ NULL, 0, NULL, 0 }
	};
	struct app app = { 0 };
	lsp_log_t *lg = &app.lg;
	lsp_chatsrv_cfg cfg = { 0 };
	lsp_chatsrv *srv = NULL;
	lsp_store *st = NULL;
	lsp_metrics *mx = NULL;
	const char *mx_addr = NULL;
	unsigned char secret[LSP_SECRET_MAX];
	char host[256] = "", err[512] = "";
	long v;
	int c, rc, code = LSP_EXIT_SYS;
	struct rlimit rl;
	struct sigaction sa;

	lsp_log_init(lg, "lsp-chat");
	cfg.port = 8081;
	while ((c = getopt_long(argc, argv, "hVl:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-chat %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case 'l':
			if (lsp_opt_hostport(optarg, "", host, sizeof host, &cfg.port) < 0)
				goto bad;
			break;
		case 1: if (lsp_opt_long(optarg, 0, 10000, &v) < 0) goto bad; cfg.history = (int)v; break;
		case 2: if (lsp_opt_long(optarg, 1, 10000000, &v) < 0) goto bad; cfg.max_clients = (int)v; break;
		case 3: if (lsp_opt_long(optarg, 256, 1 << 20, &v) < 0) goto bad; cfg.max_msg = (size_t)v; break;
		case 4: if (lsp_opt_double(optarg, 0.001, 1000, &cfg.rate) < 0) goto bad; break;
		case 5: if (lsp_opt_long(optarg, 1, 10000, &v) < 0) goto bad; cfg.burst = (int)v; break;
		case 6: if (!lsp_name_valid(optarg)) goto bad; cfg.node = optarg; break;
		case 7: if (lsp_opt_double(optarg, 1, 100000, &cfg.flood) < 0) goto bad; break;
		case 8: mx_addr = optarg; break;
		case 9: if (lsp_opt_long(optarg, 0, 86400, &v) < 0) goto bad; cfg.recheck_s = v ? (int)v : -1; break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc)
		goto bad;
	cfg.host = host;
	cfg.nats_url = lsp_opt_env("LSP_NATS_URL", NULL);
	cfg.redis_url = lsp_opt_env("LSP_REDIS_URL", NULL);
	cfg.event = on_event;
	cfg.event_ctx = &app;

	/* thousands of sockets: raise the descriptor limit as far as allowed */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((rc = lsp_token_secret(lsp_opt_env("LSP_DATA_DIR", "./var"), secret, sizeof secret, err, sizeof err)) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to load the token secret", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	cfg.secret = secret;
	cfg.secretlen = (size_t)rc;
	if (lsp_store_open_env(&st, err, sizeof err) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to open store", "reason", LSV_S(err), NULL);
		goto done;
	}
	cfg.st = st;
	if (mx_addr) {
		if (lsp_metrics_new(&mx, "lsp-chat") < 0) {
			lsp_log(lg, LSP_FATAL, "out of memory", NULL);
			goto done;
		}
		lsp_chatsrv_metrics_def(mx);
		if ((rc = lsp_metrics_serve_addr(mx, mx_addr, err, sizeof err)) < 0) {
			lsp_log(lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			code = rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
			goto done;
		}
		lsp_log(lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(mx)), NULL);
		cfg.metrics = app.mx = mx;
	}
	if (lsp_chatsrv_open(&srv, &cfg, err, sizeof err) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to start", "reason", LSV_S(err), NULL);
		goto done;
	}
	if (lsp_chatsrv_run(srv, &stop, err, sizeof err) < 0) {
		lsp_log(lg, LSP_FATAL, "loop failed", "reason", LSV_S(err), NULL);
		goto done;
	}
	lsp_sdnotify("STOPPING=1");
	lsp_log(lg, LSP_INFO, "stopped", NULL);
	code = LSP_EXIT_OK;
done:
	lsp_chatsrv_close(srv);
	lsp_metrics_free(mx);
	lsp_store_close(st);
	memset(secret, 0, sizeof secret);
	return code;
bad:
	fprintf(stderr, "lsp-chat: bad option value or argument\n");
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}
