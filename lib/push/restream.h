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

enum { LSP_RESTREAM_MAX = 16 };

/* level is an lsp_level (lib/core/log.h); dest is -1 for the input. */
typedef void (*lsp_restream_event_fn)(void *ctx, int level, const char *msg, int dest, const char *where,
				      long long n, const char *detail);

typedef struct {
	const char *input;          /* "pipe:0" for stdin, or any libavformat URL */
	const char *const *urls;    /* rtmp://host[:port]/app/key ... */
	int nurls;                  /* 1..LSP_RESTREAM_MAX */
	int queue;                  /* packets per destination; 0: 600 */
	long stall_ms;              /* 0: 5000 */
	long backoff_base_ms;       /* 0: 500 */
	long backoff_max_ms;        /* 0: 10000 */
	long drain_ms;              /* at end of input; 0: 3000 */
	const volatile sig_atomic_t *stop;
	lsp_restream_event_fn event;
	void *ctx;
} lsp_restream_conf;

typedef struct {
	long long in_packets;
	struct {
		long long sent, dropped, connects, failures;
	} d[LSP_RESTREAM_MAX];
} lsp_restream_stats;

/* Returns 0 at the end of the input or on stop, a negative AVERROR /
 * errno when the input cannot be opened or read (err filled). */
int lsp_restream_run(const lsp_restream_conf *c, lsp_restream_stats *st, char *err, size_t errcap);

/* url with credentials and the last path segment masked, for logs. */
void lsp_restream_redact(const char *url, char *out, size_t cap);

#endif
