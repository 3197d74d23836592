/* bus.c — NATS publishing via nats.c; see bus.h.  The connection and its
 * options are owned by the lsp_bus. */
#include "bus/bus.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "core/event.h"

struct lsp_bus {
	natsConnection *nc;
	lsp_event_fn ev; /* connection state changes, from nats.c's threads */
	void *ev_ctx;
	char url[256];   /* for the events; the URL carries no credentials here */
	atomic_int closing, closed; /* lsp_bus_close waits for the last callback */
};

/* One line per state change, so an outage is one "nats disconnected" and
 * one "nats reconnected", never one line per message. */
static void on_disconnected(natsConnection *nc, void *closure)
{
	lsp_bus *b = closure;
	(void)nc;
	if (!atomic_load(&b->closing))
		lsp_event_emit(b->ev, b->ev_ctx, LSP_WARN, "nats disconnected", "url", LSV_S(b->url), "reason",
		       LSV_S("connection lost; reconnecting every 2 s, publishes buffered meanwhile"), NULL);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	lsp_bus *b = closure;
	(void)nc;
	if (!atomic_load(&b->closing))
		lsp_event_emit(b->ev, b->ev_ctx, LSP_INFO, "nats reconnected", "url", LSV_S(b->url), NULL);
}

static void on_closed(natsConnection *nc, void *closure)
{
	lsp_bus *b = closure;
	(void)nc;
	if (!atomic_load(&b->closing))
		lsp_event_emit(b->ev, b->ev_ctx, LSP_ERROR, "nats connection closed", "url", LSV_S(b->url), NULL);
	atomic_store(&b->closed, 1); /* the last callback nats.c makes with b */
}

static int nerr(char *err, size_t errcap, natsStatus s, const char *what)
{
	snprintf(err, errcap, "%s: %s", what, natsStatus_GetText(s));
	return -EIO;
}

int lsp_bus_open(lsp_bus **out, const char *url, int timeout_ms, const char *name, char *err,
		 size_t errcap)
{
	return lsp_bus_open_ev(out, url, timeout_ms, name, NULL, NULL, err, errcap);
}

int lsp_bus_open_ev(lsp_bus **out, const char *url, int timeout_ms, const char *name, lsp_event_fn ev,
		    void *ev_ctx, char *err, size_t errcap)
{
	natsOptions *o = NULL;
	natsStatus s;
	lsp_bus *b = calloc(1, sizeof *b);
	int rc = 0;
	if (!b) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	b->ev = ev;
	b->ev_ctx = ev_ctx;
	snprintf(b->url, sizeof b->url, "%s", strchr(url, '@') ? "(with credentials)" : url);
	if ((s = natsOptions_Create(&o)) != NATS_OK ||
	    (s = natsOptions_SetURL(o, url)) != NATS_OK ||
	    (s = natsOptions_SetTimeout(o, timeout_ms)) != NATS_OK ||
	    (s = natsOptions_SetName(o, name)) != NATS_OK ||
	    /* never give up: a NATS restart must not leave a server without its bus */
	    (s = natsOptions_SetMaxReconnect(o, -1)) != NATS_OK ||
	    (s = natsOptions_SetReconnectWait(o, 2000)) != NATS_OK ||
	    (ev && (s = natsOptions_SetDisconnectedCB(o, on_disconnected, b)) != NATS_OK) ||
	    (ev && (s = natsOptions_SetReconnectedCB(o, on_reconnected, b)) != NATS_OK) ||
	    (ev && (s = natsOptions_SetClosedCB(o, on_closed, b)) != NATS_OK)) {
		rc = nerr(err, errcap, s, "nats options");
		goto fail;
	}
	if ((s = natsConnection_Connect(&b->nc, o)) != NATS_OK) {
		rc = nerr(err, errcap, s, "nats connect");
		goto fail;
	}
	natsOptions_Destroy(o);
	*out = b;
	return 0;
fail:
	natsOptions_Destroy(o);
	free(b);
	return rc;
}

int lsp_bus_publish(lsp_bus *b, const char *subject, const char *json, char *err, size_t errcap)
{
	natsStatus s = natsConnection_PublishString(b->nc, subject, json);
	return s == NATS_OK ? 0 : nerr(err, errcap, s, "nats publish");
}

int lsp_bus_flush(lsp_bus *b, int timeout_ms, char *err, size_t errcap)
{
	natsStatus s = natsConnection_FlushTimeout(b->nc, timeout_ms);
	return s == NATS_OK ? 0 : nerr(err, errcap, s, "nats flush");
}

void lsp_bus_close(lsp_bus *b)
{
	if (!b)
		return;
	if (b->ev) { /* the callbacks hold b: wait (bounded) for the closed one */
		struct timespec ms = { 0, 1000000 };
		atomic_store(&b->closing, 1);
		natsConnection_Close(b->nc);
		for (int i = 0; i < 2000 && !atomic_load(&b->closed); i++)
			nanosleep(&ms, NULL);
	}
	natsConnection_Destroy(b->nc);
	free(b);
}

/* --- Subscriptions and JetStream history (added for lsp-chat). --------- */

struct lsp_bus_sub {
	natsSubscription *sub;
	lsp_bus_msg_fn fn;
	void *ctx;
};

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
	struct lsp_bus_sub *s = closure;
	(void)nc;
	(void)sub;
	s->fn(s->ctx, natsMsg_GetSubject(m), natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
}

int lsp_bus_subscribe(lsp_bus *b, const char *subject, lsp_bus_msg_fn fn, void *ctx, lsp_bus_sub **out,
		      char *err, size_t errcap)
{
	return lsp_bus_subscribe_queue(b, subject, NULL, fn, ctx, out, err, errcap);
}

int lsp_bus_subscribe_queue(lsp_bus *b, const char *subject, const char *queue, lsp_bus_msg_fn fn, void *ctx,
			    lsp_bus_sub **out, char *err, size_t errcap)
{
	natsStatus st;
	struct lsp_bus_sub *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	s->fn = fn;
	s->ctx = ctx;
	st = queue && *queue ? natsConnection_QueueSubscribe(&s->sub, b->nc, subject, queue, on_msg, s)
			     : natsConnection_Subscribe(&s->sub, b->nc, subject, on_msg, s);
	if (st != NATS_OK) {
		free(s);
		return nerr(err, errcap, st, "nats subscribe");
	}
	/* a slow consumer drops (and nats.c counts) rather than grows without bound */
	natsSubscription_SetPendingLimits(s->sub, 65536, 64 * 1024 * 1024);
	*out = s;
	return 0;
}

void lsp_bus_unsubscribe(lsp_bus_sub *s)
{
	if (!s)
		return;
	natsSubscription_Unsubscribe(s->sub);
	natsSubscription_Destroy(s->sub); /* waits for a running callback */
	free(s);
}

int lsp_bus_publish_bytes(lsp_bus *b, const char *subject, const void *data, size_t len, char *err,
			  size_t errcap)
{
	natsStatus s = natsConnection_Publish(b->nc, subject, data, (int)len);
	return s == NATS_OK ? 0 : nerr(err, errcap, s, "nats publish");
}

int lsp_bus_stream_ensure(lsp_bus *b, const char *stream, const char *subjects, long per_subject, char *err,
			  size_t errcap)
{
	jsCtx *js = NULL;
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode je = 0;
	const char *subj[1] = { subjects };
	natsStatus s;
	int rc = 0;

	if ((s = natsConnection_JetStream(&js, b->nc, NULL)) != NATS_OK)
		return nerr(err, errcap, s, "jetstream");
	jsStreamConfig_Init(&sc);
	sc.Name = stream;
	sc.Subjects = subj;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.MaxMsgsPerSubject = per_subject;
	s = js_AddStream(&si, js, &sc, NULL, &je);
	if (s != NATS_OK && je == JSStreamNameExistErr)
		s = js_UpdateStream(&si, js, &sc, NULL, &je);
	if (s != NATS_OK) {
		snprintf(err, errcap, "jetstream stream %s: %s (%d)", stream, natsStatus_GetText(s), (int)je);
		rc = -EIO;
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	return rc;
}

int lsp_bus_history(lsp_bus *b, const char *stream, const char *subject, int max, lsp_bus_msg_fn fn, void *ctx,
		    char *err, size_t errcap)
{
	jsCtx *js = NULL;
	jsSubOptions so;
	jsFetchRequest fr;
	natsSubscription *sub = NULL;
	natsMsgList list = { 0 };
	jsErrCode je = 0;
	natsStatus s;
	int n = 0;

	if ((s = natsConnection_JetStream(&js, b->nc, NULL)) != NATS_OK)
		return nerr(err, errcap, s, "jetstream");
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Config.AckPolicy = js_AckNone;
	so.Config.DeliverPolicy = js_DeliverAll;
	if ((s = js_PullSubscribe(&sub, js, subject, NULL, NULL, &so, &je)) != NATS_OK) {
		n = nerr(err, errcap, s, "jetstream history");
		goto done;
	}
	jsFetchRequest_Init(&fr);
	fr.Batch = max;
	fr.NoWait = true;
	fr.Expires = 500LL * 1000 * 1000;
	s = natsSubscription_FetchRequest(&list, sub, &fr);
	if (s == NATS_OK) {
		for (int i = 0; i < list.Count; i++)
			fn(ctx, natsMsg_GetSubject(list.Msgs[i]), natsMsg_GetData(list.Msgs[i]),
			   (size_t)natsMsg_GetDataLength(list.Msgs[i]));
		n = list.Count;
		natsMsgList_Destroy(&list);
	} else if (s != NATS_TIMEOUT && s != NATS_NOT_FOUND) {
		n = nerr(err, errcap, s, "jetstream fetch");
	}
	natsSubscription_Unsubscribe(sub);
done:
	natsSubscription_Destroy(sub);
	jsCtx_Destroy(js);
	return n;
}
