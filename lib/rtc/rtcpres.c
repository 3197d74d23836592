/* rtcpres.c — how many WebRTC viewers each channel has, reported once a
 * second as a "viewers" event (debug): channel, viewers (WHEP sessions
 * past DTLS, on this process).  The tool turns it into presence
 * (bus/presence.h: lsp-chat's viewer counts and the directory) and a
 * gauge.  Every channel in the table is reported, so a channel whose last
 * viewer left says 0 until it is dropped (10 s idle).  Reads the session
 * and channel tables only. */
#include "rtc/rtc_int.h"

void rtc_viewers_report(struct rtc *r)
{
	int n[MAX_CHAN] = { 0 };
	for (int i = 0; i < r->nsess_max; i++) {
		const struct sess *s = &r->sess[i];
		if (s->state == S_LIVE && !s->whip && s->ch)
			n[s->ch - r->chans]++;
	}
	for (int i = 0; i < MAX_CHAN; i++)
		if (r->chans[i].used && !r->chans[i].lad) /* a rung's own channel: its viewers are the channel's */
			RTC_EMIT(r, LSP_DEBUG, "viewers", "channel", LSV_S(r->chans[i].name), "viewers", LSV_I(n[i]));
}
