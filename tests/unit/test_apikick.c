/* Unit tests: lib/api/kick.c against a fake NATS server in a thread (the
 * text protocol: INFO, CONNECT, PING/PONG, PUB): a kick is one message on
 * lsp.ctl.<channel>.kick with the JSON body lsp-ingest reads, flushed, and
 * reported as "kick sent"; no bus or a bad name sends nothing; a server
 * gone away is reported as "kick not sent".  The same for the revocation
 * event on lsp.auth.revoke. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/kick.h"
#include "core/net.h"

/* ---- a one-connection NATS server ---- */

struct fake {
	int lfd, fd;
	pthread_mutex_t mu;
	int pubs;
	char subj[128], body[256];
};

static int say(int fd, const char *s) { return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s) ? 0 : -1; }

/* Serve one client until it goes (or the test shuts the socket). */
static void *serve(void *arg)
{
	struct fake *f = arg;
	char buf[8192];
	size_t len = 0;
	int fd = lsp_net_accept(f->lfd, 0, NULL, 0);
	if (fd < 0)
		return NULL;
	f->fd = fd;
	if (say(fd, "INFO {\"server_id\":\"fake\",\"version\":\"2.10.0\",\"proto\":1,\"max_payload\":1048576}\r\n") < 0)
		return NULL;
	for (;;) {
		char *eol;
		ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = 0;
		while ((eol = strstr(buf, "\r\n")) != NULL) {
			size_t used = (size_t)(eol - buf) + 2;
			char subj[128];
			int n;
			*eol = 0;
			if (!strcmp(buf, "PING")) {
				say(fd, "PONG\r\n");
			} else if (sscanf(buf, "PUB %127s %d", subj, &n) == 2) {
				if (len < used + (size_t)n + 2) { /* the payload is not all here */
					*eol = '\r';
					break;
				}
				pthread_mutex_lock(&f->mu);
				snprintf(f->subj, sizeof f->subj, "%s", subj);
				snprintf(f->body, sizeof f->body, "%.*s", n, buf + used);
				f->pubs++;
				pthread_mutex_unlock(&f->mu);
				used += (size_t)n + 2;
			}
			memmove(buf, buf + used, len - used + 1);
			len -= used;
		}
		if (len == sizeof buf - 1)
			break;
	}
	return NULL;
}

/* ---- events ---- */

struct seen {
	int n, level;
	char name[64], channel[80], reason[256];
};

static void on_event(void *ctx, const lsp_event *ev)
{
	struct seen *e = ctx;
	const char *ch = lsp_event_str(ev, "channel"), *r = lsp_event_str(ev, "reason");
	e->n++;
	e->level = ev->level;
	snprintf(e->name, sizeof e->name, "%s", ev->name);
	snprintf(e->channel, sizeof e->channel, "%s", ch ? ch : "");
	snprintf(e->reason, sizeof e->reason, "%s", r ? r : "");
}

static void no_bus(void **s)
{
	struct seen e = { 0 };
	lsp_kick k = { NULL, on_event, &e };
	(void)s;
	assert_int_equal(lsp_kick_send(&k, "show"), -1);
	assert_int_equal(lsp_kick_send(NULL, "show"), -1);
	assert_int_equal(e.n, 0);
}

static void kick(void **s)
{
	struct fake f = { .fd = -1 };
	struct seen e = { 0 };
	lsp_kick k = { NULL, on_event, &e };
	pthread_t th;
	char url[64], err[256];
	int pubs;
	(void)s;
	pthread_mutex_init(&f.mu, NULL);
	f.lfd = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, 0, err, sizeof err);
	assert_true(f.lfd >= 0);
	snprintf(url, sizeof url, "nats://127.0.0.1:%d", lsp_net_port(f.lfd));
	assert_int_equal(pthread_create(&th, NULL, serve, &f), 0);
	assert_int_equal(lsp_bus_open(&k.bus, url, 2000, "test", err, sizeof err), 0);

	assert_int_equal(lsp_kick_send(&k, "show"), 0);
	pthread_mutex_lock(&f.mu);
	pubs = f.pubs;
	assert_string_equal(f.subj, "lsp.ctl.show.kick");
	assert_string_equal(f.body, "{\"channel\":\"show\",\"action\":\"kick\"}");
	pthread_mutex_unlock(&f.mu);
	assert_int_equal(pubs, 1); /* flushed: the server had it when the call returned */
	assert_int_equal(e.n, 1);
	assert_string_equal(e.name, "kick sent");
	assert_int_equal(e.level, LSP_INFO);
	assert_string_equal(e.channel, "show");

	/* a name that is no channel makes no subject: nothing is sent */
	assert_int_equal(lsp_kick_send(&k, "a.b"), -1);
	assert_int_equal(lsp_kick_send(&k, "*"), -1);
	assert_int_equal(e.n, 1);

	/* the server goes away: not sent, and said so */
	shutdown(f.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(f.fd);
	close(f.lfd);
	assert_int_equal(lsp_kick_send(&k, "show"), -1);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.name, "kick not sent");
	assert_int_equal(e.level, LSP_WARN);
	assert_string_equal(e.channel, "show");
	assert_true(e.reason[0] != 0);
	lsp_bus_close(k.bus);
	pthread_mutex_destroy(&f.mu);
}

/* The revocation event: one message on lsp.auth.revoke, flushed, "revocation
 * sent"; without a bus nothing is sent and nothing warned (lsp-chat's
 * re-check is the path then); a server gone is "revocation not sent". */
static void revocation(void **s)
{
	struct fake f = { .fd = -1 };
	struct seen e = { 0 };
	lsp_kick k = { NULL, on_event, &e };
	lsp_revoke r;
	pthread_t th;
	char url[64], err[256];
	(void)s;
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_ROLE, "mo", NULL, "viewer"), 0);
	assert_int_equal(lsp_kick_revoke(&k, &r), -1);
	assert_int_equal(e.n, 0);
	pthread_mutex_init(&f.mu, NULL);
	f.lfd = lsp_net_listen("127.0.0.1", 0, SOCK_STREAM, 0, err, sizeof err);
	assert_true(f.lfd >= 0);
	snprintf(url, sizeof url, "nats://127.0.0.1:%d", lsp_net_port(f.lfd));
	assert_int_equal(pthread_create(&th, NULL, serve, &f), 0);
	assert_int_equal(lsp_bus_open(&k.bus, url, 2000, "test", err, sizeof err), 0);

	assert_int_equal(lsp_kick_revoke(&k, &r), 0);
	pthread_mutex_lock(&f.mu);
	assert_int_equal(f.pubs, 1);
	assert_string_equal(f.subj, "lsp.auth.revoke");
	assert_string_equal(f.body, "{\"reason\":\"role\",\"user\":\"mo\",\"role\":\"viewer\"}");
	pthread_mutex_unlock(&f.mu);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.name, "revocation sent");
	assert_int_equal(lsp_revoke_make(&r, LSP_REVOKE_CHANNEL_SUSPENDED, NULL, "show", NULL), 0);
	assert_int_equal(lsp_kick_revoke(&k, &r), 0);
	pthread_mutex_lock(&f.mu);
	assert_string_equal(f.body, "{\"reason\":\"channel_suspended\",\"channel\":\"show\"}");
	pthread_mutex_unlock(&f.mu);
	assert_string_equal(e.channel, "show");

	shutdown(f.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(f.fd);
	close(f.lfd);
	assert_int_equal(lsp_kick_revoke(&k, &r), -1);
	assert_string_equal(e.name, "revocation not sent");
	assert_int_equal(e.level, LSP_WARN);
	assert_true(e.reason[0] != 0);
	lsp_bus_close(k.bus);
	pthread_mutex_destroy(&f.mu);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(no_bus),
		cmocka_unit_test(kick),
		cmocka_unit_test(revocation),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
