/* lsp-loadviewers — N simulated HLS viewers against one media playlist
 * (formerly bench/fanout-client.c).
 *
 * Each viewer is one keep-alive HTTP/1.1 connection that loops like a
 * low-latency player: blocking playlist reload for the part named by the
 * preload hint (_HLS_msn/_HLS_part), then GET of the newest part.  With
 * --hls it is a classic HLS player instead (for servers without LL-HLS,
 * e.g. nginx-rtmp): reload the playlist every 500 ms, GET each new segment.
 * The part latency is the time from the part (segment) file's rename into
 * place (its mtime, read from the shared disk: client and server run on one
 * machine) to the last byte of it arriving at the viewer; with HLS_DIR "-"
 * (server on another host) it is request → last byte instead.
 *
 * Bounded: at most 50 000 viewers and 600 s, and only loopback (127/8) or
 * test-host (10/8) addresses.  A viewer that the server closes reconnects
 * (counted in errors); "held" counts viewers that got an answer during the
 * last 5 s of the run.
 *
 * usage: lsp-loadviewers [--hls] HOST PORT PLAYLIST_URL_PATH HLS_DIR N SECONDS
 * prints one JSON line: viewers, held, requests per second, parts, errors,
 * p50/p99/max part latency ms.  Bench tool, not part of the platform: exits 1 on bad
 * arguments, 111 when it cannot set up. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ (256 * 1024)

struct viewer {
	int fd;
	double sent, last_ok;     /* when the pending request went out; last answer */
	double next_at;           /* --hls: when to reload (0: not waiting) */
	int want_part;            /* 0: awaiting playlist, 1: awaiting part */
	long msn, part;           /* next part to block for (-1: unknown) */
	char part_uri[128];
	char *buf;
	size_t len;
};

struct ctx {
	const char *host, *path, *dir;
	int hls, port;
	char dirpath[512];        /* URL dir of the playlist */
	double *lat;
	size_t nlat, caplat;
	long errors;
	long long reqs;           /* requests sent */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int conn(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		return -1;
	inet_pton(AF_INET, host, &a.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void send_req(struct ctx *c, struct viewer *v)
{
	char req[1024];
	int n;
	if (v->want_part)
		n = snprintf(req, sizeof req, "GET %s/%s HTTP/1.1\r\nHost: %s\r\n\r\n", c->dirpath, v->part_uri, c->host);
	else if (v->msn >= 0 && !c->hls)
		n = snprintf(req, sizeof req, "GET %s?_HLS_msn=%ld&_HLS_part=%ld HTTP/1.1\r\nHost: %s\r\n\r\n", c->path,
			     v->msn, v->part, c->host);
	else
		n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", c->path, c->host);
	v->sent = now_s();
	c->reqs++;
	if (write(v->fd, req, (size_t)n) != n)
		c->errors++;
}

/* Parse a playlist body: newest part URI and the preload hint's msn/part. */
static void parse_playlist(struct viewer *v, const char *b, size_t n)
{
	const char *p = b, *end = b + n;
	v->part_uri[0] = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *u;
		if (ll > 11 && (strncmp(p, "#EXT-X-PART:", 12) == 0 || strncmp(p, "#EXT-X-PRELOAD-HINT:", 20) == 0) &&
		    (u = memmem(p, ll, "URI=\"", 5)) != NULL) {
			const char *q = memchr(u + 5, '"', (size_t)(p + ll - u - 5));
			size_t ul = q ? (size_t)(q - u - 5) : 0;
			if (ul > 0 && ul < sizeof v->part_uri) {
				char uri[128];
				memcpy(uri, u + 5, ul);
				uri[ul] = 0;
				if (p[7] == 'P' && p[8] == 'A')
					snprintf(v->part_uri, sizeof v->part_uri, "%s", uri);
				else if (sscanf(uri, "seg%ld.%ld.m4s", &v->msn, &v->part) != 2)
					v->msn = -1;
			}
		}
		p += ll + 1;
	}
}

/* Classic HLS: the last URI line of a media playlist into part_uri;
 * returns 1 when it differs from the previous one. */
static int parse_hls(struct viewer *v, const char *b, size_t n)
{
	const char *p = b, *end = b + n;
	char last[128] = "";
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		while (ll && (p[ll - 1] == '\r' || p[ll - 1] == ' '))
			ll--;
		if (ll && p[0] != '#' && ll < sizeof last) {
			memcpy(last, p, ll);
			last[ll] = 0;
		}
		p = nl ? nl + 1 : end;
	}
	if (!last[0] || !strcmp(last, v->part_uri))
		return 0;
	snprintf(v->part_uri, sizeof v->part_uri, "%s", last);
	return 1;
}

/* Returns body length if a full response is in buf, else -1. */
static long full_response(struct viewer *v, size_t *hdrlen, int *status)
{
	char *h = memmem(v->buf, v->len, "\r\n\r\n", 4), *cl;
	long clen;
	if (!h)
		return -1;
	*hdrlen = (size_t)(h + 4 - v->buf);
	*status = atoi(v->buf + 9);
	cl = memmem(v->buf, *hdrlen, "Content-Length:", 15);
	if (!cl)
		cl = memmem(v->buf, *hdrlen, "content-length:", 15);
	clen = cl ? atol(cl + 15) : 0;
	if (v->len < *hdrlen + (size_t)clen)
		return -1;
	return clen;
}

static void on_response(struct ctx *c, struct viewer *v, double t)
{
	size_t hl;
	int status;
	long bl;
	while ((bl = full_response(v, &hl, &status)) >= 0) {
		v->last_ok = t;
		if (c->hls && status == 200 && !v->want_part) {
			long first = v->msn < 0;
			v->msn = 0;
			/* first load: join at the live edge without fetching */
			v->want_part = parse_hls(v, v->buf + hl, (size_t)bl) && !first;
		} else if (status != 200) {
			c->errors++;
			v->want_part = 0;
			v->msn = -1;
		} else if (v->want_part) {
			char fp[1024];
			struct stat st;
			snprintf(fp, sizeof fp, "%s/%s", c->dir, v->part_uri);
			if (!strcmp(c->dir, "-")) {
				if (c->nlat < c->caplat)
					c->lat[c->nlat++] = t - v->sent;
			} else if (stat(fp, &st) == 0 && c->nlat < c->caplat) {
				c->lat[c->nlat++] = t - (st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9);
			}
			v->want_part = 0;
		} else {
			long msn0 = v->msn;
			parse_playlist(v, v->buf + hl, (size_t)bl);
			v->want_part = msn0 >= 0 && v->part_uri[0]; /* first load: just join at the edge */
		}
		memmove(v->buf, v->buf + hl + bl, v->len - hl - (size_t)bl);
		v->len -= hl + (size_t)bl;
		if (c->hls && !v->want_part)
			v->next_at = t + 0.5; /* classic player: poll the playlist */
		else
			send_req(c, v);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Loopback or a test host only: this tool must never load someone else. */
static int addr_ok(const char *host)
{
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1)
		return 0;
	unsigned first = ntohl(a.s_addr) >> 24;
	return first == 127 || first == 10;
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	struct viewer *vs;
	struct rlimit rl;
	int port, n, secs, ep, held = 0;
	double t_end;
	char *slash;
	if (argc > 1 && !strcmp(argv[1], "--hls")) {
		c.hls = 1;
		argc--;
		argv++;
	}
	if (argc != 7) {
		fprintf(stderr, "usage: lsp-loadviewers [--hls] HOST PORT PLAYLIST_PATH HLS_DIR|- N SECONDS\n");
		return 1;
	}
	c.host = argv[1];
	port = atoi(argv[2]);
	c.path = argv[3];
	c.dir = argv[4];
	n = atoi(argv[5]);
	secs = atoi(argv[6]);
	if (!addr_ok(c.host)) {
		fprintf(stderr, "lsp-loadviewers: %s is not a loopback (127/8) or test-host (10/8) address\n", c.host);
		return 1;
	}
	if (port <= 0 || port > 65535 || n <= 0 || n > 50000 || secs <= 0 || secs > 600)
		return 1;
	c.port = port;
	snprintf(c.dirpath, sizeof c.dirpath, "%s", c.path);
	if ((slash = strrchr(c.dirpath, '/')) != NULL)
		*slash = 0;
	rl.rlim_cur = rl.rlim_max = (rlim_t)n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	c.caplat = 4000000;
	c.lat = malloc(c.caplat * sizeof *c.lat);
	vs = calloc((size_t)n, sizeof *vs);
	ep = epoll_create1(0);
	if (!c.lat || !vs || ep < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		vs[i].msn = -1;
		vs[i].buf = malloc(BUFSZ);
		vs[i].fd = conn(c.host, port);
		if (vs[i].fd < 0 || !vs[i].buf) {
			fprintf(stderr, "lsp-loadviewers: connect %d failed: %s\n", i, strerror(errno));
			return 111;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, vs[i].fd, &e);
		send_req(&c, &vs[i]);
	}
	t_end = now_s() + secs;
	while (now_s() < t_end) {
		struct epoll_event ev[256];
		int k = epoll_wait(ep, ev, 256, c.hls ? 20 : 100);
		double t = now_s();
		for (int i = 0; c.hls && i < n; i++)
			if (vs[i].next_at > 0 && vs[i].next_at <= t && vs[i].fd >= 0) {
				vs[i].next_at = 0;
				send_req(&c, &vs[i]);
			}
		for (int i = 0; i < k; i++) {
			struct viewer *v = &vs[ev[i].data.u32];
			ssize_t r = read(v->fd, v->buf + v->len, BUFSZ - v->len);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				c.errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, v->fd, NULL);
				close(v->fd);
				/* closed by the server: reconnect once and start over */
				v->len = 0;
				v->want_part = 0;
				v->next_at = 0;
				v->msn = -1;
				v->part_uri[0] = 0;
				if ((v->fd = conn(c.host, port)) >= 0) {
					struct epoll_event e2 = { .events = EPOLLIN, .data.u32 = ev[i].data.u32 };
					epoll_ctl(ep, EPOLL_CTL_ADD, v->fd, &e2);
					send_req(&c, v);
				}
				continue;
			}
			v->len += (size_t)r;
			on_response(&c, v, t);
			if (v->len == BUFSZ) { /* oversized: drop */
				c.errors++;
				v->len = 0;
			}
		}
	}
	for (int i = 0; i < n; i++)
		held += vs[i].fd >= 0 && vs[i].last_ok > t_end - 5;
	qsort(c.lat, c.nlat, sizeof *c.lat, cmp);
#define P(q) (c.nlat ? c.lat[(size_t)((q) * (c.nlat - 1))] * 1000 : -1)
	printf("{\"viewers\":%d,\"held\":%d,\"requests_per_s\":%.0f,\"parts\":%zu,\"errors\":%ld,\"p50_ms\":%.1f,"
	       "\"p99_ms\":%.1f,\"max_ms\":%.1f}\n", n, held, (double)c.reqs / secs, c.nlat, c.errors, P(0.5), P(0.99), P(1.0));
	return 0;
}
