/* loadgen.c — WebSocket load for bench/chat-fanout: N reading clients
 * spread over one or more lsp-chat nodes, one signed-in sender per node
 * sending M messages/s in total into one channel.  Each message carries
 * its send time; each reader records now - sent.  Prints one JSON line:
 * connected clients, messages sent, delivered per second, p50/p99/max
 * delivery latency (ms), and the fraction delivered.
 *
 * usage: loadgen HOST:PORT[,HOST:PORT…] CHANNEL CLIENTS RATE SECONDS TOKEN
 * Bench tool, not part of the platform: plain C, epoll, no TLS. */
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

struct cl {
	int fd, open, sender;
	size_t len;
	unsigned char buf[BUF];
};

static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static void wsend(int fd, const char *p, size_t n)
{
	unsigned char f[4096];
	size_t h = 2;
	f[0] = 0x81;
	if (n < 126)
		f[1] = 0x80 | (unsigned char)n;
	else {
		f[1] = 0x80 | 126, f[2] = (unsigned char)(n >> 8), f[3] = (unsigned char)n;
		h = 4;
	}
	memset(f + h, 0, 4); /* mask 0: legal, and the payload stays readable */
	memcpy(f + h + 4, p, n);
	if (write(fd, f, h + 4 + n) < 0) {
		/* counted as not delivered */
	}
}

static long long *lat;
static size_t nlat, caplat = 1 << 24;
static long long delivered;

/* Consume whole frames from c->buf; record latencies of "b <us>" texts. */
static void frames(struct cl *c)
{
	size_t off = 0;
	while (c->len - off >= 2) {
		unsigned char *p = c->buf + off;
		size_t h = 2, n = p[1] & 0x7F;
		if (n == 126) {
			if (c->len - off < 4)
				break;
			n = (size_t)p[2] << 8 | p[3], h = 4;
		} else if (n == 127) {
			if (c->len - off < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			h = 10;
		}
		if (c->len - off < h + n)
			break;
		if ((p[0] & 0x0F) == 1 && n > 30) {
			unsigned char *q = memmem(p + h, n, "\"text\":\"b ", 10);
			if (q && !c->sender && memmem(p + h, n < 20 ? n : 20, "\"type\":\"say\"", 12)) {
				long long sent = atoll((char *)q + 10);
				delivered++;
				if (nlat < caplat)
					lat[nlat++] = now_us() - sent;
			}
		}
		off += h + n;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

int main(int argc, char **argv)
{
	char *nodes, *save = NULL, *tok;
	char host[16][64];
	int port[16], nn = 0, clients, rate, secs, efd;
	struct cl *cs;
	long long t0, tend, next, sent = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: loadgen HOST:PORT[,…] CHANNEL CLIENTS RATE SECONDS TOKEN\n");
		return 100;
	}
	nodes = strdup(argv[1]);
	for (tok = strtok_r(nodes, ",", &save); tok && nn < 16; tok = strtok_r(NULL, ",", &save), nn++) {
		char *c = strrchr(tok, ':');
		if (!c)
			return 100;
		*c = 0;
		snprintf(host[nn], sizeof host[nn], "%s", tok);
		port[nn] = atoi(c + 1);
	}
	clients = atoi(argv[3]), rate = atoi(argv[4]), secs = atoi(argv[5]);
	if (nn < 1 || clients < 1 || rate < 1 || secs < 1)
		return 100;
	lat = malloc(caplat * sizeof *lat);
	cs = calloc((size_t)(clients + nn), sizeof *cs);
	efd = epoll_create1(0);
	if (!lat || !cs || efd < 0)
		return 111;
	/* connect readers (and one sender per node, last) in batches */
	for (int i = 0; i < clients + nn; i++) {
		struct cl *c = &cs[i];
		int k = i < clients ? i % nn : i - clients;
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port[k]) };
		char req[512];
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		int one = 1;
		inet_pton(AF_INET, host[k], &a.sin_addr);
		c->sender = i >= clients;
		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
			fprintf(stderr, "loadgen: connect %d: %s\n", i, strerror(errno));
			if (c->fd >= 0)
				close(c->fd);
			c->fd = -1;
			continue;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		snprintf(req, sizeof req,
			 "GET /ws/%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
			 argv[2], host[k]);
		if (write(c->fd, req, strlen(req)) < 0)
			continue;
		fcntl(c->fd, F_SETFL, O_NONBLOCK);
		epoll_ctl(efd, EPOLL_CTL_ADD, c->fd, &e);
	}
	/* sending starts once every client is open (or after 20 s), plus 0.5 s */
	t0 = now_us();
	tend = next = 0;
	for (;;) {
		struct epoll_event ev[512];
		int n = epoll_wait(efd, ev, 512, 1);
		long long now = now_us();
		if (!tend) {
			int open = 0;
			for (int i = 0; i < clients + nn; i++)
				open += cs[i].open;
			if (open == clients + nn || now - t0 > 20000000) {
				next = now + 500000;
				tend = next + (long long)secs * 1000000;
			}
		} else if (now > tend + 1000000) {
			break; /* a second to drain */
		}
		for (int i = 0; i < n; i++) {
			struct cl *c = ev[i].data.ptr;
			ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
			if (r <= 0) {
				if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					epoll_ctl(efd, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
					c->fd = -1, c->open = 0;
				}
				continue;
			}
			c->len += (size_t)r;
			if (!c->open) {
				unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
				if (!e)
					continue;
				if (memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
					close(c->fd);
					c->fd = -1;
					continue;
				}
				c->open = 1;
				c->len -= (size_t)(e + 4 - c->buf);
				memmove(c->buf, e + 4, c->len);
				if (c->sender) {
					char a[1024];
					int l = snprintf(a, sizeof a, "{\"type\":\"auth\",\"token\":\"%s\"}", argv[6]);
					wsend(c->fd, a, (size_t)l);
				}
			}
			frames(c);
			if (c->len == BUF)
				c->len = 0; /* a frame bigger than we care about */
		}
		/* senders: RATE messages/s in total, round-robin over nodes */
		while (tend && now >= next && now < tend) {
			struct cl *s = &cs[clients + sent % nn];
			char m[128];
			int l = snprintf(m, sizeof m, "{\"type\":\"say\",\"text\":\"b %lld\"}", now_us());
			if (s->fd >= 0 && s->open)
				wsend(s->fd, m, (size_t)l);
			sent++;
			next += 1000000 / rate;
		}
	}
	{
		int open = 0;
		double p50 = 0, p99 = 0, mx = 0;
		for (int i = 0; i < clients; i++)
			open += cs[i].open;
		qsort(lat, nlat, sizeof *lat, cmp);
		if (nlat) {
			p50 = lat[nlat / 2] / 1000.0;
			p99 = lat[(size_t)(nlat * 0.99)] / 1000.0;
			mx = lat[nlat - 1] / 1000.0;
		}
		printf("{\"clients\":%d,\"connected\":%d,\"nodes\":%d,\"rate\":%d,\"seconds\":%d,\"sent\":%lld,"
		       "\"delivered\":%lld,\"delivered_per_s\":%.0f,\"expected\":%lld,\"delivered_frac\":%.4f,"
		       "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
		       clients, open, nn, rate, secs, sent, delivered, delivered / (double)secs,
		       sent * (long long)open, open && sent ? delivered / (double)(sent * (long long)open) : 0,
		       p50, p99, mx);
	}
	return 0;
}
