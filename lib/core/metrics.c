/* metrics.c — Prometheus registry, text renderer and /metrics responder.
 * Contract in metrics.h. */
#include "core/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/http.h"
#include "core/opt.h"
#include "core/net.h"

typedef struct {
	char name[96];
	char help[200];
	int type;
} family;

typedef struct {
	int fam;
	uint32_t hash;
	char labels[LSP_METRICS_LABELS_MAX];
	double v;
} series;

struct lsp_metrics {
	pthread_mutex_t mu;
	int shared;                 /* one MAP_SHARED mapping, robust process-shared mutex */
	int memfd;                  /* shared: the creator's descriptor of that mapping */
	pid_t owner;                /* process that created it (and runs the responder) */
	char tool[64];
	double start;               /* wall clock, seconds */
	struct timespec start_mono;
	family fam[LSP_METRICS_FAMILIES];
	int nfam;
	series *ser;                /* LSP_METRICS_SERIES (private registry; shared: SER) */
	int nser;
	double dropped;
	/* responder */
	int lfd, stopfd[2], port, running;
	pthread_t th;
};

static int name_ok(const char *s, int colon)
{
	if (!s || !*s || strlen(s) >= 96)
		return 0;
	for (size_t i = 0; s[i]; i++) {
		char c = s[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static void lock(lsp_metrics *m)
{
	/* a forked child that died holding the lock leaves it consistent
	 * enough: every update is a few stores to one series */
	if (pthread_mutex_lock(&m->mu) == EOWNERDEAD)
		pthread_mutex_consistent(&m->mu);
}

static void unlock(lsp_metrics *m)
{
	pthread_mutex_unlock(&m->mu);
}

#define SHARED_SIZE (sizeof(lsp_metrics) + LSP_METRICS_SERIES * sizeof(series))

/* The series table: right after the header in a shared registry, so every
 * process that maps it finds it whatever address the mapping got. */
#define SER(m) ((m)->shared ? (series *)(void *)((char *)(m) + sizeof(lsp_metrics)) : (m)->ser)

static int metrics_new(lsp_metrics **out, const char *tool, int shared)
{
	lsp_metrics *m;
	pthread_mutexattr_t ma;
	struct timespec ts;
	int rc;

	*out = NULL;
	if (shared) {
		/* a memfd, so an exec'd child can map it too (lsp_metrics_attach) */
		int fd = memfd_create("lsp-metrics", MFD_CLOEXEC);
		void *p = MAP_FAILED;
		if (fd >= 0 && ftruncate(fd, (off_t)SHARED_SIZE) == 0)
			p = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			if (fd >= 0)
				close(fd);
			return -ENOMEM;
		}
		m = p;
		m->shared = 1;
		m->memfd = fd;
	} else {
		if (!(m = calloc(1, sizeof *m)))
			return -ENOMEM;
		if (!(m->ser = calloc(LSP_METRICS_SERIES, sizeof *m->ser))) {
			free(m);
			return -ENOMEM;
		}
	}
	rc = pthread_mutexattr_init(&ma);
	if (rc == 0 && shared) {
		pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
		pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	}
	if (rc != 0 || pthread_mutex_init(&m->mu, &ma) != 0) {
		if (rc == 0)
			pthread_mutexattr_destroy(&ma);
		if (shared) {
			close(m->memfd);
			munmap(m, SHARED_SIZE);
		} else {
			free(m->ser);
			free(m);
		}
		return -ENOMEM;
	}
	pthread_mutexattr_destroy(&ma);
	snprintf(m->tool, sizeof m->tool, "%s", tool ? tool : "lsp");
	clock_gettime(CLOCK_REALTIME, &ts);
	m->start = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	clock_gettime(CLOCK_MONOTONIC, &m->start_mono);
	m->lfd = -1;
	m->stopfd[0] = m->stopfd[1] = -1;
	m->port = -1;
	m->owner = getpid();
	*out = m;
	return 0;
}

int lsp_metrics_new(lsp_metrics **out, const char *tool)
{
	return metrics_new(out, tool, 0);
}

int lsp_metrics_new_shared(lsp_metrics **out, const char *tool)
{
	return metrics_new(out, tool, 1);
}

int lsp_metrics_shared_fd(const lsp_metrics *m)
{
	return m && m->shared && getpid() == m->owner ? m->memfd : -1;
}

int lsp_metrics_attach(lsp_metrics **out, int fd)
{
	struct stat st;
	lsp_metrics *m;
	void *p;
	*out = NULL;
	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size != SHARED_SIZE)
		return -EINVAL;
	if ((p = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		return -errno;
	m = p;
	if (!m->shared || m->nfam < 0 || m->nfam > LSP_METRICS_FAMILIES || m->nser < 0 ||
	    m->nser > LSP_METRICS_SERIES) {
		munmap(p, SHARED_SIZE);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

void lsp_metrics_detach(lsp_metrics *m)
{
	if (m)
		munmap(m, SHARED_SIZE);
}

int lsp_metrics_def(lsp_metrics *m, const char *name, int type, const char *help)
{
	int rc = 0;

	if (!m || !name_ok(name, 1) || (type != LSP_METRIC_COUNTER && type != LSP_METRIC_GAUGE))
		return -EINVAL;
	lock(m);
	for (int i = 0; i < m->nfam; i++)
		if (strcmp(m->fam[i].name, name) == 0) {
			rc = -EEXIST;
			goto out;
		}
	if (m->nfam >= LSP_METRICS_FAMILIES) {
		rc = -ENOSPC;
		goto out;
	}
	snprintf(m->fam[m->nfam].name, sizeof m->fam[0].name, "%s", name);
	snprintf(m->fam[m->nfam].help, sizeof m->fam[0].help, "%s", help ? help : "");
	m->fam[m->nfam].type = type;
	m->nfam++;
out:
	unlock(m);
	return rc;
}

/* key="value",… with value escaped; -1 when a key is bad or it does not fit */
static int labels_fmt(char *dst, size_t cap, va_list ap)
{
	size_t n = 0;
	const char *k;

	dst[0] = '\0';
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		if (!name_ok(k, 0) || (k[0] == '_' && k[1] == '_'))
			return -1;
		if (!v)
			v = "";
		int w = snprintf(dst + n, cap - n, "%s%s=\"", n ? "," : "", k);
		if (w < 0 || (size_t)w >= cap - n)
			return -1;
		n += (size_t)w;
		for (; *v; v++) {
			const char *esc = NULL;
			if (*v == '\\') esc = "\\\\";
			else if (*v == '"') esc = "\\\"";
			else if (*v == '\n') esc = "\\n";
			size_t need = esc ? 2 : 1;
			if (n + need + 2 > cap)
				return -1;
			if (esc) {
				memcpy(dst + n, esc, 2);
			} else {
				dst[n] = *v;
			}
			n += need;
		}
		if (n + 2 > cap)
			return -1;
		dst[n++] = '"';
		dst[n] = '\0';
	}
	return 0;
}

static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void update(lsp_metrics *m, const char *name, double v, int set, va_list ap)
{
	char lab[LSP_METRICS_LABELS_MAX];
	int f = -1;

	if (!m || !name)
		return;
	if (labels_fmt(lab, sizeof lab, ap) < 0) {
		lock(m);
		m->dropped += 1;
		unlock(m);
		return;
	}
	uint32_t h = fnv(lab);
	lock(m);
	for (int i = 0; i < m->nfam; i++)
		if (strcmp(m->fam[i].name, name) == 0) {
			f = i;
			break;
		}
	if (f < 0)
		goto out;
	if (!set && m->fam[f].type == LSP_METRIC_COUNTER && !(v >= 0))
		goto out;
	for (int i = 0; i < m->nser; i++) {
		series *s = &SER(m)[i];
		if (s->fam == f && s->hash == h && strcmp(s->labels, lab) == 0) {
			s->v = set ? v : s->v + v;
			goto out;
		}
	}
	if (m->nser >= LSP_METRICS_SERIES) {
		m->dropped += 1;
		goto out;
	}
	series *s = &SER(m)[m->nser++];
	s->fam = f;
	s->hash = h;
	memcpy(s->labels, lab, sizeof lab);
	s->v = v;
out:
	unlock(m);
}

void lsp_metrics_add(lsp_metrics *m, const char *name, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(m, name, v, 0, ap);
	va_end(ap);
}

void lsp_metrics_set(lsp_metrics *m, const char *name, double v, ...)
{
	va_list ap;
	va_start(ap, v);
	update(m, name, v, 1, ap);
	va_end(ap);
}

static int drop_helper(char *lab, size_t cap, ...)
{
	va_list ap;
	va_start(ap, cap);
	int rc = labels_fmt(lab, cap, ap);
	va_end(ap);
	return rc;
}

void lsp_metrics_drop(lsp_metrics *m, const char *name, const char *key, const char *value)
{
	char pair[LSP_METRICS_LABELS_MAX];

	if (!m || !name || drop_helper(pair, sizeof pair, key, value, (const char *)NULL) < 0)
		return;
	size_t pl = strlen(pair);
	lock(m);
	for (int i = 0; i < m->nser;) {
		series *s = &SER(m)[i];
		const char *p = s->labels;
		int hit = 0;
		if (strcmp(m->fam[s->fam].name, name) == 0) {
			/* match a whole pair: at start or after ',', ended by ',' or NUL */
			while ((p = strstr(p, pair)) != NULL) {
				if ((p == s->labels || p[-1] == ',') && (p[pl] == '\0' || p[pl] == ',')) {
					hit = 1;
					break;
				}
				p++;
			}
		}
		if (hit)
			SER(m)[i] = SER(m)[--m->nser];
		else
			i++;
	}
	unlock(m);
}

typedef struct {
	char *b;
	size_t n, cap;
	int oom;
} buf;

static void bput(buf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(b->b + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)w < b->cap - b->n) {
			b->n += (size_t)w;
			return;
		}
		size_t nc = b->cap * 2 + (size_t)w;
		char *nb = realloc(b->b, nc);
		if (!nb) {
			b->oom = 1;
			return;
		}
		b->b = nb;
		b->cap = nc;
	}
}

static void fmt_val(char *dst, size_t cap, double v)
{
	if (isnan(v))
		snprintf(dst, cap, "NaN");
	else if (isinf(v))
		snprintf(dst, cap, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(dst, cap, "%.0f", v);
	else if (fabs(v) >= 1e6 && fabs(v) < 1e15)
		snprintf(dst, cap, "%.3f", v);
	else
		snprintf(dst, cap, "%.9g", v);
}

static void help_put(buf *b, const char *name, const char *help)
{
	bput(b, "# HELP %s ", name);
	for (; *help; help++) {
		if (*help == '\\') bput(b, "\\\\");
		else if (*help == '\n') bput(b, "\\n");
		else bput(b, "%c", *help);
	}
	bput(b, "\n");
}

int lsp_metrics_render(lsp_metrics *m, char **out, size_t *len)
{
	buf b = { malloc(4096), 0, 4096, 0 };
	char val[64], tool[LSP_METRICS_LABELS_MAX];
	struct timespec now;

	*out = NULL;
	*len = 0;
	if (!b.b)
		return -ENOMEM;
	b.b[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &now);
	double up = (double)(now.tv_sec - m->start_mono.tv_sec) + (now.tv_nsec - m->start_mono.tv_nsec) / 1e9;
	if (drop_helper(tool, sizeof tool, "tool", m->tool, "version", LSP_VERSION, (const char *)NULL) < 0)
		tool[0] = '\0';
	lock(m);
	help_put(&b, "lsp_build_info", "tool name and version, always 1");
	bput(&b, "# TYPE lsp_build_info gauge\nlsp_build_info{%s} 1\n", tool);
	help_put(&b, "process_start_time_seconds", "start time of the process since the epoch");
	fmt_val(val, sizeof val, m->start);
	bput(&b, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %s\n", val);
	help_put(&b, "lsp_uptime_seconds", "seconds since the process started");
	snprintf(val, sizeof val, "%.3f", up);
	bput(&b, "# TYPE lsp_uptime_seconds gauge\nlsp_uptime_seconds %s\n", val);
	help_put(&b, "lsp_metrics_dropped_total", "metric updates dropped (registry full or bad label)");
	fmt_val(val, sizeof val, m->dropped);
	bput(&b, "# TYPE lsp_metrics_dropped_total counter\nlsp_metrics_dropped_total %s\n", val);
	for (int f = 0; f < m->nfam; f++) {
		help_put(&b, m->fam[f].name, m->fam[f].help);
		bput(&b, "# TYPE %s %s\n", m->fam[f].name, m->fam[f].type == LSP_METRIC_COUNTER ? "counter" : "gauge");
		for (int i = 0; i < m->nser; i++) {
			if (SER(m)[i].fam != f)
				continue;
			fmt_val(val, sizeof val, SER(m)[i].v);
			if (SER(m)[i].labels[0])
				bput(&b, "%s{%s} %s\n", m->fam[f].name, SER(m)[i].labels, val);
			else
				bput(&b, "%s %s\n", m->fam[f].name, val);
		}
	}
	unlock(m);
	if (b.oom) {
		free(b.b);
		return -ENOMEM;
	}
	*out = b.b;
	*len = b.n;
	return 0;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void answer(lsp_metrics *m, int fd)
{
	char head[LSP_HTTP_HEAD_MAX], hdr[256], path[64];
	size_t n = 0;
	int hl = 0, status = 200;
	lsp_http_req req;
	struct timeval tv = { 2, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	while (n < sizeof head) {
		ssize_t r = recv(fd, head + n, sizeof head - n, 0);
		if (r <= 0)
			return;
		n += (size_t)r;
		hl = lsp_http_parse(head, n, &req);
		if (hl != 0)
			break;
	}
	if (hl <= 0) {
		status = hl < 0 ? -hl : 431;
	} else if (req.method != LSP_HTTP_GET && req.method != LSP_HTTP_HEAD) {
		status = 405;
	} else if (lsp_http_path_decode(req.path, req.path_len, path, sizeof path) < 0 ||
		   strcmp(path, "/metrics") != 0) {
		status = 404;
	}
	if (status != 200) {
		int w = snprintf(hdr, sizeof hdr,
				 "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n%s\r\n", status,
				 lsp_http_reason(status), status == 405 ? "Allow: GET, HEAD\r\n" : "");
		if (w > 0 && (size_t)w < sizeof hdr)
			send_all(fd, hdr, (size_t)w);
		return;
	}
	char *body = NULL;
	size_t blen = 0;
	if (lsp_metrics_render(m, &body, &blen) < 0) {
		static const char e[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		send_all(fd, e, sizeof e - 1);
		return;
	}
	int w = snprintf(hdr, sizeof hdr,
			 "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
			 blen);
	if (w > 0 && (size_t)w < sizeof hdr) {
		send_all(fd, hdr, (size_t)w);
		if (req.method == LSP_HTTP_GET)
			send_all(fd, body, blen);
	}
	free(body);
}

static void *serve_thread(void *arg)
{
	lsp_metrics *m = arg;
	struct pollfd p[2] = { { m->lfd, POLLIN, 0 }, { m->stopfd[0], POLLIN, 0 } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int fd = lsp_net_accept(m->lfd, 0, NULL, 0);
			if (fd < 0)
				continue;
			answer(m, fd);
			shutdown(fd, SHUT_WR);
			close(fd);
		}
	}
	return NULL;
}

int lsp_metrics_serve(lsp_metrics *m, const char *host, int port, char *err, size_t errcap)
{
	char e[200];
	int fd, rc;

	if (!m || m->running || port < 0 || port > 65535) {
		snprintf(err, errcap, "metrics: bad arguments");
		return -EINVAL;
	}
	if ((fd = lsp_net_listen(host, port, SOCK_STREAM, 0, e, sizeof e)) < 0) {
		snprintf(err, errcap, "metrics: %s", e);
		return fd;
	}
	m->port = lsp_net_port(fd);
	if (pipe2(m->stopfd, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errcap, "metrics: pipe: %s", strerror(errno));
		goto fail;
	}
	m->lfd = fd;
	/* the responder takes no signals: they stay with the tool's own threads */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&m->th, NULL, serve_thread, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errcap, "metrics: thread: %s", strerror(rc));
		rc = -rc;
		m->lfd = -1;
		goto fail;
	}
	m->running = 1;
	return 0;
fail:
	close(fd);
	if (m->stopfd[0] >= 0) {
		close(m->stopfd[0]);
		close(m->stopfd[1]);
		m->stopfd[0] = m->stopfd[1] = -1;
	}
	m->port = -1;
	return rc;
}

int lsp_metrics_serve_addr(lsp_metrics *m, const char *addr, char *err, size_t errcap)
{
	char host[256];
	int port;

	if (!addr || lsp_opt_hostport(addr, "127.0.0.1", host, sizeof host, &port) < 0) {
		snprintf(err, errcap, "metrics: bad address %s", addr ? addr : "(null)");
		return -EINVAL;
	}
	return lsp_metrics_serve(m, host, port, err, errcap);
}

int lsp_metrics_port(const lsp_metrics *m)
{
	return m ? m->port : -1;
}

void lsp_metrics_free(lsp_metrics *m)
{
	if (!m)
		return;
	if (getpid() != m->owner) {
		/* a forked child: the responder, its descriptors and (when shared)
		 * the lock are the parent's; drop only this process's view */
		if (m->running) {
			close(m->lfd);
			close(m->stopfd[0]);
			close(m->stopfd[1]);
		}
		if (m->shared) {
			munmap(m, SHARED_SIZE);
		} else {
			free(m->ser);
			free(m);
		}
		return;
	}
	if (m->running) {
		ssize_t w = write(m->stopfd[1], "x", 1);
		(void)w;
		pthread_join(m->th, NULL);
		close(m->lfd);
		close(m->stopfd[0]);
		close(m->stopfd[1]);
	}
	pthread_mutex_destroy(&m->mu);
	if (m->shared) {
		close(m->memfd);
		munmap(m, SHARED_SIZE);
	} else {
		free(m->ser);
		free(m);
	}
}
