/* metrics.h — a small Prometheus registry and its /metrics responder.
 *
 * A tool's main creates one registry, declares its metric families
 * (name, type, help), updates series from any thread, and optionally
 * serves the text exposition format (version 0.0.4) on --metrics ADDR:
 *
 *   lsp_metrics_new(&m, "lsp-chat");
 *   lsp_metrics_def(m, "lsp_chat_messages_total", LSP_METRIC_COUNTER, "chat messages accepted");
 *   lsp_metrics_add(m, "lsp_chat_messages_total", 1, "channel", ch, NULL);
 *   lsp_metrics_serve(m, "127.0.0.1", 9101, err, sizeof err);   (a thread)
 *
 * Series are identified by family name and label pairs (NULL-terminated
 * key/value strings, values escaped on output).  Bounded: at most
 * LSP_METRICS_FAMILIES families and LSP_METRICS_SERIES series; an update
 * beyond that is counted in lsp_metrics_dropped_total and otherwise
 * ignored.  Updates on an undeclared family are ignored.  Every registry
 * also exposes lsp_build_info{tool,version}, process_start_time_seconds
 * and lsp_uptime_seconds.  All functions are thread-safe (one mutex) and
 * never print; a NULL registry makes every update a no-op, so library
 * code can take an optional one. */
#ifndef LSP_METRICS_H
#define LSP_METRICS_H
#include <stddef.h>

#define LSP_METRICS_FAMILIES 64
#define LSP_METRICS_SERIES 2048
#define LSP_METRICS_LABELS_MAX 256   /* rendered label string per series */

enum { LSP_METRIC_COUNTER = 1, LSP_METRIC_GAUGE };

typedef struct lsp_metrics lsp_metrics;

/* tool names the process (lsp_build_info{tool=…}). 0 or -ENOMEM. */
int lsp_metrics_new(lsp_metrics **out, const char *tool);

/* The same in one shared mapping of a memfd with a robust process-shared
 * lock: create it before fork() and children's updates are seen by the
 * parent's responder (lsp-ingest forks a child per connection).  Only the
 * creating process may call lsp_metrics_serve; lsp_metrics_free in a forked
 * child only unmaps the child's view and leaves the parent's responder up. */
int lsp_metrics_new_shared(lsp_metrics **out, const char *tool);

/* The memfd behind a shared registry (close-on-exec; the creating process
 * only, else -1): a child that execs keeps it open across the exec and
 * maps it with lsp_metrics_attach. */
int lsp_metrics_shared_fd(const lsp_metrics *m);

/* Map the shared registry behind fd (from lsp_metrics_shared_fd, in an
 * exec'd child): updates count into the creator's registry; families are
 * the creator's.  Never serve or free it: lsp_metrics_detach.  0,
 * -EINVAL (not a registry) or negative errno. */
int lsp_metrics_attach(lsp_metrics **out, int fd);

/* Unmap an attached registry (NULL is a no-op); fd stays open. */
void lsp_metrics_detach(lsp_metrics *m);

/* Declare a family; name must match [a-zA-Z_:][a-zA-Z0-9_:]*.
 * 0, -EINVAL (bad name or type), -EEXIST, -ENOSPC. */
int lsp_metrics_def(lsp_metrics *m, const char *name, int type, const char *help);

/* Add v (counter: v >= 0) to a series, or set a gauge; label pairs follow
 * and end with NULL.  Label keys must be valid names (a bad one drops the
 * update).  The series is created at 0 on first use. */
void lsp_metrics_add(lsp_metrics *m, const char *name, double v, ...);
void lsp_metrics_set(lsp_metrics *m, const char *name, double v, ...);

/* Remove every series of a family whose labels contain key="value"
 * (e.g. a channel that went offline). */
void lsp_metrics_drop(lsp_metrics *m, const char *name, const char *key, const char *value);

/* Render the exposition into a malloc'd, NUL-terminated buffer (*out,
 * *len).  0 or -ENOMEM. */
int lsp_metrics_render(lsp_metrics *m, char **out, size_t *len);

/* Listen on host:port (host "" = all) and answer GET /metrics from a
 * background thread (HEAD too; other paths 404, other methods 405), one
 * connection at a time with a 2 s read timeout.  0 or negative errno. */
int lsp_metrics_serve(lsp_metrics *m, const char *host, int port, char *err, size_t errcap);

/* The same from an option value "[HOST]:PORT" (host 127.0.0.1 when only
 * a port is given; "0.0.0.0:PORT" for every interface).  -EINVAL on a bad
 * value. */
int lsp_metrics_serve_addr(lsp_metrics *m, const char *addr, char *err, size_t errcap);

/* Port actually bound by lsp_metrics_serve (useful with port 0), or -1. */
int lsp_metrics_port(const lsp_metrics *m);

/* Stop the responder (if any) and free everything. */
void lsp_metrics_free(lsp_metrics *m);

#endif
