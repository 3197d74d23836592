/* bus.h — a thin NATS publisher over nats.c: connect with a timeout,
 * publish a subject with a JSON body, flush, close.  One lsp_bus per
 * process (or per forked child: connect after fork, never before).
 * Functions return 0 or a negative code (-EIO) with a reason in err. */
#ifndef LSP_BUS_H
#define LSP_BUS_H
#include <stddef.h>

#include "core/event.h"

typedef struct lsp_bus lsp_bus;

/* url like nats://127.0.0.1:4222; name shows in the server's client list. */
int lsp_bus_open(lsp_bus **out, const char *url, int timeout_ms, const char *name, char *err,
		 size_t errcap);
/* The same, reporting the connection's state changes through ev (called
 * on nats.c's threads; lsp_event_log is safe there), one event per change:
 *   warn  "nats disconnected": url reason   the server went away
 *   info  "nats reconnected": url           it answers again
 *   error "nats connection closed": url     closed for good (not by
 *                                           lsp_bus_close, which waits
 *                                           up to 2 s for that callback)
 * Either way the connection retries forever, every 2 s. */
int lsp_bus_open_ev(lsp_bus **out, const char *url, int timeout_ms, const char *name, lsp_event_fn ev,
		    void *ev_ctx, char *err, size_t errcap);
int lsp_bus_publish(lsp_bus *b, const char *subject, const char *json, char *err, size_t errcap);
/* Wait until the server has seen everything published (bounded). */
int lsp_bus_flush(lsp_bus *b, int timeout_ms, char *err, size_t errcap);
void lsp_bus_close(lsp_bus *b);


/* --- Subscriptions and JetStream history (added for lsp-chat). ---------
 * A message callback runs on a nats.c thread, never the caller's: it must
 * only copy what it needs (data is valid during the call) and hand it on
 * (a locked queue and an eventfd, say).  Subscriptions are owned by the
 * caller and ended with lsp_bus_unsubscribe before lsp_bus_close. */
typedef struct lsp_bus_sub lsp_bus_sub;
typedef void (*lsp_bus_msg_fn)(void *ctx, const char *subject, const char *data, size_t len);

int lsp_bus_subscribe(lsp_bus *b, const char *subject, lsp_bus_msg_fn fn, void *ctx, lsp_bus_sub **out,
		      char *err, size_t errcap);
/* The same in a queue group: each message goes to one member of the group
 * (queue NULL or "": a plain subscription). */
int lsp_bus_subscribe_queue(lsp_bus *b, const char *subject, const char *queue, lsp_bus_msg_fn fn, void *ctx,
			    lsp_bus_sub **out, char *err, size_t errcap);
void lsp_bus_unsubscribe(lsp_bus_sub *s);
/* Publish len bytes (not necessarily NUL-terminated). */
int lsp_bus_publish_bytes(lsp_bus *b, const char *subject, const void *data, size_t len, char *err,
			  size_t errcap);
/* Create (or update) a file-backed JetStream stream capturing subjects,
 * keeping at most per_subject messages per subject. */
int lsp_bus_stream_ensure(lsp_bus *b, const char *stream, const char *subjects, long per_subject, char *err,
			  size_t errcap);
/* Call fn for each of the (at most max) messages the stream holds on
 * subject, oldest first, on the caller's thread.  Returns the count. */
int lsp_bus_history(lsp_bus *b, const char *stream, const char *subject, int max, lsp_bus_msg_fn fn, void *ctx,
		    char *err, size_t errcap);

#endif
