/* lsp-hook — deliver a channel's live, health and ended events from NATS
 * (lsp.stream.<channel>.*) to LSP_WEBHOOK_URL (or the channel's own
 * webhook_url) as signed HTTP POSTs, with retries, one queue per receiver.  The work is lib/hook (the subscription and the delivery loop)
 * over core/webhook (signing and posting); this file parses the options,
 * reads the webhook settings, runs the loop until SIGTERM/SIGINT and
 * writes the events on stderr.
 * Exit codes (man/lsp.7): 0 stopped by a signal, 100 usage (or no
 * webhook configured), 111 system failure (NATS unreachable at start). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/event.h"
#include "core/exit.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "core/sdnotify.h"
#include "core/webhook.h"
#include "hook/hook.h"
#include "state/chanhook.h"

static const char usage[] =
	"usage: lsp-hook [-h] [-V] [--metrics [HOST:]PORT] [--queue N] [--concurrency N]\n"
	"                [--health-interval SECONDS] [--retry-max SECONDS] [--max-age SECONDS]\n"
	"                [--group NAME]\n"
	"  --metrics [HOST:]PORT    Prometheus /metrics (delivered, failures, dropped, queue)\n"
	"  --queue N                events held, all receivers together, while receivers are\n"
	"                           slow or down (default 1024; when full the oldest event of\n"
	"                           the longest receiver queue is dropped)\n"
	"  --concurrency N          receivers posted to at once (1..64, default 4)\n"
	"  --health-interval S      post a channel's health at most every S seconds\n"
	"                           (default 10; 0 posts every one, about once a second)\n"
	"  --retry-max S            longest wait between retries (default 30; they start\n"
	"                           at 1 s and double)\n"
	"  --max-age S              give up on an event after S seconds (default 600)\n"
	"  --group NAME             NATS queue group: lsp-hooks in one group share the events\n"
	"                           (default lsp-hook; \"\" makes every one post every event)\n"
	"environment: LSP_WEBHOOK_URL, LSP_WEBHOOK_SECRET or LSP_WEBHOOK_SECRET_FILE (required),\n"
	"             LSP_WEBHOOK_TIMEOUT (seconds per request, default 2), LSP_WEBHOOK_PER_CHANNEL\n"
	"             (0: never a channel's own webhook_url; else LSP_WEBHOOK_URL may be unset and\n"
	"             only channels with their own get events), LSP_DB_URL / LSP_DATA_DIR (the\n"
	"             channels' URLs), LSP_NATS_URL (default nats://127.0.0.1:4222), LSP_LOG_LEVEL\n"
	"exit: 0 stopped by signal, 100 usage, 111 system failure\n";

/* A channel's own URL (lib/state/chanhook.h), from the store. */
static int route(void *ctx, const char *channel, char *url, size_t cap)
{
	char err[256];
	(void)ctx;
	return lsp_chanhook_get(NULL, channel, url, cap, err, sizeof err) < 0 ? -1 : 0;
}

static void on_event(void *lg, const lsp_event *ev)
{
	lsp_log_event(lg, ev);
	if (lsp_event_is(ev, "subscribed"))
		lsp_sdnotify("READY=1");
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	char err[512] = "";
	const char *mx_addr = NULL;
	int c, rc = LSP_EXIT_SYS, sfd = -1;
	long v;
	sigset_t mask;
	lsp_webhook_conf wc;
	lsp_webhook *wh = NULL;
	lsp_metrics *mx = NULL;
	lsp_hook *h = NULL;
	lsp_hook_cfg cfg = { .queue_group = "lsp-hook", .queue_cap = 1024, .concurrency = LSP_HOOK_CONCURRENCY,
			     .health_interval_s = 10,
			     .retry_base_ms = 1000, .retry_max_ms = 30000, .max_age_ms = 600000,
			     .event = on_event, .event_ctx = &lg };
	enum { O_METRICS = 256, O_QUEUE, O_HEALTH, O_RETRY, O_AGE, O_GROUP, O_CONC };
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "metrics", required_argument, NULL, O_METRICS }, { "queue", required_argument, NULL, O_QUEUE },
		{ "health-interval", required_argument, NULL, O_HEALTH },
		{ "retry-max", required_argument, NULL, O_RETRY }, { "max-age", required_argument, NULL, O_AGE },
		{ "group", required_argument, NULL, O_GROUP }, { "concurrency", required_argument, NULL, O_CONC },
		{ NULL, 0, NULL, 0 }
	};

	lsp_log_init(&lg, "lsp-hook");
	while ((c = getopt_long(argc, argv, "hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-hook %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case O_METRICS: mx_addr = optarg; break;
		case O_GROUP: cfg.queue_group = optarg; break;
		case O_CONC:
			if (lsp_opt_long(optarg, 1, 64, &v) < 0) {
				fprintf(stderr, "lsp-hook: bad option value: %s\n", optarg);
				return LSP_EXIT_USAGE;
			}
			cfg.concurrency = (int)v;
			break;
		case O_QUEUE:
		case O_HEALTH:
		case O_RETRY:
		case O_AGE:
			if (lsp_opt_long(optarg, c == O_QUEUE || c == O_RETRY || c == O_AGE ? 1 : 0,
					 c == O_QUEUE ? 1000000 : 86400, &v) < 0) {
				fprintf(stderr, "lsp-hook: bad option value: %s\n", optarg);
				return LSP_EXIT_USAGE;
			}
			if (c == O_QUEUE)
				cfg.queue_cap = (size_t)v;
			else if (c == O_HEALTH)
				cfg.health_interval_s = (int)v;
			else if (c == O_RETRY)
				cfg.retry_max_ms = (int)v * 1000;
			else
				cfg.max_age_ms = (int64_t)v * 1000;
			break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	if (lsp_webhook_conf_env(&wc, err, sizeof err) < 0) {
		fprintf(stderr, "lsp-hook: %s\n", err);
		return LSP_EXIT_USAGE;
	}
	if (!wc.url && lsp_chanhook_enabled() && /* channels' own URLs only */
	    lsp_webhook_secret(getenv("LSP_WEBHOOK_SECRET"), getenv("LSP_WEBHOOK_SECRET_FILE"), wc.secret,
			       sizeof wc.secret, &wc.secret_len, err, sizeof err) < 0) {
		fprintf(stderr, "lsp-hook: %s\n", err);
		return LSP_EXIT_USAGE;
	}
	if (!wc.url && !wc.secret_len) {
		fprintf(stderr, "lsp-hook: LSP_WEBHOOK_URL is not set\n");
		return LSP_EXIT_USAGE;
	}
	if (lsp_chanhook_enabled())
		cfg.route = route;
	cfg.secret = wc.secret;
	cfg.secret_len = wc.secret_len;
	cfg.timeout_ms = wc.timeout_ms;
	cfg.nats_url = lsp_opt_env("LSP_NATS_URL", "nats://127.0.0.1:4222");

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL); /* before any thread: they inherit it */
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		lsp_log(&lg, LSP_FATAL, "signalfd failed", "reason", LSV_S(strerror(errno)), NULL);
		return LSP_EXIT_SYS;
	}
	if (wc.url && lsp_webhook_new(&wh, wc.url, wc.secret, wc.secret_len, wc.timeout_ms, err, sizeof err) < 0) {
		lsp_log(&lg, LSP_FATAL, "bad webhook", "reason", LSV_S(err), NULL);
		rc = LSP_EXIT_USAGE;
		goto out;
	}
	cfg.wh = wh;
	if (mx_addr) {
		if (lsp_metrics_new(&mx, "lsp-hook") < 0) {
			lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
			goto out;
		}
		lsp_hook_metrics(mx);
		cfg.mx = mx;
		if (lsp_metrics_serve_addr(mx, mx_addr, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			rc = LSP_EXIT_USAGE;
			goto out;
		}
	}
	if (lsp_hook_open(&h, &cfg, err, sizeof err) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to subscribe", "reason", LSV_S(err), NULL);
		goto out;
	}
	v = (long)lsp_hook_run(h, sfd);
	lsp_log(&lg, LSP_INFO, "stopped", "queued", LSV_I(v), NULL);
	rc = LSP_EXIT_OK;
out:
	lsp_hook_close(h);
	lsp_metrics_free(mx);
	lsp_webhook_free(wh);
	close(sfd);
	return rc;
}
