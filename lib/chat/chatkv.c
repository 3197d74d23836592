/* chatkv.c — presence and rate limits in Redis; see chatkv.h. */
#include "chat/chatkv.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "core/clock.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000

struct lsp_chatkv {
	redisContext *c;
	char host[256];
	int port, db;
	/* an outage: not retried before retry_at (mono ms); its first failure
	 * is -EIO (reported), the rest -ENOTCONN until Redis answers again */
	int down, quiet;
	long long retry_at, backoff;
};

/* Before a command: 0 to try, or -1 (err filled) while an outage's backoff runs. */
static int outage_wait(lsp_chatkv *kv, char *err, size_t errcap)
{
	long long now = lsp_clock_mono_ms();
	kv->quiet = 0;
	if (!kv->down || now >= kv->retry_at)
		return 0;
	snprintf(err, errcap, "redis %s:%d down; next try in %lld ms", kv->host, kv->port, kv->retry_at - now);
	kv->quiet = 1;
	return -1;
}

/* A connection failure: the first of an outage is reported, later ones are quiet. */
static void outage_fail(lsp_chatkv *kv, char *err, size_t errcap)
{
	size_t l = strlen(err);
	kv->quiet = kv->down;
	kv->backoff = kv->down ? (kv->backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : kv->backoff * 2) : RETRY_MIN_MS;
	kv->retry_at = lsp_clock_mono_ms() + kv->backoff;
	if (!kv->down && l + 1 < errcap)
		snprintf(err + l, errcap - l, " (retried every %d..%d s; not reported again until it answers)",
			 RETRY_MIN_MS / 1000, RETRY_MAX_MS / 1000);
	kv->down = 1;
}

/* The code of a failed call: -ENOTCONN for an outage already reported. */
static int fail_code(const lsp_chatkv *kv)
{
	return kv->quiet ? -ENOTCONN : -EIO;
}

static int kv_connect(lsp_chatkv *kv, char *err, size_t errcap)
{
	struct timeval tv = { 0, 200000 };
	if (kv->c)
		redisFree(kv->c);
	kv->c = redisConnectWithTimeout(kv->host, kv->port, tv);
	if (!kv->c || kv->c->err) {
		snprintf(err, errcap, "redis connect %s:%d: %s", kv->host, kv->port, kv->c ? kv->c->errstr : "oom");
		if (kv->c)
			redisFree(kv->c);
		kv->c = NULL;
		return -EIO;
	}
	redisSetTimeout(kv->c, tv);
	if (kv->db) {
		redisReply *r = redisCommand(kv->c, "SELECT %d", kv->db);
		freeReplyObject(r);
	}
	return 0;
}

int lsp_chatkv_open(lsp_chatkv **out, const char *url, char *err, size_t errcap)
{
	lsp_chatkv *kv;
	const char *h;
	int n = 0;
	*out = NULL;
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errcap, "LSP_REDIS_URL must start with redis://");
		return -EINVAL;
	}
	if (!(kv = calloc(1, sizeof *kv))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	h = url + 8;
	if (strchr(h, '@'))
		h = strchr(h, '@') + 1;
	kv->port = 6379;
	if (sscanf(h, "%255[^:/]%n", kv->host, &n) != 1) {
		snprintf(err, errcap, "bad redis url");
		free(kv);
		return -EINVAL;
	}
	h += n;
	if (*h == ':')
		kv->port = (int)strtol(h + 1, (char **)&h, 10);
	if (*h == '/')
		kv->db = (int)strtol(h + 1, (char **)&h, 10);
	if (*h || kv->port <= 0 || kv->port > 65535 || kv->db < 0) {
		snprintf(err, errcap, "bad redis url");
		free(kv);
		return -EINVAL;
	}
	if (kv_connect(kv, err, errcap) < 0) {
		free(kv);
		return -EIO;
	}
	*out = kv;
	return 0;
}

void lsp_chatkv_close(lsp_chatkv *kv)
{
	if (!kv)
		return;
	if (kv->c)
		redisFree(kv->c);
	free(kv);
}

/* Run a command; reconnect once on a broken connection. */
static redisReply *cmd(lsp_chatkv *kv, char *err, size_t errcap, const char *fmt, ...)
{
	redisReply *r = NULL;
	if (outage_wait(kv, err, errcap) < 0)
		return NULL;
	for (int i = 0; i < 2 && !r; i++) {
		va_list ap;
		if (!kv->c && kv_connect(kv, err, errcap) < 0)
			break;
		va_start(ap, fmt);
		r = redisvCommand(kv->c, fmt, ap);
		va_end(ap);
		if (!r) {
			snprintf(err, errcap, "redis: %s", kv->c->errstr);
			redisFree(kv->c);
			kv->c = NULL;
		}
	}
	if (!r) {
		outage_fail(kv, err, errcap);
		return NULL;
	}
	kv->down = 0;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errcap, "redis: %s", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Fields "node" → "<count> <ms>"; stale fields are removed by the script. */
static const char presence_lua[] =
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3]) "
	"redis.call('PEXPIRE', KEYS[1], 30000) "
	"local all = redis.call('HGETALL', KEYS[1]) local sum = 0 "
	"for i = 1, #all, 2 do "
	"  local c, t = string.match(all[i + 1], '^(%d+) (%d+)$') "
	"  if c and tonumber(t) > tonumber(ARGV[3]) - 10000 then sum = sum + tonumber(c) "
	"  else redis.call('HDEL', KEYS[1], all[i]) end "
	"end return sum";

int lsp_chatkv_presence(lsp_chatkv *kv, const char *channel, const char *node, long count, long long now_ms,
			long *total, char *err, size_t errcap)
{
	char key[128];
	redisReply *r;
	snprintf(key, sizeof key, "lsp:presence:%s", channel);
	r = cmd(kv, err, errcap, "EVAL %s 1 %s %s %ld %lld", presence_lua, key, node, count, now_ms);
	if (!r)
		return fail_code(kv);
	*total = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : count;
	freeReplyObject(r);
	return 0;
}

/* The same sums as presence_lua, for many keys, read-only. */
static const char presence_read_lua[] =
	"local out = {} "
	"for k = 1, #KEYS do "
	"  local all = redis.call('HGETALL', KEYS[k]) local sum = 0 "
	"  for i = 1, #all, 2 do "
	"    local c, t = string.match(all[i + 1], '^(%d+) (%d+)$') "
	"    if c and tonumber(t) > tonumber(ARGV[1]) - 10000 then sum = sum + tonumber(c) end "
	"  end "
	"  out[k] = sum "
	"end return out";

/* cmd() for an argument vector; reconnect once on a broken connection. */
static redisReply *cmd_argv(lsp_chatkv *kv, char *err, size_t errcap, int argc, const char **argv,
			    const size_t *argvlen)
{
	redisReply *r = NULL;
	if (outage_wait(kv, err, errcap) < 0)
		return NULL;
	for (int i = 0; i < 2 && !r; i++) {
		if (!kv->c && kv_connect(kv, err, errcap) < 0)
			break;
		r = redisCommandArgv(kv->c, argc, argv, argvlen);
		if (!r) {
			snprintf(err, errcap, "redis: %s", kv->c->errstr);
			redisFree(kv->c);
			kv->c = NULL;
		}
	}
	if (!r) {
		outage_fail(kv, err, errcap);
		return NULL;
	}
	kv->down = 0;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errcap, "redis: %s", r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

int lsp_chatkv_presence_read(lsp_chatkv *kv, const char *const *channels, int n, long long now_ms, long *totals,
			     char *err, size_t errcap)
{
	char keys[LSP_CHATKV_READ_MAX][128], nk[16], now[32];
	const char *argv[LSP_CHATKV_READ_MAX + 4];
	size_t argvlen[LSP_CHATKV_READ_MAX + 4];
	redisReply *r;
	int argc = 0;
	if (n < 0 || n > LSP_CHATKV_READ_MAX) {
		snprintf(err, errcap, "too many channels for one presence read");
		return -EINVAL;
	}
	if (n == 0)
		return 0;
	snprintf(nk, sizeof nk, "%d", n);
	snprintf(now, sizeof now, "%lld", now_ms);
	argv[argc++] = "EVAL";
	argv[argc++] = presence_read_lua;
	argv[argc++] = nk;
	for (int i = 0; i < n; i++) {
		snprintf(keys[i], sizeof keys[i], "lsp:presence:%s", channels[i]);
		argv[argc++] = keys[i];
	}
	argv[argc++] = now;
	for (int i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	if (!(r = cmd_argv(kv, err, errcap, argc, argv, argvlen)))
		return fail_code(kv);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
		snprintf(err, errcap, "redis: unexpected presence reply");
		freeReplyObject(r);
		return -EIO;
	}
	for (int i = 0; i < n; i++)
		totals[i] = r->element[i]->type == REDIS_REPLY_INTEGER ? (long)r->element[i]->integer : 0;
	freeReplyObject(r);
	return 0;
}

static const char bucket_lua[] =
	"local v = redis.call('HMGET', KEYS[1], 't', 'ts') "
	"local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) "
	"local t, ts = tonumber(v[1]) or burst, tonumber(v[2]) or now "
	"if now > ts then t = math.min(burst, t + (now - ts) * rate / 1000) end "
	"local ok = 0 if t >= 1 then t = t - 1 ok = 1 end "
	"redis.call('HSET', KEYS[1], 't', tostring(t), 'ts', tostring(math.max(now, ts))) "
	"redis.call('PEXPIRE', KEYS[1], 60000) return ok";

int lsp_chatkv_allow(lsp_chatkv *kv, const char *key, double rate, int burst, long long now_ms, char *err,
		     size_t errcap)
{
	char k[128], rs[32];
	redisReply *r;
	int ok;
	snprintf(k, sizeof k, "lsp:rl:%s", key);
	snprintf(rs, sizeof rs, "%.6f", rate);
	r = cmd(kv, err, errcap, "EVAL %s 1 %s %s %d %lld", bucket_lua, k, rs, burst, now_ms);
	if (!r)
		return fail_code(kv);
	ok = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return ok;
}
