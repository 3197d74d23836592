/* lsp-ctl — the control-plane CLI: channels and stream keys in the store.
 * Exit codes (man/lsp.7): 0 ok, 1 no such channel / already exists,
 * 100 usage or bad name, 111 store failure. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exit.h"
#include "key.h"
#include "log.h"
#include "store.h"

static const char usage[] =
	"usage: lsp-ctl [-h] [-V] COMMAND [ARGS]\n"
	"  channel add NAME      create a channel; prints its stream key as the last word\n"
	"  channel list          list channels (name, key state, created)\n"
	"  channel rm NAME       delete a channel\n"
	"  key rotate NAME       issue a new stream key (the old one stops working)\n"
	"  key revoke NAME       revoke the stream key (publishing is refused)\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL=postgres://… for Postgres\n"
	"exit: 0 ok, 1 not found or exists, 100 usage, 111 store failure\n";

static int fail_code(int rc)
{
	return (rc == -ENOENT || rc == -EEXIST) ? LSP_EXIT_NO : LSP_EXIT_SYS;
}

static int print_channel(void *ctx, const lsp_channel *c)
{
	char when[32];
	time_t t = (time_t)c->created_at;
	struct tm tm;
	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\t%s\t%s\n", c->name, c->key_hash[0] ? "key" : "revoked", when);
	return 0;
}

static int new_key(lsp_store *st, const char *name, int add, char *err, size_t errcap)
{
	char key[LSP_KEY_MAX], hash[LSP_HASH_HEX];
	int rc;
	if (lsp_key_new(name, key, sizeof key) < 0) {
		snprintf(err, errcap, "unable to draw random bytes for a key");
		return -EIO;
	}
	lsp_key_hash(key, hash);
	rc = add ? lsp_store_channel_add(st, name, hash, err, errcap)
		 : lsp_store_channel_set_key(st, name, hash, err, errcap);
	if (rc == 0)
		printf("%s %s\nstream key: %s\n", add ? "created channel" : "new key for channel", name, key);
	memset(key, 0, sizeof key);
	return rc;
}

int main(int argc, char **argv)
{
	lsp_log_t lg;
	lsp_store *st = NULL;
	char err[512] = "";
	const char *a, *b, *name = NULL;
	int c, rc = 0, want_name;

	lsp_log_init(&lg, "lsp-ctl");
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 }
	};
	while ((c = getopt_long(argc, argv, "+hV", lopts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': printf("lsp-ctl %s\n", LSP_VERSION); return LSP_EXIT_OK;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	a = argv[optind];
	b = argv[optind + 1];
	want_name = !(strcmp(a, "channel") == 0 && strcmp(b, "list") == 0);
	if (want_name) {
		if (argc - optind != 3) {
			fprintf(stderr, "lsp-ctl: %s %s needs exactly one NAME\n", a, b);
			return LSP_EXIT_USAGE;
		}
		name = argv[optind + 2];
		if (!lsp_name_valid(name)) {
			fprintf(stderr, "lsp-ctl: bad channel name (want [a-z0-9_-]{1,64})\n");
			return LSP_EXIT_USAGE;
		}
	} else if (argc - optind != 2) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	if (!((strcmp(a, "channel") == 0 && (!strcmp(b, "add") || !strcmp(b, "list") || !strcmp(b, "rm"))) ||
	      (strcmp(a, "key") == 0 && (!strcmp(b, "rotate") || !strcmp(b, "revoke"))))) {
		fprintf(stderr, "lsp-ctl: unknown command: %s %s\n", a, b);
		return LSP_EXIT_USAGE;
	}
	if ((rc = lsp_store_open_env(&st, err, sizeof err)) < 0) {
		lsp_log(&lg, LSP_FATAL, "unable to open store", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	if (!strcmp(a, "channel") && !strcmp(b, "add"))
		rc = new_key(st, name, 1, err, sizeof err);
	else if (!strcmp(a, "channel") && !strcmp(b, "list"))
		rc = lsp_store_channel_list(st, print_channel, NULL, err, sizeof err);
	else if (!strcmp(a, "channel") && !strcmp(b, "rm"))
		rc = lsp_store_channel_rm(st, name, err, sizeof err);
	else if (!strcmp(b, "rotate"))
		rc = new_key(st, name, 0, err, sizeof err);
	else
		rc = lsp_store_channel_set_key(st, name, NULL, err, sizeof err);
	lsp_store_close(st);
	if (rc < 0) {
		lsp_log(&lg, LSP_ERROR, err, "command", LSV_S(b), NULL);
		return fail_code(rc);
	}
	if (want_name)
		lsp_log(&lg, LSP_INFO, "done", "command", LSV_S(b), "channel", LSV_S(name), NULL);
	return LSP_EXIT_OK;
}
