/* sdp.c — offer parsing and answer writing for WHEP/WHIP; see sdp.h.
 * Pure functions over caller buffers. */
#include "rtc/sdp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PT_MAX 32

struct cand {
	int pt, score;
	int nack, pli;
};

/* Copy a field [p, p+n) into dst; -1 when it does not fit or has controls. */
static int field(char *dst, size_t cap, const char *p, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return -1;
	memcpy(dst, p, n);
	dst[n] = 0;
	return 0;
}

static int starts(const char *l, size_t n, const char *pfx)
{
	size_t k = strlen(pfx);
	return n >= k && memcmp(l, pfx, k) == 0;
}

static int num(const char *p, size_t n, int *out)
{
	int v = 0;
	size_t i = 0;
	for (; i < n && i < 4 && isdigit((unsigned char)p[i]); i++)
		v = v * 10 + (p[i] - '0');
	if (i == 0)
		return -1;
	*out = v;
	return (int)i;
}

static int has_word(const char *p, size_t n, const char *w)
{
	size_t k = strlen(w);
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(p + i, w, k) == 0)
			return 1;
	return 0;
}

int lsp_sdp_parse(const char *sdp, size_t len, lsp_sdp_offer *o)
{
	struct cand c[LSP_SDP_MEDIA_MAX][PT_MAX];
	int nc[LSP_SDP_MEDIA_MAX] = { 0 };
	char sess_ufrag[64] = "", sess_pwd[128] = "", sess_fp[128] = "";
	const char *p = sdp, *end = sdp + len;
	int cur = -1;
	memset(o, 0, sizeof *o);
	if (len < 4 || len > 65536 || memcmp(sdp, "v=0", 3) != 0)
		return -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *l = p;
		p = nl ? nl + 1 : end;
		if (n && l[n - 1] == '\r')
			n--;
		if (starts(l, n, "m=")) {
			const char *sp1, *sp2, *sp3;
			lsp_sdp_media *m;
			if (o->nmedia == LSP_SDP_MEDIA_MAX)
				return -1;
			cur = o->nmedia++;
			m = &o->m[cur];
			m->pt = -1;
			sp1 = memchr(l, ' ', n);
			if (!sp1)
				return -1;
			sp2 = memchr(sp1 + 1, ' ', (size_t)(l + n - sp1 - 1));
			if (!sp2)
				return -1;
			sp3 = memchr(sp2 + 1, ' ', (size_t)(l + n - sp2 - 1));
			if (!sp3)
				return -1;
			if ((size_t)(sp1 - l - 2) < sizeof m->kind)
				memcpy(m->kind, l + 2, (size_t)(sp1 - l - 2));
			if (field(m->proto, sizeof m->proto, sp2 + 1, (size_t)(sp3 - sp2 - 1)) < 0)
				return -1;
			size_t fl = (size_t)(l + n - sp3 - 1);
			if (fl >= sizeof m->fmts)
				fl = sizeof m->fmts - 1;
			memcpy(m->fmts, sp3 + 1, fl);
			for (size_t i = 0; i < fl; i++)
				if (!isdigit((unsigned char)m->fmts[i]) && m->fmts[i] != ' ')
					m->fmts[i] = '0';
			continue;
		}
		if (!starts(l, n, "a="))
			continue;
		l += 2;
		n -= 2;
		if (starts(l, n, "ice-ufrag:")) {
			if (field(cur < 0 ? sess_ufrag : o->ufrag, cur < 0 ? sizeof sess_ufrag : sizeof o->ufrag,
				  l + 10, n - 10) < 0)
				return -1;
		} else if (starts(l, n, "ice-pwd:")) {
			if (field(cur < 0 ? sess_pwd : o->pwd, cur < 0 ? sizeof sess_pwd : sizeof o->pwd, l + 8,
				  n - 8) < 0)
				return -1;
		} else if (starts(l, n, "fingerprint:sha-256 ")) {
			char *dst = cur < 0 ? sess_fp : o->fingerprint;
			if (field(dst, 128, l + 20, n - 20) < 0)
				return -1;
			for (char *q = dst; *q; q++)
				*q = (char)toupper((unsigned char)*q);
		} else if (cur >= 0 && starts(l, n, "mid:")) {
			if (field(o->m[cur].mid, sizeof o->m[cur].mid, l + 4, n - 4) < 0)
				return -1;
		} else if (cur >= 0 && starts(l, n, "rtpmap:")) {
			int pt, k = num(l + 7, n - 7, &pt);
			const char *enc;
			if (k < 0 || pt > 127 || nc[cur] == PT_MAX)
				continue;
			enc = l + 7 + k + 1;
			if (enc > l + n)
				continue;
			size_t el = (size_t)(l + n - enc);
			int ok = (!strcmp(o->m[cur].kind, "video") && el >= 10 && !strncasecmp(enc, "H264/90000", 10)) ||
				 (!strcmp(o->m[cur].kind, "audio") && el >= 12 && !strncasecmp(enc, "opus/48000/2", 12));
			if (ok)
				c[cur][nc[cur]++] = (struct cand){ pt, !strcmp(o->m[cur].kind, "audio") ? 10 : 0, 0, 0 };
		} else if (cur >= 0 && (starts(l, n, "fmtp:") || starts(l, n, "rtcp-fb:"))) {
			int fb = starts(l, n, "rtcp-fb:");
			size_t pl = fb ? 8 : 5;
			int pt, k = num(l + pl, n - pl, &pt);
			if (k < 0)
				continue;
			const char *v = l + pl + k;
			size_t vl = n - pl - (size_t)k;
			for (int i = 0; i < nc[cur]; i++) {
				struct cand *x = &c[cur][i];
				if (x->pt != pt)
					continue;
				if (fb) {
					if (vl >= 5 && !strncmp(v, " nack", 5) && vl == 5)
						x->nack = 1;
					else if (vl == 9 && !strncmp(v, " nack pli", 9))
						x->pli = 1;
				} else if (!strcmp(o->m[cur].kind, "video")) {
					if (!has_word(v, vl, "packetization-mode=1"))
						x->score = -100;
					else if (has_word(v, vl, "profile-level-id=42e01f"))
						x->score = 3;
					else if (has_word(v, vl, "profile-level-id=42001f"))
						x->score = 2;
					else
						x->score = 1;
				}
			}
		}
	}
	if (!o->ufrag[0])
		memcpy(o->ufrag, sess_ufrag, sizeof o->ufrag);
	if (!o->pwd[0])
		memcpy(o->pwd, sess_pwd, sizeof o->pwd);
	if (!o->fingerprint[0])
		memcpy(o->fingerprint, sess_fp, sizeof o->fingerprint);
	for (int i = 0; i < o->nmedia; i++) {
		int best = -1;
		for (int k = 0; k < nc[i]; k++)
			if (c[i][k].score > 0 && (best < 0 || c[i][k].score > c[i][best].score))
				best = k;
		if (best >= 0) {
			o->m[i].pt = c[i][best].pt;
			o->m[i].nack = c[i][best].nack;
			o->m[i].pli = c[i][best].pli;
		}
		if (!o->m[i].mid[0])
			snprintf(o->m[i].mid, sizeof o->m[i].mid, "%d", i);
	}
	if (!o->ufrag[0] || !o->pwd[0] || !o->fingerprint[0] || o->nmedia == 0)
		return -1;
	return 0;
}

int lsp_sdp_find(const lsp_sdp_offer *o, const char *kind)
{
	for (int i = 0; i < o->nmedia; i++)
		if (o->m[i].pt >= 0 && !strcmp(o->m[i].kind, kind))
			return i;
	return -1;
}

struct out {
	char *p;
	size_t cap, n;
	int over;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;
	if (o->over)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->cap - o->n)
		o->over = 1;
	else
		o->n += (size_t)k;
}

/* One host candidate per address of l->ip, UDP first (RFC 8445 priority:
 * type preference 126, local preference falling with the list), then, with
 * a TCP port, passive ICE-TCP ones (RFC 6544) below every UDP one. */
static void candidates(struct out *o, const lsp_sdp_local *l)
{
	const char *ip = l->ip ? l->ip : "";
	int n = 0;
	for (int tcp = 0; tcp < (l->tcp_port > 0 ? 2 : 1); tcp++) {
		const char *a = ip;
		for (int i = 0; *a && i < LSP_SDP_CAND_MAX; i++) {
			size_t al = strcspn(a, ",");
			uint32_t prio = ((tcp ? 90u : 126u) << 24) | ((uint32_t)(65535 - i) << 8) | 255u;
			if (al && al < 64)
				put(o, "a=candidate:%d 1 %s %u %.*s %d typ host%s\r\n", ++n, tcp ? "tcp" : "udp", prio,
				    (int)al, a, tcp ? l->tcp_port : l->port, tcp ? " tcptype passive" : "");
			a += al + (a[al] == ',');
		}
	}
	put(o, "a=end-of-candidates\r\n");
}

/* NOLINTNEXTLINE(readability-non-const-parameter): written through o.p; clang-tidy 14 misses initializer lists */
int lsp_sdp_answer(const lsp_sdp_offer *of, const lsp_sdp_local *l, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, 0 };
	int used_v = 0, used_a = 0;
	size_t first;
	put(&o, "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=lsp\r\nt=0 0\r\na=ice-lite\r\n",
	    (unsigned)(l->ssrc_video ^ l->ssrc_audio));
	put(&o, "a=group:BUNDLE");
	for (int i = 0; i < of->nmedia; i++) {
		const lsp_sdp_media *m = &of->m[i];
		int isv = !strcmp(m->kind, "video");
		if (m->pt >= 0 && !(isv ? used_v : used_a)) {
			put(&o, " %s", m->mid);
			if (isv)
				used_v = 1;
			else
				used_a = 1;
		}
	}
	put(&o, "\r\na=msid-semantic: WMS lsp\r\n");
	used_v = used_a = 0;
	for (int i = 0; i < of->nmedia; i++) {
		const lsp_sdp_media *m = &of->m[i];
		int isv = !strcmp(m->kind, "video");
		uint32_t ssrc = isv ? l->ssrc_video : l->ssrc_audio;
		if (m->pt < 0 || (isv ? used_v : used_a)) {
			put(&o, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\na=inactive\r\n",
			    m->kind[0] ? m->kind : "application", m->proto, m->fmts[0] ? m->fmts : "0", m->mid);
			continue;
		}
		if (isv)
			used_v = 1;
		else
			used_a = 1;
		first = l->ip ? strcspn(l->ip, ",") : 0;
		put(&o, "m=%s %d UDP/TLS/RTP/SAVPF %d\r\nc=IN %s %.*s\r\na=mid:%s\r\n", m->kind, l->port, m->pt,
		    l->ip && memchr(l->ip, ':', first) ? "IP6" : "IP4", (int)first, l->ip ? l->ip : "", m->mid);
		put(&o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\na=setup:passive\r\n",
		    l->ufrag, l->pwd, l->fingerprint);
		put(&o, "a=%s\r\na=rtcp-mux\r\n", l->send ? "sendonly" : "recvonly");
		if (isv) {
			put(&o, "a=rtpmap:%d H264/90000\r\n", m->pt);
			put(&o, "a=fmtp:%d level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n",
			    m->pt);
			put(&o, "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n", m->pt,
			    m->pt, m->pt);
			/* a publisher learns its allowed bitrate from our REMB; a
			 * viewer's browser estimates what reaches it and reports it
			 * in REMB (lsp-rtc's ABR moves it between rungs on it) */
			put(&o, "a=rtcp-fb:%d goog-remb\r\n", m->pt);
		} else {
			put(&o, "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n", m->pt,
			    m->pt);
		}
		if (l->send) {
			put(&o, "a=msid:lsp lsp-%s\r\n", m->kind);
			put(&o, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:lsp lsp-%s\r\n", ssrc, l->cname, ssrc,
			    m->kind);
		}
		candidates(&o, l);
	}
	return o.over ? -1 : (int)o.n;
}
