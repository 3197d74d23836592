/* rtcabr.c — which rung a WHEP viewer is served (see rtc_int.h).
 *
 * A channel's ladder is its own video ("src", or the rung it serves when
 * the source has B-frames) and every rung lsp-transcode writes into a ring
 * "CH~RUNG".  A rung other than the channel's own is read by a channel of
 * its own ("CH~RUNG", chan.lad): one packetizer and one history per rung,
 * shared by every viewer on it, whose video only it carries (the audio of
 * every viewer stays with the base channel, never interrupted).
 *
 *   viewer on rung A ──switch to B──▶ pending (B's channel made, from its
 *   live edge; its want file touched) ──B's next keyframe──▶ the viewer's
 *   cursor moves into B's history: sequence numbers and RTP time go on
 *   from the last packet sent (one frame later), same SSRC and payload
 *   type; the browser's decoder takes the new size from B's SPS/PPS
 *
 * A switch that finds no keyframe in 5 s is abandoned.  In "auto" the
 * session starts on the tallest rung at most cfg->abr_start lines tall,
 * moves down when the viewer's RR loss stays above 10 % for 2 s or its
 * REMB stays under the rung's rate for 1.5 s, and up after a clean spell
 * (10 s, doubled after each try up that came back down within 10 s, at
 * most 2 minutes) when REMB, if it has one, does not say the link is full.
 * POST <session>/layer {"rung":"360p"|"auto"} pins or frees it; GET tells
 * the ladder, the rung served and the choice. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/ladder.h"
#include "rtc/rtc_int.h"

#define SWITCH_WAIT_MS 5000 /* a switch without a keyframe this long: abandoned */
#define HOLD_MS 3000        /* no automatic switch this soon after one */
#define LOSS_HI 26          /* RR fraction lost (of 256) that counts as loss: 10 % */
#define LOSS_LO 8           /* ... below which it is clean again: 3 % */
#define LOSS_MS 2000        /* loss this long: down one rung */
#define EST_MS 1500         /* REMB under the rung's rate this long: down */
#define UP_MIN_MS 10000     /* clean this long: try the rung above */
#define UP_MAX_MS 120000
#define REMB_FRESH_MS 3000  /* a REMB older than this is no estimate */

/* ------------------------------------------------------- the ladder */

const char *rtc_rung_name(const struct chan *v)
{
	const char *t;
	if (v->lad && (t = strchr(v->name, '~')))
		return t + 1;
	return v->rung[0] ? v->rung : "src";
}

/* Lines of a rung from its name ("360p", "640x360"): 0 when it says none. */
static int name_height(const char *n)
{
	const char *x = strchr(n, 'x');
	long h = strtol(x ? x + 1 : n, NULL, 10);
	return h > 0 && h < 10000 ? (int)h : 0;
}

static void rung_fill(struct rtc *r, struct chan *base, struct rung *g)
{
	char lname[sizeof ((struct chan *)0)->name + RUNG_NAME + 2];
	const struct chan *v = base;
	if (strcmp(g->name, rtc_rung_name(base)) != 0) {
		snprintf(lname, sizeof lname, "%.*s~%.*s", LSP_NAME_MAX, base->name, RUNG_NAME - 1, g->name);
		v = rtc_chan_find(r, lname);
	}
	g->height = v && v->height ? v->height : name_height(g->name);
	g->bps = v && v->rate_bps ? v->rate_bps : 0;
	if (!g->bps && g->height)
		g->bps = (uint32_t)lsp_ladder_kbps(0, g->height) * 1000u;
}

void rtc_ladder_update(struct rtc *r, struct chan *c)
{
	char dir[400], pfx[LSP_NAME_MAX + 16], path[512], err[160];
	struct rung l[LADDER_MAX];
	struct dirent *d;
	DIR *dh;
	int n = 0;
	size_t pl;
	if (c->lad || (c->ladder_at && r->now - c->ladder_at < 1000 && c->nladder))
		return;
	c->ladder_at = r->now;
	memset(l, 0, sizeof l);
	snprintf(l[n++].name, RUNG_NAME, "%s", rtc_rung_name(c));
	if (!c->relay && lsp_ring_dir(dir, sizeof dir) == 0 && (dh = opendir(dir))) {
		pl = (size_t)snprintf(pfx, sizeof pfx, "lsp-ring-%s~", c->name);
		while ((d = readdir(dh)) && n < LADDER_MAX) {
			const char *rung = d->d_name + pl;
			lsp_ring *rg;
			int live;
			if (strncmp(d->d_name, pfx, pl) != 0 || !lsp_rtc_rung_valid(rung) || !strcmp(rung, "src") ||
			    !strcmp(rung, l[0].name))
				continue;
			if (snprintf(path, sizeof path, "%s/%s", dir, d->d_name) >= (int)sizeof path ||
			    lsp_ring_open(&rg, path, err, sizeof err) < 0)
				continue;
			live = !lsp_ring_ended(rg);
			lsp_ring_close(rg);
			if (live)
				snprintf(l[n++].name, RUNG_NAME, "%s", rung);
		}
		closedir(dh);
	}
	for (int i = 0; i < n; i++)
		rung_fill(r, c, &l[i]);
	/* the channel's own video first (the source, or the tallest rung),
	 * then the rungs tallest first */
	for (int i = 2; i < n; i++)
		for (int j = i; j > 1 && l[j].height > l[j - 1].height; j--) {
			struct rung t = l[j];
			l[j] = l[j - 1];
			l[j - 1] = t;
		}
	memcpy(c->ladder, l, sizeof l);
	c->nladder = n;
}

static int ladder_find(const struct chan *c, const char *name)
{
	for (int i = 0; i < c->nladder; i++)
		if (!strcmp(c->ladder[i].name, name))
			return i;
	return -1;
}

struct chan *rtc_rung_chan(struct rtc *r, struct chan *c, const char *name, int fresh)
{
	char lname[sizeof ((struct chan *)0)->name + RUNG_NAME + 2];
	struct chan *v;
	if (!strcmp(name, rtc_rung_name(c)))
		return c;
	if (c->relay || c->lad || !lsp_rtc_rung_valid(name) || !strcmp(name, "src"))
		return NULL;
	snprintf(lname, sizeof lname, "%.*s~%.*s", LSP_NAME_MAX, c->name, RUNG_NAME - 1, name);
	if ((v = rtc_chan_find(r, lname)))
		return v->lad ? v : NULL;
	if (!(v = rtc_chan_get(r, lname, 1)))
		return NULL;
	v->lad = 1;
	if (fresh) /* a switch: its next keyframe is a live one, not the last one written */
		v->cur = lsp_ring_head(v->ring);
	return v;
}

/* ------------------------------------------------------- switching */

static void vch_drop(struct rtc *r, struct sess *s, struct chan *v)
{
	if (v && v != s->ch) {
		v->nvid--;
		rtc_chan_unuse(r, v);
	}
}

static void pend_drop(struct rtc *r, struct sess *s)
{
	vch_drop(r, s, s->pend);
	s->pend = NULL;
}

void rtc_abr_release(struct rtc *r, struct sess *s)
{
	pend_drop(r, s);
	vch_drop(r, s, s->vch);
	s->vch = NULL;
}

/* The rung an automatic start picks: the tallest at most abr_start lines
 * (the channel's own when its height is not known and no rung is taller
 * than the limit... it is the tallest), else the shortest. */
static const char *start_rung(struct rtc *r, struct chan *c)
{
	int lim = r->cfg->abr_start;
	rtc_ladder_update(r, c);
	if (lim <= 0 || c->nladder < 2)
		return rtc_rung_name(c);
	for (int i = 0; i < c->nladder; i++)
		if (c->ladder[i].height && c->ladder[i].height <= lim)
			return c->ladder[i].name;
	return c->ladder[c->nladder - 1].name;
}

int rtc_sess_rung(struct rtc *r, struct sess *s, const char *name, int pin, const char *why)
{
	struct chan *c = s->ch, *t;
	if (!c || s->whip)
		return -ENOENT;
	if (!name[0] || !strcmp(name, "auto")) {
		s->pin[0] = 0;
		if (s->state == S_LIVE) { /* the automatic choice takes over at its next look */
			s->last_switch = 0;
			return 0;
		}
		name = start_rung(r, c);
		pin = 0;
	}
	if (!(t = rtc_rung_chan(r, c, name, s->state == S_LIVE)))
		return -ENOENT;
	if (pin)
		snprintf(s->pin, sizeof s->pin, "%s", rtc_rung_name(t));
	if (s->state != S_LIVE || !s->vch) { /* not playing yet: from this rung's last keyframe */
		if (t != c)
			t->nvid++;
		vch_drop(r, s, s->vch);
		s->vch = t;
		return 0;
	}
	if (t == s->pend)
		return 0;
	pend_drop(r, s);
	if (t == s->vch)
		return 0;
	if (t != c)
		t->nvid++;
	s->pend = t;
	s->pend_at = r->now;
	s->pend_why = why;
	if (t == c)
		rtc_want_key(r, c->name); /* a WHIP publisher here is asked for one */
	else {
		lsp_ring_want(t->name); /* lsp-transcode --on-demand: encode it again */
		t->rung_wanted = r->now;
	}
	return 0;
}

void rtc_abr_rebase(struct sess *s, uint64_t key, uint32_t ts, uint32_t fdur)
{
	if (s->vpkts) { /* packet key is sent as the one after the last sent, one frame later */
		s->vseq_off = (uint16_t)(s->next + s->vseq_off - key);
		s->vts_off = s->vout_ts + fdur - ts;
	}
	s->next = s->nack_floor = key; /* NACKs map into the new history, never before key */
	s->burst_end = 0;
	s->waiting_key = 0;
}

/* s's video comes from v from its keyframe just packetized on: the
 * sequence numbers and RTP time go on from what s was sent. */
static void take(struct rtc *r, struct sess *s, struct chan *v)
{
	struct chan *old = s->vch;
	uint32_t d = v->fdur ? v->fdur : 3000;
	char from[RUNG_NAME];
	snprintf(from, sizeof from, "%s", old ? rtc_rung_name(old) : "");
	rtc_abr_rebase(s, v->key_cseq, v->pk_ts, d);
	s->pend = NULL;
	s->vch = v;
	vch_drop(r, s, old);
	s->switches++;
	s->last_switch = r->now;
	RTC_EMIT(r, LSP_INFO, "rung switched", "channel", LSV_S(s->chname), "id", LSV_S(s->id), "from", LSV_S(from),
		 "to", LSV_S(rtc_rung_name(v)), "reason", LSV_S(s->pend_why ? s->pend_why : "pin"));
}

void rtc_abr_key(struct rtc *r, struct chan *v)
{
	for (int i = 0; i < r->nsess_max; i++) {
		struct sess *s = &r->sess[i];
		if (s->state == S_LIVE && s->pend == v)
			take(r, s, v);
	}
}

/* ------------------------------------------------------- the automatic choice */

void rtc_abr_rtcp(struct rtc *r, struct sess *s, const lsp_rtcp_info *in)
{
	if (in->remb) {
		s->remb = in->remb;
		s->remb_at = r->now;
	}
	for (int i = 0; i < in->nrb; i++) {
		if (in->rb_ssrc[i] != s->vssrc)
			continue;
		s->loss = in->rb_frac[i];
		if (s->loss >= LOSS_HI && !s->loss_since)
			s->loss_since = r->now;
		else if (s->loss < LOSS_LO)
			s->loss_since = 0;
	}
}

/* The rung wait before trying up: doubled when the last try came back
 * down within UP_MIN_MS, back to UP_MIN_MS after it held. */
static long long up_wait(const struct sess *s)
{
	long long w = UP_MIN_MS;
	for (int i = 0; i < s->up_fails && w < UP_MAX_MS; i++)
		w *= 2;
	return w < UP_MAX_MS ? w : UP_MAX_MS;
}

static void go(struct rtc *r, struct sess *s, struct chan *c, int to, const char *why, int up)
{
	if (up)
		s->up_at = r->now;
	else if (s->up_at && r->now - s->up_at < UP_MIN_MS)
		s->up_fails++;
	else if (s->up_at)
		s->up_fails = 0;
	if (!up)
		s->up_at = 0;
	rtc_sess_rung(r, s, c->ladder[to].name, 0, why);
	s->loss_since = s->est_low_since = 0;
	s->last_switch = r->now; /* held while pending, and after */
}

void rtc_abr_tick(struct rtc *r, struct sess *s)
{
	struct chan *c = s->ch;
	uint64_t est;
	int i;
	if (s->state != S_LIVE || s->whip || !c || !s->vch)
		return;
	if (s->pend && r->now - s->pend_at > SWITCH_WAIT_MS) {
		RTC_EMIT(r, LSP_DEBUG, "rung switch abandoned", "channel", LSV_S(s->chname), "id", LSV_S(s->id), "to",
			 LSV_S(rtc_rung_name(s->pend)));
		pend_drop(r, s);
	}
	rtc_ladder_update(r, c);
	if (s->pin[0] || s->pend || c->nladder < 2 || (s->last_switch && r->now - s->last_switch < HOLD_MS))
		return;
	if ((i = ladder_find(c, rtc_rung_name(s->vch))) < 0)
		return;
	est = s->remb_at && r->now - s->remb_at < REMB_FRESH_MS ? s->remb : 0;
	if (est && c->ladder[i].bps && est < c->ladder[i].bps) {
		if (!s->est_low_since)
			s->est_low_since = r->now;
	} else
		s->est_low_since = 0;
	if (i + 1 < c->nladder && s->loss_since && r->now - s->loss_since >= LOSS_MS) {
		go(r, s, c, i + 1, "loss", 0);
		return;
	}
	if (i + 1 < c->nladder && s->est_low_since && r->now - s->est_low_since >= EST_MS) {
		int j = i + 1; /* down to the tallest rung the estimate carries, or the last */
		while (j + 1 < c->nladder && c->ladder[j].bps && est < c->ladder[j].bps)
			j++;
		go(r, s, c, j, "estimate", 0);
		return;
	}
	/* up: clean for the wait, and no estimate saying the link is full */
	if (i > 0 && !s->loss_since && !s->est_low_since && r->now - (s->last_switch ? s->last_switch : s->created) >= up_wait(s) &&
	    (!est || !c->ladder[i - 1].bps || est >= c->ladder[i - 1].bps || est * 10 >= (uint64_t)c->ladder[i].bps * 12))
		go(r, s, c, i - 1, "probe", 1);
}

/* ------------------------------------------------------- POST/GET layer */

void rtc_layer_http(struct rtc *r, struct sess *s, int post, const char *body, size_t blen, struct resp *rs,
		    char *out, size_t cap)
{
	struct chan *c = s->ch;
	size_t o;
	int n;
	rs->ctype = "application/json";
	if (post) {
		char want[RUNG_NAME];
		int rc;
		if (lsp_rtc_layer_parse(body, blen, want, sizeof want) < 0) {
			rs->status = 400;
			rs->body = "{\"error\":\"bad layer request: want {\\\"rung\\\":\\\"NAME\\\"|\\\"auto\\\"}\"}\n";
			return;
		}
		rtc_ladder_update(r, c);
		rc = rtc_sess_rung(r, s, want, 1, "pin");
		if (rc < 0) {
			rs->status = 404;
			rs->body = "{\"error\":\"no such rung\"}\n";
			return;
		}
		RTC_EMIT(r, LSP_INFO, "rung chosen", "channel", LSV_S(s->chname), "id", LSV_S(s->id), "rung",
			 LSV_S(s->pin[0] ? s->pin : "auto"));
	}
	rtc_ladder_update(r, c);
	n = snprintf(out, cap, "{\"rung\":\"%s\",\"current\":\"%s\",\"pending\":%s%s%s,\"switches\":%lld,\"rungs\":[",
		     s->pin[0] ? s->pin : "auto", s->vch ? rtc_rung_name(s->vch) : "", s->pend ? "\"" : "",
		     s->pend ? rtc_rung_name(s->pend) : "null", s->pend ? "\"" : "", s->switches);
	o = n > 0 && (size_t)n < cap ? (size_t)n : cap;
	for (int i = 0; i < c->nladder && o < cap; i++) {
		n = snprintf(out + o, cap - o, "%s{\"name\":\"%s\",\"height\":%d,\"kbps\":%u}", i ? "," : "",
			     c->ladder[i].name, c->ladder[i].height, (unsigned)(c->ladder[i].bps / 1000));
		o += n > 0 ? (size_t)n : 0;
	}
	if (o < cap)
		o += (size_t)snprintf(out + o, cap - o, "]}\n");
	if (o >= cap) {
		rs->status = 500;
		rs->body = "{\"error\":\"too long\"}\n";
		return;
	}
	rs->status = 200;
	rs->body = out;
	rs->blen = o;
}
