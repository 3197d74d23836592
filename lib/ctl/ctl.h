/* ctl.h — the control-plane commands behind lsp-ctl: channels and stream
 * keys, chat users, tokens, the ledger, the moderation audit, recordings
 * and their retention, and privacy requests (DSAR), all against the store
 * that LSP_DB_URL / LSP_DATA_DIR name.
 *
 * Commands are one registry, lsp_ctl_cmds: a const table of
 * { name, usage, run }, in the order the usage text lists them.  A command
 * is named by one or two words ("gc", "channel add"); the words after the
 * name are its arguments.  lsp_ctl_run picks the entry and runs it.
 *
 * Nothing here prints or exits.  Data (stream keys, listings, tokens, the
 * DSAR archive) goes to io->out, a stream the tool passes (its stdout).
 * Diagnostics go to the tool through two hooks: io->usage for a usage
 * complaint (a one-line text, or NULL for the whole usage text) and
 * io->event for what happened (lib/core/event.h): "done" (command, and
 * channel or name where there is one), "gc done" (removed), "command
 * failed" (command, reason; error) and "unable to open store" (reason;
 * fatal).  "channel rm" and "dsar erase" also publish the revocation
 * event (bus/revoke.h) when LSP_NATS_URL is set: "revocation sent"
 * (cause, user, channel) or "revocation not sent" (cause, reason; warn —
 * the command still succeeds).  Stream keys and tokens are written to io->out only, never to a
 * hook.
 *
 * Every command returns its outcome as an exit status of lib/core/exit.h:
 * LSP_EXIT_OK, LSP_EXIT_NO (no such channel/user, already exists, a ledger
 * mismatch, a recording being written), LSP_EXIT_USAGE (bad words or
 * values), LSP_EXIT_SYS (the store or the file system failed). */
#ifndef LSP_CTL_H
#define LSP_CTL_H
#include <stdio.h>

#include "core/event.h"

typedef struct {
	FILE *out; /* data output */
	/* a usage complaint: line is a sentence ("unknown command: key x"), or
	 * NULL when the whole usage text is the answer */
	void (*usage)(void *ctx, const char *line);
	void *ctx;            /* for usage */
	lsp_event_fn event;   /* may be NULL */
	void *event_ctx;
} lsp_ctl_io;

/* A command: w[0..n-1] are all the words, the name's included. */
typedef int (*lsp_ctl_fn)(const lsp_ctl_io *io, int n, char **w);

typedef struct {
	const char *name;  /* "gc", "channel add" */
	const char *usage; /* its lines of the usage text, each ending in \n */
	lsp_ctl_fn run;
} lsp_ctl_cmd;

extern const lsp_ctl_cmd lsp_ctl_cmds[]; /* ends with { NULL, NULL, NULL } */

/* The entry the words name: a two-word name before a one-word one; NULL
 * when none does.  n may be 0. */
const lsp_ctl_cmd *lsp_ctl_find(int n, char *const *w);

/* Run the command the words name; words that name none get the usage
 * complaint lsp-ctl has always given for them.  Returns an exit status. */
int lsp_ctl_run(const lsp_ctl_io *io, int n, char **w);

/* Write every command's usage lines to f, in table order.  0, or -EIO. */
int lsp_ctl_usage(FILE *f);

#endif
