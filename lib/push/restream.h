/* restream.h — copy one MPEG-TS input (stdin) to several RTMP destinations
 * (multistream) without re-encoding: the first video and the first audio
 * stream are remuxed to FLV over rtmp:// (or rtmps://) by libavformat.
 *
 *   reader (caller's thread) ──clone──▶ queue[0] ──▶ thread 0 ──▶ rtmp://a
 *                              └──────▶ queue[1] ──▶ thread 1 ──▶ rtmp://b
 *
 * Each destination has its own thread and its own bounded packet queue.
 * The reader never waits for a destination: when a queue is full it is
 * emptied and that destination skips to the next video key frame (counted
 * and reported as "dropped").  A destination whose connect or write is
 * blocked for stall_ms is disconnected; every lost connection is retried
 * with exponential backoff and jitter, and a new connection starts at a
 * key frame with time stamps starting near zero.
 *
 * Destination URLs carry stream keys: events name a destination by its
 * index and its URL with the last path segment and any user:password
 * replaced by "***" (lsp_restream_redact).
 *
 * The run ends at the end of the input (queues get drain_ms to empty) or
 * when *stop becomes non-zero.  lib code: events go to a callback, which
 * is called from several threads but never concurrently. */
#ifndef LSP_RESTREAM_H
#define LSP_RESTREAM_H
#include <signal.h>
#include <stddef.h>

#include "core/event.h"

enum { LSP_RESTREAM_MAX = 16 };

/* Events (lib/core/event.h), by name; fields in brackets.  dest is the
 * destination's index, url its redacted URL:
 *   info  "input opened"        [input destinations]
 *   warn  "input error, ending" [input packets error]
 *   warn  "connect failed"      [dest url attempt error]   (retried after a backoff)
 *   info  "connected"           [dest url connects]
 *   warn  "connection lost"     [dest url sent error]      (retried after a backoff)
 *   warn  "destination too slow: queue full, dropping to the next key frame"
 *                               [dest url queue]
 *   info  "destination done"    [dest url sent dropped connects failures bytes]
 *         once per destination at the end of the run, in index order, with
 *         the counts of lsp_restream_stats. */

typedef struct {
	const char *input;          /* "pipe:0" for stdin, or any libavformat URL */
	const char *const *urls;    /* rtmp://host[:port]/app/key ... */
	int nurls;                  /* 1..LSP_RESTREAM_MAX */
	int queue;                  /* packets per destination; 0: 600 */
	long stall_ms;              /* 0: 5000 */
	long backoff_base_ms;       /* 0: 500 */
	long backoff_max_ms;        /* 0: 10000 */
	long drain_ms;              /* at end of input; 0: 3000 */
	/* rtmps:// destinations: the server's certificate is verified against
	 * the system's trusted CAs (or ca_file when set) and the URL's host
	 * name; tls_insecure = 1 turns that off (the tool logs it) */
	const char *ca_file;
	int tls_insecure;
	const volatile sig_atomic_t *stop;
	lsp_event_fn event;         /* may be NULL */
	void *event_ctx;
} lsp_restream_conf;

typedef struct {
	long long in_packets;
	struct {
		long long sent, dropped, connects, failures;
		long long bytes; /* payload bytes of the packets sent */
	} d[LSP_RESTREAM_MAX];
} lsp_restream_stats;

/* Returns 0 at the end of the input or on stop, a negative AVERROR /
 * errno when the input cannot be opened or read (err filled). */
int lsp_restream_run(const lsp_restream_conf *c, lsp_restream_stats *st, char *err, size_t errcap);

/* url with credentials and the last path segment masked, for logs. */
void lsp_restream_redact(const char *url, char *out, size_t cap);

#endif
