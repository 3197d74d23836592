/* lsp-ingest — RTMP publishers in, MPEG-TS out.  The parent accepts and
 * forks one child per connection (lib/ingest does the work there); it reaps
 * children and, on SIGTERM/SIGINT, stops accepting, signals them and waits.
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

#include "exit.h"
#include "ingest.h"
#include "key.h"
#include "log.h"
#include "opt.h"
#include "store.h"

#define MAX_CONN_LIMIT 1024

static const char usage[] =
	"usage: lsp-ingest [-h] [-V] [-l [HOST:]PORT] [-a APP] [-o FILE | -e COMMAND] [-t SECONDS]\n"
	"                  [-m MAXCONN]\n"
	"  -l, --listen [HOST:]PORT  RTMP listen address (default :1935)\n"
	"  -a, --app APP             RTMP application name (default live)\n"
	"  -o, --output FILE         write each publish's MPEG-TS to FILE ({channel} expanded;\n"
	"                            default stdout)\n"
	"  -e, --exec COMMAND        run COMMAND per publish via /bin/sh -c with the TS on its\n"
	"                            stdin ({channel} expanded)\n"
	"  -t, --timeout SECONDS     end a publish after SECONDS without media (default 10)\n"
	"  -m, --max-conn N          concurrent connections (default 64)\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL, LSP_NATS_URL, LSP_LOG_LEVEL\n"
	"exit: 0 stopped by signal, 100 usage, 111 system failure\n";

struct ctx {
	lsp_log_t *lg;
	char why[320]; /* a store failure's detail, for the refusal note */
};

static int auth(void *c, const char *key, char *channel, size_t cap, const char **reason)
{
	lsp_store *st = NULL;
	lsp_channel ch;
	char err[256];
	struct ctx *cx = c;
	int rc;
	if (lsp_key_channel(key, channel, cap) < 0) {
		channel[0] = 0;
		*reason = "unknown key";
		return -1;
	}
	if ((rc = lsp_store_open_env(&st, err, sizeof err)) >= 0) {
		rc = lsp_store_channel_get(st, channel, &ch, err, sizeof err);
		lsp_store_close(st);
	}
	if (rc == -ENOENT)
		*reason = "unknown key";
	else if (rc < 0) {
		snprintf(cx->why, sizeof cx->why, "store unavailable: %s", err);
		*reason = cx->why;
	}
	else if (!ch.key_hash[0])
		*reason = "revoked key";
	else if (!lsp_key_check(key, ch.key_hash))
		*reason = "unknown key";
	else
		return 0;
	return -1;
}

static void note(void *c, int level, const char *msg, const lsp_ingest_note *n)
{
	const lsp_log_t *lg = ((struct ctx *)c)->lg;
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
static void child(lsp_ingest_cfg *cfg, int cfd, const sigset_t *mask)
{
	char err[256] = "";
	struct timeval tv = { 10, 0 };
	sigset_t stop = *mask;
	int stopfd, rc;
	sigdelset(&stop, SIGCHLD); /* an --exec command ending is not a stop */
	stopfd = signalfd(-1, &stop, SFD_CLOEXEC);
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	rc = lsp_ingest_serve(cfg, cfd, stopfd, err, sizeof err);
	if (rc < 0)
		lsp_log(((struct ctx *)cfg->ctx)->lg, LSP_ERROR, "connection failed", "remote",
			LSV_S(cfg->remote), "reason", LSV_S(err), NULL);
	close(cfd);
	_exit(rc < 0 ? LSP_EXIT_SYS : rc);
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	struct ctx cx = { &lg, "" };
	char host[256] = "", err[512], remote[80], rundir[512], outlock[600];
	int port = 1935, c, lfd, sfd, nkids = 0, stopping = 0;
	long v, maxconn = 64, tmo = 10;
	pid_t *kids;
	sigset_t mask;
	lsp_ingest_cfg cfg = { 0 };
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },	   { "version", no_argument, NULL, 'V' },
		{ "listen", required_argument, NULL, 'l' }, { "app", required_argument, NULL, 'a' },
		{ "output", required_argument, NULL, 'o' }, { "exec", required_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 't' }, { "max-conn", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};

	lsp_log_init(&lg, "lsp-ingest");
	cfg.app = "live";
	while ((c = getopt_long(argc, argv, "hVl:a:o:e:t:m:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-ingest %s\n", LSP_VERSION); return LSP_EXIT_OK;
		case 'l':
			if (lsp_opt_hostport(optarg, "", host, sizeof host, &port) < 0) {
				fprintf(stderr, "lsp-ingest: bad listen address: %s\n", optarg);
				return LSP_EXIT_USAGE;
			}
			break;
		case 'a': cfg.app = optarg; break;
		case 'o': cfg.out_tmpl = optarg; break;
		case 'e': cfg.exec_tmpl = optarg; break;
		case 't':
		case 'm':
			if (lsp_opt_long(optarg, 1, c == 't' ? 3600 : MAX_CONN_LIMIT, &v) < 0) {
				fprintf(stderr, "lsp-ingest: bad -%c value: %s\n", c, optarg);
				return LSP_EXIT_USAGE;
			}
			*(c == 't' ? &tmo : &maxconn) = v;
			break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc || (cfg.out_tmpl && cfg.exec_tmpl)) {
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

	if (!(kids = calloc((size_t)maxconn, sizeof *kids))) {
		lsp_log(&lg, LSP_FATAL, "out of memory", NULL);
		return LSP_EXIT_SYS;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
	    (lfd = listen_on(host, port, err, sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to listen", "reason", LSV_S(sfd < 0 ? strerror(errno) : err), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_log(&lg, LSP_INFO, "listening", "port", LSV_I(port), "app", LSV_S(cfg.app), NULL);

	while (!stopping || nkids > 0) {
		struct pollfd pf[2] = { { sfd, POLLIN, 0 }, { lfd, POLLIN, 0 } };
		int rc = poll(pf, stopping ? 1 : 2, stopping ? 10000 : -1);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0 && stopping) { /* a child stuck writing to a stalled downstream */
			lsp_log(&lg, LSP_WARN, "killing connections that did not stop", "connections",
				LSV_I(nkids), NULL);
			for (int i = 0; i < nkids; i++)
				kill(kids[i], SIGKILL);
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			pid_t p;
			int st;
			if (read(sfd, &si, sizeof si) != sizeof si)
				continue;
			if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !stopping) {
				stopping = 1;
				close(lfd);
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
		if (!stopping && (pf[1].revents & POLLIN)) {
			struct sockaddr_storage sa;
			socklen_t sl = sizeof sa;
			int cfd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC);
			pid_t p;
			if (cfd < 0)
				continue;
			addr_str(&sa, remote, sizeof remote);
			if (nkids >= maxconn) {
				lsp_log(&lg, LSP_WARN, "connection refused", "remote", LSV_S(remote), "reason",
					LSV_S("too many connections"), NULL);
				close(cfd);
				continue;
			}
			if ((p = fork()) < 0) {
				lsp_log(&lg, LSP_ERROR, "fork failed", "reason", LSV_S(strerror(errno)), NULL);
				close(cfd);
				continue;
			}
			if (p == 0) {
				close(lfd);
				close(sfd);
				child(&cfg, cfd, &mask);
			}
			kids[nkids++] = p;
			close(cfd);
		}
	}
	free(kids);
	if (cfg.out_lock)
		unlink(cfg.out_lock);
	lsp_log(&lg, LSP_INFO, "stopped", NULL);
	return LSP_EXIT_OK;
}
