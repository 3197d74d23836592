/* lsp-ingest — RTMP, RTMPS and SRT publishers in, MPEG-TS out.  The server
 * (listeners, one forked child per connection, the stop on SIGTERM/SIGINT)
 * is lib/ingestsrv; each connection is served by lib/ingest's protocol
 * table.  This file parses the options, blocks the signals, starts the
 * server, writes its events on stderr and tells systemd it is ready on
 * the server's "listening" event.
 * Exit codes (man/lsp.7): 0 stopped by a signal, 100 usage, 111 system
 * failure (cannot listen). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/event.h"
#include "core/exit.h"
#include "ingest/ingestsrv.h"
#include "core/log.h"
#include "core/opt.h"
#include "core/sdnotify.h"
#include "core/webhook.h"
#include "state/chanhook.h"
#include "media/avlog.h"

#define MAX_CONN_LIMIT 65536

static const char usage[] =
	"usage: lsp-ingest [-h] [-V] [-l [HOST:]PORT] [-a APP] [-o FILE | -e COMMAND] [-t SECONDS]\n"
	"                  [-m MAXCONN] [--tls-listen [HOST:]PORT --cert FILE --key FILE]\n"
	"                  [--srt-listen [HOST:]PORT] [--srt-call HOST:PORT --srt-streamid ID]\n"
	"                  [--srt-latency MS] [--srt-pbkeylen 16|24|32] [--metrics [HOST:]PORT]\n"
	"  -l, --listen [HOST:]PORT  RTMP listen address (default :1935)\n"
	"  -a, --app APP             RTMP application name (default live)\n"
	"  -o, --output FILE         write each publish's MPEG-TS to FILE ({channel} expanded;\n"
	"                            default stdout)\n"
	"  -e, --exec COMMAND        run COMMAND per publish via /bin/sh -c with the TS on its\n"
	"                            stdin ({channel} expanded)\n"
	"  -t, --timeout SECONDS     end a publish after SECONDS without media (default 10)\n"
	"  -m, --max-conn N          concurrent connections (default 1024; when all are taken\n"
	"                            the oldest not publishing yet is closed to make room)\n"
	"      --max-per-addr N      connections from one client address (default 64, 0 none;\n"
	"                            127.0.0.1 and ::1 are never capped)\n"
	"      --tls-listen [HOST:]PORT  RTMPS listen address (e.g. :1936); needs --cert, --key\n"
	"      --cert FILE           PEM certificate chain for RTMPS\n"
	"      --key FILE            PEM private key for RTMPS\n"
	"      --srt-listen [HOST:]PORT  SRT listener (e.g. :9000); streamid carries the key\n"
	"      --srt-call HOST:PORT  SRT caller: pull from a remote SRT listener, redial on loss\n"
	"      --srt-streamid ID     streamid sent in caller mode (its key picks the channel)\n"
	"      --srt-latency MS      SRT receiver latency (default 120)\n"
	"      --srt-pbkeylen N      AES key length with a passphrase: 16, 24 or 32\n"
	"      --metrics [HOST:]PORT Prometheus /metrics (live channels, publishes, refusals,\n"
	"                            bytes in per channel, errors by kind)\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL, LSP_NATS_URL, LSP_LOG_LEVEL,\n"
	"             LSP_SRT_PASSPHRASE (SRT encryption, 10..79 characters),\n"
	"             LSP_WEBHOOK_URL, LSP_WEBHOOK_SECRET[_FILE], LSP_WEBHOOK_TIMEOUT (seconds,\n"
	"             default 2), LSP_WEBHOOK_FAIL=open|closed (admission at publish start),\n"
	"             LSP_WEBHOOK_PER_CHANNEL (0: never a channel's own webhook_url)\n"
	"exit: 0 stopped by signal, 100 usage, 111 system failure\n";

/* Every event of the server, its children and SRT: one log line each. */
static void on_event(void *lg, const lsp_event *ev)
{
	lsp_log_event(lg, ev);
	if (lsp_event_is(ev, "listening"))
		lsp_sdnotify("READY=1");
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	char host[4][256] = { "" }, err[512], rundir[512]; /* RTMP, RTMPS, SRT listener, SRT caller */
	const char *mx_addr = NULL, *child_spec = NULL;
	int c, rc = LSP_EXIT_SYS, status = 0;
	long v, tmo = 10;
	sigset_t mask;
	lsp_ingestsrv_cfg cfg = { .host = host[0], .port = 1935, .tls_host = host[1], .max_conn = 1024,
				  .max_per_addr = 64,
				  .mask = &mask, .event = on_event, .event_ctx = &lg };
	lsp_srtin_cfg scfg = { 0 };
	int *port[4] = { &cfg.port, &cfg.tls_port, &scfg.port, &scfg.call_port };
	lsp_ingestsrv *srv = NULL;
	lsp_metrics *mx = NULL;
	lsp_webhook_conf hook;
	/* the address options first, in host[]'s order after -l */
	enum { O_TLS = 256, O_SRT, O_SRTCALL, O_CERT, O_KEY, O_SRTSID, O_SRTLAT, O_SRTPBK, O_METRICS, O_PERADDR, O_CHILD };
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' }, { "app", required_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' }, { "exec", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' }, { "max-conn", required_argument, NULL, 'm' },
		{ "tls-listen", required_argument, NULL, O_TLS }, { "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY }, { "srt-listen", required_argument, NULL, O_SRT },
		{ "srt-call", required_argument, NULL, O_SRTCALL }, { "srt-streamid", required_argument, NULL, O_SRTSID },
		{ "srt-latency", required_argument, NULL, O_SRTLAT }, { "srt-pbkeylen", required_argument, NULL, O_SRTPBK },
		{ "metrics", required_argument, NULL, O_METRICS }, { "max-per-addr", required_argument, NULL, O_PERADDR },
		{ "serve-child", required_argument, NULL, O_CHILD }, { NULL, 0, NULL, 0 }
	};

	lsp_log_init(&lg, "lsp-ingest");
	/* libav's own messages as JSON events, never plain text on stderr */
	lsp_avlog_route(lsp_event_log, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	cfg.conn.app = "live";
	while ((c = getopt_long(argc, argv, "hVl:a:o:e:t:m:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-ingest %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case O_METRICS: mx_addr = optarg; break;
		case O_CHILD: child_spec = optarg; break; /* internal: a connection's exec'd child */
		case 'l':
		case O_TLS:
		case O_SRT:
		case O_SRTCALL: {
			int i = c == 'l' ? 0 : c - O_TLS + 1;
			if (lsp_opt_hostport(optarg, "", host[i], sizeof host[i], port[i]) < 0) {
				fprintf(stderr, "lsp-ingest: bad address: %s\n", optarg);
				return LSP_EXIT_USAGE;
			}
			if (c == O_SRTCALL && !host[i][0]) /* a caller needs a host */
				return LSP_EXIT_USAGE;
			break;
		}
		case O_CERT: cfg.cert = optarg; break;
		case O_KEY: cfg.key = optarg; break;
		case O_SRTSID: scfg.call_streamid = optarg; break;
		case 'a': cfg.conn.app = optarg; break;
		case 'o': cfg.conn.out_tmpl = optarg; break;
		case 'e': cfg.conn.exec_tmpl = optarg; break;
		case O_PERADDR:
			if (lsp_opt_long(optarg, 0, MAX_CONN_LIMIT, &v) < 0) {
				fprintf(stderr, "lsp-ingest: bad option value: %s\n", optarg);
				return LSP_EXIT_USAGE;
			}
			cfg.max_per_addr = v;
			break;
		case O_SRTLAT:
		case O_SRTPBK:
		case 't':
		case 'm':
			if (lsp_opt_long(optarg, c == O_SRTPBK ? 16 : c == O_SRTLAT ? 20 : 1,
					 c == 't' ? 3600 : c == 'm' ? MAX_CONN_LIMIT : c == O_SRTPBK ? 32 : 10000, &v) < 0 ||
			    (c == O_SRTPBK && v % 8 != 0)) {
				fprintf(stderr, "lsp-ingest: bad option value: %s\n", optarg);
				return LSP_EXIT_USAGE;
			}
			if (c == 't')
				tmo = v;
			else if (c == 'm')
				cfg.max_conn = v;
			else if (c == O_SRTLAT)
				scfg.latency_ms = (int)v;
			else
				scfg.pbkeylen = (int)v;
			break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc || (cfg.conn.out_tmpl && cfg.conn.exec_tmpl) ||
	    (cfg.tls_port && (!cfg.cert || !cfg.key)) || (scfg.call_port && !scfg.call_streamid)) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	snprintf(rundir, sizeof rundir, "%s/run", lsp_opt_env("LSP_DATA_DIR", "./var"));
	cfg.conn.run_dir = rundir;
	cfg.conn.nats_url = getenv("LSP_NATS_URL");
	cfg.conn.hs_timeout_s = cfg.conn.cmd_timeout_s = 10;
	cfg.conn.media_timeout_s = (int)tmo;
	scfg.host = scfg.port ? host[2] : NULL;
	scfg.call_host = scfg.call_port ? host[3] : NULL;
	if (scfg.port || scfg.call_port)
		scfg.passphrase = getenv("LSP_SRT_PASSPHRASE");
	if (lsp_webhook_conf_env(&hook, err, sizeof err) < 0) {
		fprintf(stderr, "lsp-ingest: %s\n", err);
		return LSP_EXIT_USAGE;
	}
	if (!hook.secret_len) /* no global URL: a channel's own still needs the secret */
		(void)lsp_webhook_secret(getenv("LSP_WEBHOOK_SECRET"), getenv("LSP_WEBHOOK_SECRET_FILE"), hook.secret,
					 sizeof hook.secret, &hook.secret_len, err, sizeof err);
	cfg.conn.hook_per_channel = lsp_chanhook_enabled();
	cfg.conn.hook_url = hook.url;
	cfg.conn.hook_secret = hook.secret;
	cfg.conn.hook_secret_len = hook.secret_len;
	cfg.conn.hook_timeout_ms = hook.timeout_ms;
	cfg.conn.hook_fail_closed = hook.fail_closed;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL); /* before any thread: they inherit it */
	if (child_spec) { /* one connection, exec'd by the server below in the parent */
		lsp_metrics *cmx = NULL;
		unsetenv("LSP_WEBHOOK_SECRET"); /* read above; not for the --exec commands */
		if (lsp_ingestsrv_child(&cfg, &cmx, child_spec, &status, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "bad child spec", "reason", LSV_S(err), NULL);
			return LSP_EXIT_USAGE;
		}
		lsp_metrics_detach(cmx);
		return status;
	}
	/* every connection's child is exec'd again from this argv: it inherits
	 * no thread and no lock (libsrt's, the metrics responder's) */
	cfg.argv = argv;
	cfg.argc = argc;
	if (lsp_ingestsrv_open(&srv, &cfg, err, sizeof err) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to listen", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	if ((scfg.port || scfg.call_port) && lsp_ingestsrv_srt(srv, &scfg, err, sizeof err) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to start SRT", "reason", LSV_S(err), NULL);
		goto fail;
	}
	if (mx_addr) { /* shared: the forked children count into the same registry */
		if (lsp_metrics_new_shared(&mx, "lsp-ingest") < 0) {
			lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
			goto fail;
		}
		lsp_ingestsrv_metrics(srv, mx);
		if (lsp_metrics_serve_addr(mx, mx_addr, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			rc = LSP_EXIT_USAGE;
			goto fail;
		}
	}
	if (lsp_ingestsrv_run(srv, &status) == LSP_INGESTSRV_CHILD)
		_exit(status); /* a connection's child: what is left belongs to the parent */
	lsp_ingestsrv_close(srv);
	lsp_metrics_free(mx);
	lsp_log(&lg, LSP_INFO, "stopped", NULL);
	return LSP_EXIT_OK;
fail:
	lsp_ingestsrv_close(srv);
	lsp_metrics_free(mx);
	return rc;
}
