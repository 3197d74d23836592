/* lsp-ctl — the control-plane CLI: channels and stream keys in the store.
 * Exit codes (man/lsp.7): 0 ok, 1 no such channel / already exists,
 * 100 usage or bad name, 111 store failure. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsar.h"
#include "exit.h"
#include "key.h"
#include "ledger.h"
#include "log.h"
#include "modlog.h"
#include "opt.h"
#include "store.h"
#include "token.h"
#include "vod.h"

static const char usage[] =
	"usage: lsp-ctl [-h] [-V] COMMAND [ARGS]\n"
	"  channel add NAME      create a channel; prints its stream key as the last word\n"
	"  channel list          list channels (name, key state, created)\n"
	"  channel rm NAME       delete a channel\n"
	"  key rotate NAME       issue a new stream key (the old one stops working)\n"
	"  key revoke NAME       revoke the stream key (publishing is refused)\n"
	"  user add NAME         create a chat user (with an empty ledger account)\n"
	"  user credit NAME AMOUNT   top up a user's balance (minor units; admin/test)\n"
	"  token NAME [--role viewer|mod|owner] [--channel C] [--ttl SECONDS]\n"
	"                        print a signed chat token (default viewer, any channel, 86400 s)\n"
	"  ledger NAME [--check] a channel's balance and entries (user:NAME for a user);\n"
	"                        --check reconciles the whole ledger (exit 1 on a mismatch)\n"
	"  audit NAME            a channel's moderation audit, newest first\n"
	"  channel set NAME KEY=VALUE...   recording settings: record=on|off,\n"
	"                        retention=30d|12h|0 (age), maxsize=50G|0 (per channel)\n"
	"  vod list [NAME]       recordings: channel, id, start, seconds, bytes, state\n"
	"  vod rm NAME ID        delete a recording (exit 1 while it is being recorded)\n"
	"  gc                    enforce every channel's retention (run by lsp-gc.timer)\n"
	"  dsar export USER      everything held about USER as one JSON archive on stdout\n"
	"  dsar erase USER       erase USER everywhere (ledger amounts kept, anonymised);\n"
	"                        both are written to the privacy audit\n"
	"environment: LSP_DATA_DIR (default ./var), LSP_DB_URL=postgres://… for Postgres,\n"
	"  LSP_SECRET (token key; else LSP_DATA_DIR/chat.secret)\n"
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

static int print_entry(void *ctx, const char *txn, long long amount, const char *kind, long long at)
{
	char when[32];
	time_t t = (time_t)at;
	struct tm tm;
	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\t%+lld\t%s\t%s\n", when, amount, kind, txn);
	return 0;
}

static int print_audit(void *ctx, long long at, const char *actor, const char *action, const char *target,
		       const char *detail)
{
	char when[32];
	time_t t = (time_t)at;
	struct tm tm;
	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\t%s\t%s\t%s\t%s\n", when, actor, action, target, detail);
	return 0;
}

/* user / token / ledger / audit: the chat side of the control plane.
 * n words from w[0] ("user", "token", ...).  Returns an exit code. */
/* dsar export|erase USER (lib/dsar.c).  Returns an exit code. */
static int dsar_cmd(lsp_log_t *lg, const char *verb, const char *user)
{
	lsp_store *st = NULL;
	char err[512] = "", *out = NULL;
	int rc;
	if (strcmp(verb, "export") != 0 && strcmp(verb, "erase") != 0) {
		fprintf(stderr, "lsp-ctl: unknown command: dsar %s\n", verb);
		return LSP_EXIT_USAGE;
	}
	if (!lsp_name_valid(user)) {
		fprintf(stderr, "lsp-ctl: bad user name (want [a-z0-9_-]{1,64})\n");
		return LSP_EXIT_USAGE;
	}
	if ((rc = lsp_store_open_env(&st, err, sizeof err)) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to open store", "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	if (!strcmp(verb, "export")) {
		rc = lsp_dsar_export(st, user, "operator", &out, err, sizeof err);
		if (rc == 0 && (fputs(out, stdout) == EOF || putchar('\n') == EOF || fflush(stdout) == EOF)) {
			snprintf(err, sizeof err, "unable to write the export");
			rc = -EIO;
		}
		free(out);
	} else
		rc = lsp_dsar_erase(st, user, "operator", err, sizeof err);
	lsp_store_close(st);
	if (rc < 0) {
		lsp_log(lg, LSP_ERROR, err, "command", LSV_S(verb), NULL);
		return fail_code(rc);
	}
	lsp_log(lg, LSP_INFO, "done", "command", LSV_S(verb), NULL);
	return LSP_EXIT_OK;
}

static int chat_cmd(lsp_log_t *lg, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", acct[LSP_LEDGER_ACCT_MAX];
	const char *name;
	int rc = 0, check = 0;

	if (!strcmp(w[0], "user") && n >= 3 && (!strcmp(w[1], "add") || !strcmp(w[1], "credit")))
		name = w[2];
	else if (!strcmp(w[0], "token") || !strcmp(w[0], "ledger") || !strcmp(w[0], "audit"))
		name = w[1];
	else {
		fprintf(stderr, "lsp-ctl: unknown command: %s %s\n", w[0], w[1]);
		return LSP_EXIT_USAGE;
	}
	if (!strcmp(w[0], "ledger") && !strncmp(name, "user:", 5) && lsp_name_valid(name + 5))
		snprintf(acct, sizeof acct, "%s", name);
	else if (!lsp_name_valid(name)) {
		fprintf(stderr, "lsp-ctl: bad name (want [a-z0-9_-]{1,64})\n");
		return LSP_EXIT_USAGE;
	} else
		snprintf(acct, sizeof acct, "channel:%s", name);

	if (!strcmp(w[0], "token")) {
		lsp_token t = { 0 };
		unsigned char key[LSP_SECRET_MAX];
		char tok[LSP_TOKEN_MAX];
		long ttl = 86400;
		int klen;
		t.role = LSP_ROLE_VIEWER;
		snprintf(t.channel, sizeof t.channel, "*");
		snprintf(t.user, sizeof t.user, "%s", name);
		for (int i = 2; i < n; i++) {
			if (i + 1 >= n)
				goto usage;
			if (!strcmp(w[i], "--role")) {
				if ((t.role = lsp_role_parse(w[++i])) < 0)
					goto usage;
			} else if (!strcmp(w[i], "--ttl")) {
				if (lsp_opt_long(w[++i], 1, 10L * 365 * 86400, &ttl) < 0)
					goto usage;
			} else if (!strcmp(w[i], "--channel")) {
				if (!lsp_name_valid(w[++i]))
					goto usage;
				snprintf(t.channel, sizeof t.channel, "%s", w[i]);
			} else
				goto usage;
		}
		t.exp = (long long)time(NULL) + ttl;
		if ((rc = lsp_store_open_env(&st, err, sizeof err)) < 0)
			goto sysfail;
		if ((rc = lsp_user_exists(st, name, err, sizeof err)) <= 0) {
			if (rc == 0)
				snprintf(err, sizeof err, "no user %s", name);
			rc = rc == 0 ? -ENOENT : rc;
			goto out;
		}
		klen = lsp_token_secret(lsp_opt_env("LSP_DATA_DIR", "./var"), key, sizeof key, err, sizeof err);
		if (klen < 0) {
			rc = klen;
			goto out;
		}
		rc = lsp_token_issue(key, (size_t)klen, &t, tok, sizeof tok);
		memset(key, 0, sizeof key);
		if (rc == 0)
			printf("%s\n", tok);
		memset(tok, 0, sizeof tok);
		goto out;
	}
	if (!strcmp(w[0], "ledger") && n == 3 && !strcmp(w[2], "--check"))
		check = 1;
	else if ((!strcmp(w[0], "user") && !strcmp(w[1], "credit") && n != 4) ||
		 (!strcmp(w[0], "user") && !strcmp(w[1], "add") && n != 3) || (strcmp(w[0], "user") && n != 2))
		goto usage;
	if ((rc = lsp_store_open_env(&st, err, sizeof err)) < 0)
		goto sysfail;
	if (!strcmp(w[0], "user") && !strcmp(w[1], "add")) {
		if ((rc = lsp_user_add(st, name, err, sizeof err)) == 0)
			printf("created user %s\n", name);
	} else if (!strcmp(w[0], "user")) {
		long amount;
		long long bal = 0;
		if (lsp_opt_long(w[3], 1, 1000000000000L, &amount) < 0) {
			lsp_store_close(st);
			goto usage;
		}
		if ((rc = lsp_ledger_credit(st, name, amount, &bal, err, sizeof err)) == 0)
			printf("user:%s\tbalance\t%lld\n", name, bal);
	} else if (!strcmp(w[0], "audit")) {
		rc = lsp_mod_audit(st, name, 1000, print_audit, NULL, err, sizeof err);
	} else if (check) {
		rc = lsp_ledger_check(st, err, sizeof err);
		if (rc == 0)
			printf("ledger ok\n");
		else if (rc > 0) {
			printf("ledger MISMATCH: %s\n", err);
			lsp_store_close(st);
			return LSP_EXIT_NO;
		}
	} else {
		long long bal = 0;
		if ((rc = lsp_ledger_balance(st, acct, &bal, err, sizeof err)) == 0) {
			printf("%s\tbalance\t%lld\n", acct, bal);
			rc = lsp_ledger_entries(st, acct, 1000, print_entry, NULL, err, sizeof err);
		}
	}
out:
	lsp_store_close(st);
	if (rc < 0) {
		lsp_log(lg, LSP_ERROR, err, "command", LSV_S(w[0]), NULL);
		return (rc == -ENOENT || rc == -EEXIST || rc == -ENOSPC) ? LSP_EXIT_NO
		       : rc == -EINVAL					  ? LSP_EXIT_USAGE
									  : LSP_EXIT_SYS;
	}
	lsp_log(lg, LSP_INFO, "done", "command", LSV_S(w[0]), "name", LSV_S(name), NULL);
	return LSP_EXIT_OK;
sysfail:
	lsp_log(lg, LSP_FATAL, "unable to open store", "reason", LSV_S(err), NULL);
	return LSP_EXIT_SYS;
usage:
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
}

/* ---- recordings (lib/vod.h): channel set, gc, vod list|rm ---- */

static int print_vod(void *ctx, const lsp_vod_info *v)
{
	char when[32];
	time_t t = (time_t)v->started;
	struct tm tm;
	(void)ctx;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\t%s\t%s\t%.1f\t%lld\t%s\n", v->channel, v->id, when, v->duration, v->bytes, v->state);
	return 0;
}

static void print_removed(void *ctx, const lsp_vod_info *v, const char *why)
{
	(void)ctx;
	/* "finalized": an interrupted recording closed as VOD, not removed */
	printf("%s\t%s\t%s\t%s\t%lld\n", strcmp(why, "finalized") ? "removed" : "finalized", v->channel, v->id,
	       why, v->bytes);
}

static int vod_cmd(lsp_log_t *lg, int n, char **w)
{
	lsp_store *st = NULL;
	char err[512] = "", root[4096];
	int rc = 0;
	snprintf(root, sizeof root, "%s/vod", lsp_opt_env("LSP_DATA_DIR", "./var"));
	if (!strcmp(w[0], "vod") && n >= 2 && !strcmp(w[1], "list") && n <= 3) {
		if (n == 3 && !lsp_name_valid(w[2]))
			goto usage;
		rc = lsp_vod_list(root, n == 3 ? w[2] : NULL, print_vod, NULL, err, sizeof err);
	} else if (!strcmp(w[0], "vod") && n == 4 && !strcmp(w[1], "rm")) {
		if ((rc = lsp_vod_rm(root, w[2], w[3], err, sizeof err)) == -EBUSY)
			rc = -EEXIST; /* exit 1: an expected "no" */
	} else if (!strcmp(w[0], "gc") && n == 1) {
		if ((rc = lsp_store_open_env(&st, err, sizeof err)) >= 0)
			rc = lsp_vod_gc(root, st, (double)time(NULL), print_removed, NULL, err, sizeof err);
	} else if (!strcmp(w[0], "channel") && n >= 4 && !strcmp(w[1], "set") && lsp_name_valid(w[2])) {
		if ((rc = lsp_store_open_env(&st, err, sizeof err)) >= 0)
			for (int i = 3; i < n && rc >= 0; i++)
				rc = lsp_vod_settings_set(st, w[2], w[i], err, sizeof err);
		if (rc == -EINVAL) {
			lsp_store_close(st);
			lsp_log(lg, LSP_ERROR, err, "command", LSV_S("channel set"), NULL);
			return LSP_EXIT_USAGE;
		}
	} else {
		goto usage;
	}
	lsp_store_close(st);
	if (rc < 0) {
		lsp_log(lg, LSP_ERROR, err, "command", LSV_S(w[0]), NULL);
		return fail_code(rc);
	}
	if (!strcmp(w[0], "gc"))
		lsp_log(lg, LSP_INFO, "gc done", "removed", LSV_I(rc), NULL);
	return LSP_EXIT_OK;
usage:
	fputs(usage, stderr);
	return LSP_EXIT_USAGE;
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
	if (argc - optind >= 1 && (!strcmp(argv[optind], "gc") || !strcmp(argv[optind], "vod") ||
				   (argc - optind >= 2 && !strcmp(argv[optind], "channel") && !strcmp(argv[optind + 1], "set"))))
		return vod_cmd(&lg, argc - optind, argv + optind);
	if (argc - optind < 2) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	a = argv[optind];
	b = argv[optind + 1];
	if (!strcmp(a, "user") || !strcmp(a, "token") || !strcmp(a, "ledger") || !strcmp(a, "audit"))
		return chat_cmd(&lg, argc - optind, argv + optind);
	if (!strcmp(a, "dsar")) {
		if (argc - optind != 3) {
			fputs(usage, stderr);
			return LSP_EXIT_USAGE;
		}
		return dsar_cmd(&lg, b, argv[optind + 2]);
	}
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
