/* whep-load — a WHEP load client: N viewers of one lsp-rtc channel, each
 * with its own UDP socket, doing what a browser does on the wire (WHEP
 * POST, ICE-lite connectivity check, DTLS-SRTP handshake as the DTLS
 * client, consent checks every 2 s) and then counting the SRTP packets it
 * receives.  Media goes to the answer's first candidate, from a socket
 * connected to it (answers from another address never arrive, as in a
 * browser's ICE).  Loss is read from RTP sequence numbers (the RTP header is not
 * encrypted), so media is not decrypted: the client stays cheap and the
 * server's cost is what is measured.
 *
 * Usage: whep-load URL N SECONDS [--nack] [--pli] [--each]
 *   URL  http://host:port/whep/CHANNEL
 *   --nack  viewer 0 asks (SRTCP NACK) for a packet it already has and
 *           checks that the retransmission arrives
 *   --pli   viewer 0 sends a PLI; the stream must go on without a gap
 *   --each  after the summary, one JSON line per viewer: its session's
 *           Location, UDP port, packets and loss in the window, and how
 *           long before the end its last packet came (idle_ms)
 * Prints one JSON line: viewers, connected, packets, bytes, mbps (per
 * viewer), lost, rtx_ok; on stderr "media" when the measured window
 * starts (every viewer connected, 1 s settled) and "end" when it ends.  Built against lsp's lib (stun, dtls, rtp, sdp).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rtc/dtls.h"
#include "rtc/rtp.h"
#include "rtc/stun.h"

#define MAXV 4096

struct viewer {
	int fd, state; /* 0 new, 1 ice ok, 2 dtls ok */
	char ufrag[16], pwd[40], sufrag[64], spwd[128], sfp[128];
	lsp_dtls *d;
	long long pkts, bytes, lost, last_stun;
	int have_seq[2];
	uint16_t next_seq[2];
	uint32_t ssrc[2];
	int nack_sent, rtx_ok, pli_sent;
	uint16_t nack_seq;
	char loc[160];
	int port;
	long long last_rx;
};

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void rnd(char *o, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t b[64];
	RAND_bytes(b, (int)n);
	for (size_t i = 0; i < n; i++)
		o[i] = al[b[i] % 36];
	o[n] = 0;
}

static void dsend(void *ctx, const uint8_t *p, size_t len)
{
	struct viewer *v = ctx;
	(void)!send(v->fd, p, len, 0);
}

static int attr(const char *sdp, const char *name, char *out, size_t cap)
{
	const char *p = strstr(sdp, name), *e;
	if (!p)
		return -1;
	p += strlen(name);
	e = strpbrk(p, "\r\n");
	if (!e || (size_t)(e - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = 0;
	return 0;
}

/* POST the offer; fill the server's ICE credentials, fingerprint, port. */
static int whep_post(const char *host, int port, const char *path, struct viewer *v, const char *fp, int *uport,
		     char *uip, size_t uipcap)
{
	char offer[2048], req[4096], resp[16384], cand[256];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd, n, len = 0;
	char *body;
	snprintf(offer, sizeof offer,
		 "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
		 "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:active\r\n"
		 "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
		 "a=rtpmap:96 H264/90000\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
		 "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
		 "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"
		 "a=rtpmap:111 opus/48000/2\r\n",
		 v->ufrag, v->pwd, fp);
	n = snprintf(req, sizeof req,
		     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     path, host, strlen(offer), offer);
	inet_pton(AF_INET, host, &a.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    send(fd, req, (size_t)n, 0) != n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (len < (int)sizeof resp - 1 && (n = (int)recv(fd, resp + len, sizeof resp - 1 - (size_t)len, 0)) > 0)
		len += n;
	close(fd);
	resp[len] = 0;
	if (strncmp(resp, "HTTP/1.1 201", 12) != 0 || !(body = strstr(resp, "\r\n\r\n")))
		return -1;
	{
		const char *l = strstr(resp, "\r\nLocation: ");
		if (l && l < body)
			attr(l + 2, "Location: ", v->loc, sizeof v->loc);
	}
	if (attr(body, "a=ice-ufrag:", v->sufrag, sizeof v->sufrag) < 0 ||
	    attr(body, "a=ice-pwd:", v->spwd, sizeof v->spwd) < 0 ||
	    attr(body, "a=fingerprint:sha-256 ", v->sfp, sizeof v->sfp) < 0 ||
	    attr(body, "a=candidate:", cand, sizeof cand) < 0)
		return -1;
	{ /* "1 1 udp PRIO IP PORT typ host" */
		char ip[64];
		int prt;
		if (sscanf(cand, "%*s %*s %*s %*s %63s %d", ip, &prt) != 2)
			return -1;
		*uport = prt;
		snprintf(uip, uipcap, "%s", ip);
	}
	return 0;
}

static void stun(struct viewer *v)
{
	uint8_t b[512], tid[12];
	char user[256];
	int n;
	RAND_bytes(tid, sizeof tid);
	snprintf(user, sizeof user, "%s:%s", v->sufrag, v->ufrag);
	if ((n = lsp_stun_request(user, v->spwd, 1, tid, b, sizeof b)) > 0)
		(void)!send(v->fd, b, (size_t)n, 0);
	v->last_stun = now_ms();
}

static void rtcp_send(struct viewer *v, uint8_t *b, int n)
{
	if (n > 0 && (n = lsp_dtls_protect_rtcp(v->d, b, (size_t)n, 256)) > 0)
		(void)!send(v->fd, b, (size_t)n, 0);
}

int main(int argc, char **argv)
{
	char host[64], path[256], err[256];
	int port, n, nack = 0, pli = 0, each = 0, connected = 0;
	long long secs, t_end, t_media = 0;
	static struct viewer vs[MAXV];
	static struct pollfd pf[MAXV];
	lsp_dtls_cert *cert;
	long long pk0 = 0;
	if (argc < 4 || sscanf(argv[1], "http://%63[^:]:%d%255s", host, &port, path) != 3) {
		fprintf(stderr, "usage: whep-load http://HOST:PORT/whep/CHANNEL N SECONDS [--nack] [--pli]\n");
		return 100;
	}
	n = atoi(argv[2]);
	secs = atoll(argv[3]);
	for (int i = 4; i < argc; i++) {
		nack |= !strcmp(argv[i], "--nack");
		pli |= !strcmp(argv[i], "--pli");
		each |= !strcmp(argv[i], "--each");
	}
	if (n < 1 || n > MAXV || secs < 1)
		return 100;
	if (lsp_dtls_cert_new(&cert, err, sizeof err) < 0) {
		fprintf(stderr, "whep-load: %s\n", err);
		return 111;
	}
	for (int i = 0; i < n; i++) {
		struct viewer *v = &vs[i];
		struct sockaddr_in a = { .sin_family = AF_INET };
		char uip[64];
		int up;
		rnd(v->ufrag, 8);
		rnd(v->pwd, 24);
		if (whep_post(host, port, path, v, lsp_dtls_cert_fingerprint(cert), &up, uip, sizeof uip) < 0) {
			fprintf(stderr, "whep-load: viewer %d: WHEP POST failed\n", i);
			return 1;
		}
		a.sin_port = htons((uint16_t)up);
		v->port = up;
		/* to the first candidate, as a browser would (a connected
		 * socket: only answers from that very address count) */
		if (inet_pton(AF_INET, uip, &a.sin_addr) != 1) {
			fprintf(stderr, "whep-load: viewer %d: candidate %s is not IPv4\n", i, uip);
			return 1;
		}
		if ((v->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) < 0 ||
		    connect(v->fd, (struct sockaddr *)&a, sizeof a) < 0)
			return 111;
		{
			int sz = 1 << 20;
			setsockopt(v->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		}
		if (lsp_dtls_new(&v->d, cert, 0, v->sfp, dsend, v, err, sizeof err) < 0)
			return 111;
		stun(v);
		pf[i] = (struct pollfd){ v->fd, POLLIN, 0 };
	}
	t_end = now_ms() + 10000; /* connect phase: at most 10 s */
	for (;;) {
		long long now = now_ms();
		if (t_media && now >= t_media + secs * 1000)
			break;
		if (!t_media && (connected == n || now > t_end)) {
			t_media = now + 1000; /* count from 1 s after every viewer is up */
		}
		if (t_media && !pk0 && now >= t_media) {
			fprintf(stderr, "media\n"); /* the measured window starts */
			for (int i = 0; i < n; i++) {
				pk0 += vs[i].pkts;
				vs[i].lost = 0;
				vs[i].bytes = 0;
			}
			pk0 = pk0 ? pk0 : 1;
			for (int i = 0; i < n; i++)
				vs[i].pkts = 0;
		}
		poll(pf, (nfds_t)n, 50);
		for (int i = 0; i < n; i++) {
			struct viewer *v = &vs[i];
			uint8_t b[2048];
			ssize_t r;
			if (now - v->last_stun > (v->state ? 2000 : 200))
				stun(v);
			if (v->d && v->state == 1)
				lsp_dtls_tick(v->d);
			while ((r = recv(v->fd, b, sizeof b, 0)) > 0) {
				if (lsp_stun_is(b, (size_t)r)) {
					if (v->state == 0) {
						v->state = 1;
						lsp_dtls_start(v->d, err, sizeof err);
					}
				} else if (lsp_dtls_is(b, (size_t)r)) {
					if (lsp_dtls_feed(v->d, b, (size_t)r, err, sizeof err) == 1) {
						v->state = 2;
						connected++;
					}
				} else if (lsp_rtp_is_rtcp(b, (size_t)r)) {
					;
				} else if (lsp_rtp_is(b, (size_t)r) && v->state == 2) {
					lsp_rtp_hdr h;
					int k;
					if (lsp_rtp_parse(b, (size_t)r, &h) < 0)
						continue;
					k = h.pt == 96 ? 0 : 1;
					v->ssrc[k] = h.ssrc;
					if (v->have_seq[k]) {
						int16_t gap = (int16_t)(h.seq - v->next_seq[k]);
						if (gap > 0)
							v->lost += gap;
						if (gap >= 0)
							v->next_seq[k] = (uint16_t)(h.seq + 1);
						else if (k == 0 && v->nack_sent && h.seq == v->nack_seq)
							v->rtx_ok = 1;
					} else {
						v->have_seq[k] = 1;
						v->next_seq[k] = (uint16_t)(h.seq + 1);
					}
					v->pkts++;
					v->bytes += r;
					v->last_rx = now;
					if (i == 0 && k == 0 && nack && !v->nack_sent && v->pkts > 100) {
						uint8_t c[256];
						v->nack_seq = (uint16_t)(v->next_seq[0] - 20);
						v->nack_sent = 1;
						rtcp_send(v, c, lsp_rtcp_nack(c, sizeof c, 1, v->ssrc[0], v->nack_seq, 0));
					}
					if (i == 0 && k == 0 && pli && !v->pli_sent && v->pkts > 150) {
						uint8_t c[256];
						v->pli_sent = 1;
						rtcp_send(v, c, lsp_rtcp_pli(c, sizeof c, 1, v->ssrc[0]));
					}
				}
			}
		}
	}
	fprintf(stderr, "end\n");
	{
		long long pk = 0, by = 0, lost = 0;
		for (int i = 0; i < n; i++) {
			pk += vs[i].pkts;
			by += vs[i].bytes;
			lost += vs[i].lost;
		}
		printf("{\"viewers\":%d,\"connected\":%d,\"seconds\":%lld,\"packets\":%lld,\"bytes\":%lld,"
		       "\"mbps_per_viewer\":%.2f,\"lost\":%lld,\"rtx_ok\":%d}\n",
		       n, connected, secs, pk, by, n ? by * 8.0 / 1e6 / (double)secs / n : 0.0, lost, vs[0].rtx_ok);
		for (int i = 0; i < n && each; i++)
			printf("{\"viewer\":%d,\"location\":\"%s\",\"port\":%d,\"packets\":%lld,\"lost\":%lld,"
			       "\"idle_ms\":%lld}\n",
			       i, vs[i].loc, vs[i].port, vs[i].pkts, vs[i].lost,
			       vs[i].last_rx ? now_ms() - vs[i].last_rx : -1);
		for (int i = 0; i < n; i++) {
			close(vs[i].fd);
			lsp_dtls_free(vs[i].d);
		}
		lsp_dtls_cert_free(cert);
		return connected == n ? 0 : 1;
	}
}
