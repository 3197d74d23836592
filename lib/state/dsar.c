/* dsar.c — data-subject export and erasure; see dsar.h for the contract. */
#include "state/dsar.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/key.h"

#define X(sql, n, p, fn, ctx) lsp_store_exec(st, sql, n, p, fn, ctx, err, errcap)

/* Rows into an array of objects: cols names the columns, types has one
 * letter per column ('s' text, 'i' integer). */
struct rows {
	json_t *arr;
	const char *const *cols;
	const char *types;
	int oom;
};

static int row_obj(void *ctx, int ncol, const char *const *v)
{
	struct rows *r = ctx;
	json_t *o = json_object();
	if (!o) {
		r->oom = 1;
		return 1;
	}
	for (int i = 0; i < ncol && r->types[i]; i++) {
		json_t *x = !v[i]		  ? json_null()
			    : r->types[i] == 'i' ? json_integer(lsp_store_int(v[i]))
			    : r->types[i] == 'b' ? json_boolean(lsp_store_int(v[i]) != 0)
						 : json_string(v[i]);
		if (!x || json_object_set_new(o, r->cols[i], x) < 0)
			r->oom = 1;
	}
	if (json_array_append_new(r->arr, o) < 0)
		r->oom = 1;
	return r->oom;
}

static int add_rows(lsp_store *st, json_t *root, const char *key, const char *sql, int n, const char *const *p,
		    const char *const *cols, const char *types, char *err, size_t errcap)
{
	struct rows r = { json_array(), cols, types, 0 };
	int rc;
	if (!r.arr || json_object_set_new(root, key, r.arr) < 0) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	rc = X(sql, n, p, row_obj, &r);
	if (r.oom) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	return rc < 0 ? rc : 0;
}

static void name_hash(const char *user, char hex[LSP_HASH_HEX])
{
	char b[LSP_NAME_MAX + 16];
	snprintf(b, sizeof b, "user:%s", user);
	lsp_key_hash(b, hex);
}

static int audit(lsp_store *st, const char *actor, const char *action, const char *user, const char *detail,
		 char *err, size_t errcap)
{
	char now[24], h[LSP_HASH_HEX];
	const char *p[5] = { now, actor, action, h, detail };
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	name_hash(user, h);
	return X("INSERT INTO privacy_audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)", 5, p,
		 NULL, NULL);
}

int lsp_dsar_export(lsp_store *st, const char *user, const char *actor, char **out, char *err, size_t errcap)
{
	static const char *const ucols[] = { "name", "role", "kid", "created_at" };
	static const char *const ccols[] = { "name", "title", "category", "mature", "suspended", "created_at" };
	static const char *const scols[] = { "created_at", "expires_at" };
	static const char *const mcols[] = { "id", "channel", "text", "created_at" };
	static const char *const tcols[] = { "channel", "amount", "message", "created_at", "txn" };
	static const char *const lcols[] = { "txn", "amount", "kind", "created_at" };
	static const char *const bcols[] = { "channel", "until", "actor", "reason" };
	static const char *const acols[] = { "at", "channel", "actor", "action", "target", "detail" };
	char acct[LSP_NAME_MAX + 16];
	const char *p[1] = { user }, *pa[1] = { acct };
	json_t *root = json_object(), *users;
	int rc;

	*out = NULL;
	if (!root) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	snprintf(acct, sizeof acct, "user:%s", user);
	json_object_set_new(root, "format", json_string("lsp-dsar/1"));
	json_object_set_new(root, "generated_at", json_integer((json_int_t)time(NULL)));
	if ((rc = add_rows(st, root, "profile", "SELECT name, role, kid, created_at FROM users WHERE name = $1", 1, p,
			   ucols, "ssbi", err, errcap)) < 0)
		goto fail;
	users = json_object_get(root, "profile");
	if (json_array_size(users) != 1) {
		snprintf(err, errcap, "no user %s", user);
		rc = -ENOENT;
		goto fail;
	}
	json_object_set(root, "profile", json_array_get(users, 0));
	if ((rc = add_rows(st, root, "channels",
			   "SELECT name, title, category, mature, suspended, created_at FROM channels WHERE owner = $1 "
			   "ORDER BY name",
			   1, p, ccols, "sssbbi", err, errcap)) < 0 ||
	    (rc = add_rows(st, root, "sessions",
			   "SELECT created_at, expires_at FROM sessions WHERE user_name = $1 ORDER BY created_at", 1, p,
			   scols, "ii", err, errcap)) < 0 ||
	    (rc = add_rows(st, root, "chat_messages",
			   "SELECT id, channel, text, created_at FROM chat_messages WHERE user_name = $1 "
			   "ORDER BY created_at, id",
			   1, p, mcols, "sssi", err, errcap)) < 0 ||
	    (rc = add_rows(st, root, "tips",
			   "SELECT channel, amount, message, created_at, txn FROM tips WHERE user_name = $1 "
			   "ORDER BY created_at, txn",
			   1, p, tcols, "sisis", err, errcap)) < 0 ||
	    (rc = add_rows(st, root, "ledger",
			   "SELECT txn, amount, kind, created_at FROM ledger_entries WHERE account = $1 "
			   "ORDER BY created_at, txn",
			   1, pa, lcols, "sisi", err, errcap)) < 0 ||
	    (rc = add_rows(st, root, "bans",
			   "SELECT channel, until_at, actor, reason FROM bans WHERE user_name = $1 ORDER BY channel", 1,
			   p, bcols, "siss", err, errcap)) < 0 ||
	    (rc = add_rows(st, root, "moderation",
			   "SELECT at, channel, actor, action, target, detail FROM moderation_audit "
			   "WHERE target = $1 OR actor = $1 ORDER BY at",
			   1, p, acols, "isssss", err, errcap)) < 0)
		goto fail;
	if ((rc = audit(st, actor, "export", user, "", err, errcap)) < 0)
		goto fail;
	if (!(*out = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS))) {
		snprintf(err, errcap, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return rc;
}

static int row_one(void *ctx, int ncol, const char *const *v)
{
	(void)v;
	*(int *)ctx = ncol > 0;
	return 1;
}

int lsp_dsar_erase(lsp_store *st, const char *user, const char *actor, char *err, size_t errcap)
{
	unsigned char r[8];
	char anon[32], acct[LSP_NAME_MAX + 16], aacct[48], detail[160];
	const char *p1[1] = { user }, *p2[2] = { user, anon }, *pa[2] = { acct, aacct };
	int found = 0, rc, n[4] = { 0, 0, 0, 0 };

	if (RAND_bytes(r, sizeof r) != 1) {
		snprintf(err, errcap, "unable to draw random bytes");
		return -EIO;
	}
	snprintf(anon, sizeof anon, "erased-");
	for (int i = 0; i < 8; i++)
		snprintf(anon + 7 + 2 * i, 3, "%02x", r[i]);
	snprintf(acct, sizeof acct, "user:%s", user);
	snprintf(aacct, sizeof aacct, "user:%s", anon);
	if ((rc = X(strcmp(lsp_store_backend(st), "sqlite") == 0 ? "BEGIN IMMEDIATE" : "BEGIN", 0, NULL, NULL, NULL)) <
	    0)
		return rc;
	if ((rc = X("SELECT 1 FROM users WHERE name = $1", 1, p1, row_one, &found)) < 0)
		goto fail;
	if (!found) {
		snprintf(err, errcap, "no user %s", user);
		rc = -ENOENT;
		goto fail;
	}
	if ((rc = n[0] = X("DELETE FROM chat_messages WHERE user_name = $1", 1, p1, NULL, NULL)) < 0 ||
	    (rc = X("DELETE FROM sessions WHERE user_name = $1", 1, p1, NULL, NULL)) < 0 ||
	    (rc = X("DELETE FROM bans WHERE user_name = $1", 1, p1, NULL, NULL)) < 0 ||
	    (rc = n[1] = X("UPDATE tips SET user_name = $2, message = '' WHERE user_name = $1", 2, p2, NULL, NULL)) < 0 ||
	    (rc = X("INSERT INTO ledger_accounts (name, kind, balance) "
		    "SELECT $2, kind, balance FROM ledger_accounts WHERE name = $1",
		    2, pa, NULL, NULL)) < 0 ||
	    (rc = n[2] = X("UPDATE ledger_entries SET account = $2 WHERE account = $1", 2, pa, NULL, NULL)) < 0 ||
	    (rc = X("DELETE FROM ledger_accounts WHERE name = $1", 1, pa, NULL, NULL)) < 0 ||
	    (rc = X("UPDATE moderation_audit SET target = $2 WHERE target = $1", 2, p2, NULL, NULL)) < 0 ||
	    (rc = X("UPDATE moderation_audit SET actor = $2 WHERE actor = $1", 2, p2, NULL, NULL)) < 0 ||
	    (rc = n[3] = X("DELETE FROM channels WHERE owner = $1", 1, p1, NULL, NULL)) < 0 ||
	    (rc = X("DELETE FROM users WHERE name = $1", 1, p1, NULL, NULL)) < 0)
		goto fail;
	snprintf(detail, sizeof detail,
		 "{\"chat_messages\":%d,\"tips_anonymised\":%d,\"ledger_entries_anonymised\":%d,\"channels\":%d}", n[0],
		 n[1], n[2], n[3]);
	if ((rc = audit(st, actor, "erase", user, detail, err, errcap)) < 0)
		goto fail;
	rc = X("COMMIT", 0, NULL, NULL, NULL);
	return rc < 0 ? rc : 0;
fail:
	{
		char e[64];
		lsp_store_exec(st, "ROLLBACK", 0, NULL, NULL, NULL, e, sizeof e);
	}
	return rc;
}

int lsp_dsar_chat_add(lsp_store *st, const char *id, const char *channel, const char *user, const char *text,
		      long long ts, char *err, size_t errcap)
{
	char at[24];
	const char *p[5] = { id, channel, user, text, at };
	int rc;
	snprintf(at, sizeof at, "%lld", ts);
	rc = X("INSERT INTO chat_messages (id, channel, user_name, text, created_at) VALUES ($1, $2, $3, $4, $5) "
	       "ON CONFLICT (id) DO NOTHING",
	       5, p, NULL, NULL);
	return rc < 0 ? rc : 0;
}

int lsp_dsar_chat_event(lsp_store *st, const char *json, size_t len, char *err, size_t errcap)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type, *id, *ch, *user, *text;
	long long ts;
	int rc = 0;
	if (!o || !json_is_object(o)) {
		json_decref(o);
		snprintf(err, errcap, "chat event is not a JSON object");
		return -EINVAL;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (!type || strcmp(type, "say") != 0)
		goto done;
	id = json_string_value(json_object_get(o, "id"));
	ch = json_string_value(json_object_get(o, "channel"));
	user = json_string_value(json_object_get(o, "user"));
	text = json_string_value(json_object_get(o, "text"));
	ts = json_integer_value(json_object_get(o, "ts"));
	if (!id || !ch || !user || !text || !*id || strlen(id) > 64 || !lsp_name_valid(ch) || !lsp_name_valid(user)) {
		snprintf(err, errcap, "chat event lacks id, channel, user or text");
		rc = -EINVAL;
		goto done;
	}
	if (ts > 100000000000LL) /* milliseconds */
		ts /= 1000;
	rc = lsp_dsar_chat_add(st, id, ch, user, text, ts, err, errcap);
done:
	json_decref(o);
	return rc;
}
