/* lsp-ingest — RTMP, RTMPS and SRT publishers in, MPEG-TS out.  The parent
 * accepts and forks one child per connection; the child serves it with the
 * protocol's entry in lib/ingest's table.  SRT connections arrive through
 * lib/srtin (its threads live in the parent and hand each one over as a
 * plain fd, so the child never touches libsrt).  The parent reaps children
 * and, on SIGTERM/SIGINT, stops accepting, signals them and waits.
 * Exit codes (man/lsp.7): 0 stopped by a signal, 100 usage, 111 system
 * failure (cannot listen). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <srt/srt.h>
#include <syslog.h>

#include "exit.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "opt.h"
#include "srtin.h"
#include "streamauth.h"

#define MAX_CONN_LIMIT 1024

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
	"  -m, --max-conn N          concurrent connections (default 64)\n"
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
	"             LSP_SRT_PASSPHRASE (SRT encryption, 10..79 characters)\n"
	"exit: 0 stopped by signal, 100 usage, 111 system failure\n";

struct ctx {
	lsp_log_t *lg;
	char why[320]; /* a store failure's detail, for the refusal note */
	volatile int quiet; /* stopping: libsrt's complaints about its closed listener are noise */
	lsp_metrics *mx;    /* NULL without --metrics; shared with the forked children */
};

static int auth(void *c, const char *key, char *channel, size_t cap, const char **reason)
{
	struct ctx *cx = c;
	char err[256];
	int rc = lsp_streamauth_check(NULL, key, channel, cap, reason, err, sizeof err);
	if (rc < 0) {
		snprintf(cx->why, sizeof cx->why, "store unavailable: %s", err);
		*reason = cx->why;
	}
	return rc == LSP_STREAMAUTH_OK ? 0 : -1;
}

/* SRT handshake hook (a libsrt thread): the same check, nothing shared. */
static int srt_check(void *c, const char *key, const char *remote, const char **reason)
{
	char channel[128], err[256];
	int rc = lsp_streamauth_check(NULL, key, channel, sizeof channel, reason, err, sizeof err);
	(void)c;
	(void)remote;
	return rc == LSP_STREAMAUTH_OK ? 0 : -1;
}

static void srt_note(void *c, int level, const char *msg, const char *remote, const char *detail)
{
	lsp_log(((struct ctx *)c)->lg, level, msg, "proto", LSV_S("srt"), "remote", LSV_S(remote), "reason",
		LSV_S(detail), NULL);
}

/* libsrt's own warnings (a wrong passphrase shows up only here) as JSON. */
static void srt_log(void *c, int level, const char *file, int line, const char *area, const char *msg)
{
	size_t n = strlen(msg);
	char m[512];
	const char *what = "srt library";
	(void)file;
	(void)line;
	(void)area;
	if (((struct ctx *)c)->quiet)
		return;
	if (strstr(msg, "passphrase") || strstr(msg, "BADSECRET"))
		what = "srt handshake refused: wrong or missing passphrase";
	else if (strstr(msg, "rejection reason") || strstr(msg, "PREDEFINED"))
		return; /* our own refusal at the handshake, already logged with its reason */
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	snprintf(m, sizeof m, "%.*s", (int)(n < sizeof m ? n : sizeof m - 1), msg);
	lsp_log(((struct ctx *)c)->lg, level <= LOG_ERR ? LSP_ERROR : LSP_WARN, what, "proto",
		LSV_S("srt"), "detail", LSV_S(m), NULL);
}

static void note(void *c, int level, const char *msg, const lsp_ingest_note *n)
{
	const lsp_log_t *lg = ((struct ctx *)c)->lg;
	lsp_metrics *mx = ((struct ctx *)c)->mx;
	const char *ch = n->channel ? n->channel : "";
	if (!strcmp(msg, "publish started")) {
		lsp_metrics_add(mx, "lsp_ingest_live_channels", 1, NULL);
		lsp_metrics_add(mx, "lsp_ingest_publishes_total", 1, NULL);
	} else if (!strcmp(msg, "publish stopped") || !strcmp(msg, "publish kicked")) {
		lsp_metrics_add(mx, "lsp_ingest_live_channels", -1, NULL);
		lsp_metrics_add(mx, "lsp_ingest_bytes_in_total", (double)n->bytes, "channel", ch, NULL);
	} else if (!strcmp(msg, "publish refused")) {
		lsp_metrics_add(mx, "lsp_ingest_refused_total", 1, NULL);
	}
	if (level >= LSP_WARN)
		lsp_metrics_add(mx, "lsp_ingest_errors_total", 1, "kind", msg, NULL);
	lsp_log(lg, level, msg, "channel", LSV_S(n->channel ? n->channel : ""), "remote",
		LSV_S(n->remote ? n->remote : ""), "reason", LSV_S(n->reason ? n->reason : ""),
		"stage", LSV_S(n->stage ? n->stage : ""), "bytes", LSV_I(n->bytes), "duration_s",
		LSV_D(n->duration_s), "status", LSV_I(n->status), NULL);
}

static int listen_on(const char *host, int port, char *err, size_t errcap)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char ps[16];
	int fd = -1, one = 1, rc;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(ps, sizeof ps, "%d", port);
	if ((rc = getaddrinfo(*host ? host : NULL, ps, &hints, &ai)) != 0) {
		snprintf(err, errcap, "resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errcap, "listen on port %d: %s", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static void addr_str(const struct sockaddr_storage *sa, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &a->sin_addr, h, sizeof h);
		port = ntohs(a->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof h);
		port = ntohs(a->sin6_port);
	}
	snprintf(out, cap, sa->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", h, port);
}

/* In the forked child: serve one connection, never return. */
static void child(lsp_ingest_cfg *cfg, const lsp_ingest_proto *proto, int cfd, const char *key,
		  const sigset_t *mask)
{
	char err[256] = "";
	struct timeval tv = { 10, 0 };
	sigset_t stop = *mask;
	int stopfd, rc;
	/* only the connection: the parent's listeners and other connections'
	 * fds (SRT hand-over pipes above all) must not stay open here */
	if (cfd > 3)
		close_range(3, (unsigned)cfd - 1, 0);
	close_range((unsigned)cfd + 1, ~0U, 0);
	sigdelset(&stop, SIGCHLD); /* an --exec command ending is not a stop */
	stopfd = signalfd(-1, &stop, SFD_CLOEXEC);
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	rc = proto->serve(cfg, cfd, stopfd, key, err, sizeof err);
	if (rc < 0)
		lsp_log(((struct ctx *)cfg->ctx)->lg, LSP_ERROR, "connection failed", "proto", LSV_S(proto->name),
			"remote", LSV_S(cfg->remote), "reason", LSV_S(err), NULL);
	close(cfd);
	_exit(rc < 0 ? LSP_EXIT_SYS : rc);
}

static int hostport(const char *arg, char *host, size_t cap, int *port)
{
	if (lsp_opt_hostport(arg, "", host, cap, port) < 0) {
		fprintf(stderr, "lsp-ingest: bad address: %s\n", arg);
		return -1;
	}
	return 0;
}

/* Fork a child for one connection; the parent keeps its pid in kids. */
static void spawn_child(lsp_log_t *lg, lsp_ingest_cfg *cfg, const lsp_ingest_proto *proto, int cfd,
			const char *key, const sigset_t *mask, pid_t *kids, int *nkids, long maxconn)
{
	pid_t p;
	if (*nkids >= maxconn) {
		lsp_log(lg, LSP_WARN, "connection refused", "proto", LSV_S(proto->name), "remote",
			LSV_S(cfg->remote), "reason", LSV_S("too many connections"), NULL);
		return;
	}
	if ((p = fork()) < 0) {
		lsp_log(lg, LSP_ERROR, "fork failed", "reason", LSV_S(strerror(errno)), NULL);
		return;
	}
	if (p == 0)
		child(cfg, proto, cfd, key, mask);
	kids[(*nkids)++] = p;
}

enum { PF_SIG, PF_RTMP, PF_RTMPS, PF_SRT, PF_N };

int main(int argc, char **argv)
{
	lsp_log_t lg;
	struct ctx cx = { &lg, "", 0, NULL };
	const char *mx_addr = NULL;
	char host[256] = "", thost[256] = "", shost[256] = "", chost[256] = "", err[512], remote[80],
	     rundir[512], outlock[600], key[LSP_SRTIN_KEY_MAX + 1];
	const char *cert = NULL, *keyfile = NULL;
	int port = 1935, tport = 0, sport = 0, cport = 0, c, nkids = 0, stopping = 0;
	int fds[PF_N] = { -1, -1, -1, -1 };
	long v, maxconn = 64, tmo = 10;
	pid_t *kids;
	sigset_t mask;
	lsp_ingest_cfg cfg = { 0 };
	lsp_srtin_cfg scfg = { 0 };
	lsp_srtin *srt = NULL;
	const lsp_ingest_proto *proto_of[PF_N] = { NULL, lsp_ingest_proto_find("rtmp"),
						   lsp_ingest_proto_find("rtmps"), lsp_ingest_proto_find("srt") };
	enum { O_TLS = 256, O_CERT, O_KEY, O_SRT, O_SRTCALL, O_SRTSID, O_SRTLAT, O_SRTPBK, O_METRICS };
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },	   { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' }, { "app", required_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' }, { "exec", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' }, { "max-conn", required_argument, NULL, 'm' },
		{ "tls-listen", required_argument, NULL, O_TLS }, { "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },	   { "srt-listen", required_argument, NULL, O_SRT },
		{ "srt-call", required_argument, NULL, O_SRTCALL },
		{ "srt-streamid", required_argument, NULL, O_SRTSID },
		{ "srt-latency", required_argument, NULL, O_SRTLAT },
		{ "srt-pbkeylen", required_argument, NULL, O_SRTPBK },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ NULL, 0, NULL, 0 }
	};

	lsp_log_init(&lg, "lsp-ingest");
	cfg.app = "live";
	while ((c = getopt_long(argc, argv, "hVl:a:o:e:t:m:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-ingest %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case O_METRICS: mx_addr = optarg; break;
		case 'l':
			if (hostport(optarg, host, sizeof host, &port) < 0)
				return LSP_EXIT_USAGE;
			break;
		case O_TLS:
			if (hostport(optarg, thost, sizeof thost, &tport) < 0)
				return LSP_EXIT_USAGE;
			break;
		case O_SRT:
			if (hostport(optarg, shost, sizeof shost, &sport) < 0)
				return LSP_EXIT_USAGE;
			break;
		case O_SRTCALL:
			if (hostport(optarg, chost, sizeof chost, &cport) < 0 || !chost[0])
				return LSP_EXIT_USAGE;
			break;
		case O_CERT: cert = optarg; break;
		case O_KEY: keyfile = optarg; break;
		case O_SRTSID: scfg.call_streamid = optarg; break;
		case 'a': cfg.app = optarg; break;
		case 'o': cfg.out_tmpl = optarg; break;
		case 'e': cfg.exec_tmpl = optarg; break;
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
				maxconn = v;
			else if (c == O_SRTLAT)
				scfg.latency_ms = (int)v;
			else
				scfg.pbkeylen = (int)v;
			break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc || (cfg.out_tmpl && cfg.exec_tmpl) || (tport && (!cert || !keyfile)) ||
	    (cport && !scfg.call_streamid)) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	snprintf(rundir, sizeof rundir, "%s/run", lsp_opt_env("LSP_DATA_DIR", "./var"));
	cfg.run_dir = rundir;
	if (!cfg.exec_tmpl && !(cfg.out_tmpl && strstr(cfg.out_tmpl, "{channel}"))) {
		/* one shared output: one publish at a time, or the TS would interleave */
		snprintf(outlock, sizeof outlock, "%s/output-%ld.lock", rundir, (long)getpid());
		cfg.out_lock = outlock;
	}
	cfg.nats_url = getenv("LSP_NATS_URL");
	cfg.hs_timeout_s = cfg.cmd_timeout_s = 10;
	cfg.media_timeout_s = (int)tmo;
	cfg.auth = auth;
	cfg.note = note;
	cfg.ctx = &cx;
	cfg.remote = remote;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL); /* before any thread: they inherit it */
	if ((fds[PF_SIG] = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
	    (fds[PF_RTMP] = listen_on(host, port, err, sizeof err)) < 0 ||
	    (tport && (fds[PF_RTMPS] = listen_on(thost, tport, err, sizeof err)) < 0) ||
	    (tport && lsp_ingest_tls_open(&cfg.tls, cert, keyfile, err, sizeof err) < 0)) {
		lsp_log(&lg, LSP_FATAL, "unable to listen", "reason",
			LSV_S(fds[PF_SIG] < 0 ? strerror(errno) : err), NULL);
		return LSP_EXIT_SYS;
	}
	if (sport || cport) {
		scfg.host = sport ? shost : NULL;
		scfg.port = sport;
		scfg.call_host = cport ? chost : NULL;
		scfg.call_port = cport;
		scfg.passphrase = getenv("LSP_SRT_PASSPHRASE");
		scfg.backlog = (int)maxconn;
		scfg.check = srt_check;
		scfg.note = srt_note;
		scfg.ctx = &cx;
		srt_setloglevel(LOG_WARNING);
		srt_setloghandler(&cx, srt_log);
		if (lsp_srtin_open(&srt, &scfg, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to start SRT", "reason", LSV_S(err), NULL);
			return LSP_EXIT_SYS;
		}
		fds[PF_SRT] = lsp_srtin_fd(srt);
	}
	lsp_log(&lg, LSP_INFO, "listening", "port", LSV_I(port), "app", LSV_S(cfg.app), "rtmps_port",
		LSV_I(tport), "srt_port", LSV_I(sport), "srt_encrypted",
		LSV_S(scfg.passphrase && *scfg.passphrase ? "yes" : "no"), NULL);
	if (mx_addr) { /* shared: the forked children count into the same registry */
		if (lsp_metrics_new_shared(&cx.mx, "lsp-ingest") < 0) {
			lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
			return LSP_EXIT_SYS;
		}
		lsp_metrics_def(cx.mx, "lsp_ingest_live_channels", LSP_METRIC_GAUGE, "channels publishing now");
		lsp_metrics_def(cx.mx, "lsp_ingest_connections", LSP_METRIC_GAUGE, "connections being served");
		lsp_metrics_def(cx.mx, "lsp_ingest_publishes_total", LSP_METRIC_COUNTER, "publishes started");
		lsp_metrics_def(cx.mx, "lsp_ingest_refused_total", LSP_METRIC_COUNTER, "publishes refused");
		lsp_metrics_def(cx.mx, "lsp_ingest_bytes_in_total", LSP_METRIC_COUNTER, "bytes received, by channel (at publish end)");
		lsp_metrics_def(cx.mx, "lsp_ingest_errors_total", LSP_METRIC_COUNTER, "warnings and errors, by kind");
		if (lsp_metrics_serve_addr(cx.mx, mx_addr, err, sizeof err) < 0) {
			lsp_log(&lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
			return LSP_EXIT_USAGE;
		}
	}
	lsp_sdnotify("READY=1");

	/* allocated last, so the early fatal exits above leave nothing behind */
	if (!(kids = calloc((size_t)maxconn, sizeof *kids))) {
		lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
		return LSP_EXIT_SYS;
	}
	while (!stopping || nkids > 0) {
		struct pollfd pf[PF_N];
		int rc;
		lsp_metrics_set(cx.mx, "lsp_ingest_connections", (double)nkids, NULL);
		for (int i = 0; i < PF_N; i++)
			pf[i] = (struct pollfd){ i == PF_SIG || !stopping ? fds[i] : -1, POLLIN, 0 };
		rc = poll(pf, PF_N, stopping ? 10000 : -1);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0 && stopping) { /* a child stuck writing to a stalled downstream */
			lsp_log(&lg, LSP_WARN, "killing connections that did not stop", "connections",
				LSV_I(nkids), NULL);
			for (int i = 0; i < nkids; i++)
				kill(kids[i], SIGKILL);
		}
		if (pf[PF_SIG].revents & POLLIN) {
			struct signalfd_siginfo si;
			pid_t p;
			int st;
			if (read(fds[PF_SIG], &si, sizeof si) != sizeof si)
				continue;
			if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !stopping) {
				stopping = 1;
				cx.quiet = 1;
				close(fds[PF_RTMP]);
				if (fds[PF_RTMPS] >= 0)
					close(fds[PF_RTMPS]);
				lsp_srtin_stop(srt);
				lsp_log(&lg, LSP_INFO, "stopping", "connections", LSV_I(nkids), NULL);
				for (int i = 0; i < nkids; i++)
					kill(kids[i], SIGTERM);
			}
			while ((p = waitpid(-1, &st, WNOHANG)) > 0)
				for (int i = 0; i < nkids; i++)
					if (kids[i] == p) {
						kids[i] = kids[--nkids];
						break;
					}
		}
		for (int i = PF_RTMP; !stopping && i <= PF_RTMPS; i++) {
			struct sockaddr_storage sa;
			socklen_t sl = sizeof sa;
			int cfd;
			if (!(pf[i].revents & POLLIN) ||
			    (cfd = accept4(fds[i], (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC)) < 0)
				continue;
			addr_str(&sa, remote, sizeof remote);
			spawn_child(&lg, &cfg, proto_of[i], cfd, NULL, &mask, kids, &nkids, maxconn);
			close(cfd);
		}
		if (!stopping && (pf[PF_SRT].revents & POLLIN)) {
			int cfd;
			while (lsp_srtin_take(srt, &cfd, key, sizeof key, remote, sizeof remote) == 0) {
				spawn_child(&lg, &cfg, proto_of[PF_SRT], cfd, key, &mask, kids, &nkids, maxconn);
				memset(key, 0, sizeof key);
				close(cfd);
			}
		}
	}
	stopping = srt != NULL; /* from here: "SRT ran" */
	lsp_srtin_close(srt, 2000);
	lsp_ingest_tls_close(cfg.tls);
	free(kids);
	if (cfg.out_lock)
		unlink(cfg.out_lock);
	lsp_log(&lg, LSP_INFO, "stopped", NULL);
	if (stopping) { /* libavformat brings libsrt-gnutls beside our libsrt (OpenSSL): their two
		    * sets of static destructors crash at exit() once SRT has run */
		fflush(NULL);
		_exit(LSP_EXIT_OK);
	}
	return LSP_EXIT_OK;
}
