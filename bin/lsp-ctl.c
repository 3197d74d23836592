/* lsp-ctl — the control-plane CLI: channels and stream keys in the store.
 * The commands are lib/ctl's registry; this file parses the options, runs
 * the command with stdout as its data output, and writes its complaints
 * and its events (as JSON log lines) on stderr.
 * Exit codes (man/lsp.7): 0 ok, 1 no such channel / already exists,
 * 100 usage or bad name, 111 store failure. */
#include <getopt.h>
#include <stdio.h>

#include "ctl/ctl.h"
#include "core/event.h"
#include "core/exit.h"
#include "core/log.h"

static const char usage_head[] = "usage: lsp-ctl [-h] [-V] COMMAND [ARGS]\n";
static const char usage_tail[] =
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL=postgres://… for Postgres,\n"
	"  LSP_SECRET (token key; else LSP_DATA_DIR/chat.secret), LSP_NATS_URL (channel rm and\n"
	"  dsar erase tell lsp-chat on lsp.auth.revoke)\n"
	"exit: 0 ok, 1 not found or exists, 100 usage, 111 store failure\n";

static int usage(FILE *f, int status)
{
	fputs(usage_head, f);
	lsp_ctl_usage(f);
	fputs(usage_tail, f);
	return status;
}

static void complain(void *ctx, const char *line)
{
	(void)ctx;
	if (line)
		fprintf(stderr, "lsp-ctl: %s\n", line);
	else
		usage(stderr, LSP_EXIT_USAGE);
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_ctl_io io = { stdout, complain, NULL, lsp_event_log, &lg };
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 }
	};
	int c;

	lsp_log_init(&lg, "lsp-ctl");
	while ((c = getopt_long(argc, argv, "+hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout, LSP_EXIT_OK);
		case 'V': printf("lsp-ctl %s\n", LSP_VERSION); return LSP_EXIT_OK;
		default: return usage(stderr, LSP_EXIT_USAGE);
		}
	}
	return lsp_ctl_run(&io, argc - optind, argv + optind);
}
