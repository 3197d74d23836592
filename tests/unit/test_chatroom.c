/* Unit tests: lib/chat/chatroom.c — the lsp-chat channel rooms without
 * sockets: members joining and leaving, the history ring (bounded, oldest
 * dropped, repeats ignored, deletes), bans, timeouts, word filters and slow
 * mode as loaded from the store and as changed by published events.  The
 * store is SQLite in a temp directory; the server has no bus, so a room is
 * what chatsrv_chan_get builds on a lone node.  Members are connections
 * that never opened (stage HEAD): deliveries to them are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/chatsrv_int.h"
#include "core/clock.h"
#include "state/modlog.h"
#include "state/store.h"

#define HIST 4

typedef struct {
	char dir[64];
	lsp_store *st;
	lsp_chatsrv *s;
	int events;          /* events reported */
	char last[64];       /* name of the last one */
} fix;

static void on_event(void *ctx, const lsp_event *ev)
{
	fix *f = ctx;
	f->events++;
	snprintf(f->last, sizeof f->last, "%s", ev->name);
}

static int setup(void **state)
{
	fix *f = calloc(1, sizeof *f);
	char err[256];
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/lsp-chatroom.XXXXXX");
	if (!mkdtemp(f->dir) || lsp_store_open(&f->st, f->dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "store: %s\n", err);
		free(f);
		return -1;
	}
	if (!(f->s = calloc(1, sizeof *f->s)))
		return -1;
	f->s->lfd = f->s->efd = f->s->evfd = -1;
	pthread_mutex_init(&f->s->qmu, NULL);
	f->s->cfg.history = HIST;
	f->s->cfg.max_msg = 4096;
	f->s->cfg.st = f->st;
	f->s->cfg.event = on_event;
	f->s->cfg.event_ctx = f;
	snprintf(f->s->node, sizeof f->s->node, "test");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;
	DIR *d;
	struct dirent *e;
	char p[512];
	lsp_chatsrv_close(f->s); /* frees the channels */
	lsp_store_close(f->st);
	if ((d = opendir(f->dir))) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
				unlink(p);
			}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Apply one event text to ch as if it came over the bus. */
static void apply(fix *f, chan *ch, const char *json, int from_history)
{
	chatsrv_room_apply(f->s, ch, json, strlen(json), from_history);
}

static void say(fix *f, chan *ch, const char *id)
{
	char j[256];
	snprintf(j, sizeof j, "{\"type\":\"say\",\"id\":\"%s\",\"channel\":\"%s\",\"user\":\"u\",\"text\":\"t %s\"}",
		 id, ch->name, id);
	apply(f, ch, j, 0);
}

/* The ids in the history message of ch, oldest first, space separated. */
static void hist_ids(fix *f, chan *ch, char *out, size_t cap)
{
	size_t len = 0;
	char *h = chatsrv_room_history(f->s, ch, &len);
	json_t *o, *msgs;
	size_t i;
	assert_non_null(h);
	assert_int_equal(len, strlen(h));
	o = json_loads(h, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "history");
	msgs = json_object_get(o, "messages");
	assert_true(json_is_array(msgs));
	out[0] = 0;
	for (i = 0; i < json_array_size(msgs); i++) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s%s", i ? " " : "",
			 json_string_value(json_object_get(json_array_get(msgs, i), "id")));
	}
	assert_int_equal((int)json_array_size(msgs), ch->hist_n);
	json_decref(o);
	free(h);
}

static void store_action(fix *f, int kind, const char *target, long long seconds)
{
	char err[256];
	lsp_mod_action a = { .kind = kind, .channel = "room", .actor = "mo", .target = target,
			     .seconds = seconds, .now = lsp_clock_wall_ms() / 1000 };
	assert_int_equal(lsp_mod_apply(f->st, &a, err, sizeof err), 0);
}

static void members(void **state)
{
	fix *f = *state;
	conn c[3];
	chan *ch = chatsrv_chan_get(f->s, "room");
	assert_non_null(ch);
	assert_ptr_equal(chatsrv_chan_get(f->s, "room"), ch); /* one entry per name */
	assert_ptr_equal(chatsrv_chan_find(f->s, "room"), ch);
	assert_null(chatsrv_chan_find(f->s, "other"));
	assert_int_equal(ch->full, 1);
	assert_int_equal(f->s->nwatch, 0);
	memset(c, 0, sizeof c);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(chatsrv_chan_join(ch, &c[i]), 0);
		assert_ptr_equal(c[i].ch, ch);
	}
	assert_int_equal(ch->n, 3);
	assert_int_equal(ch->idle_since, 0);
	/* the middle one leaves: the others keep valid slots */
	chatsrv_chan_leave(ch, &c[1]);
	assert_int_equal(ch->n, 2);
	assert_null(c[1].ch);
	assert_ptr_equal(ch->members[c[0].midx], &c[0]);
	assert_ptr_equal(ch->members[c[2].midx], &c[2]);
	/* leaving twice changes nothing */
	chatsrv_chan_leave(ch, &c[1]);
	assert_int_equal(ch->n, 2);
	chatsrv_chan_leave(ch, &c[0]);
	chatsrv_chan_leave(ch, &c[2]);
	assert_int_equal(ch->n, 0);
	assert_true(ch->idle_since > 0); /* empty: forgotten by the tick later */
	assert_int_equal(chatsrv_chan_join(ch, &c[1]), 0);
	assert_int_equal(ch->n, 1);
	assert_int_equal(ch->idle_since, 0);
	chatsrv_chan_leave(ch, &c[1]);
	/* many joins grow the member array */
	{
		conn *many = calloc(100, sizeof *many);
		assert_non_null(many);
		for (int i = 0; i < 100; i++)
			assert_int_equal(chatsrv_chan_join(ch, &many[i]), 0);
		assert_int_equal(ch->n, 100);
		for (int i = 0; i < 100; i += 2)
			chatsrv_chan_leave(ch, &many[i]);
		assert_int_equal(ch->n, 50);
		for (size_t i = 0; i < ch->n; i++)
			assert_ptr_equal(ch->members[i]->ch, ch);
		for (int i = 1; i < 100; i += 2)
			chatsrv_chan_leave(ch, &many[i]);
		assert_int_equal(ch->n, 0);
		free(many);
	}
}

static void history(void **state)
{
	fix *f = *state;
	char ids[256];
	chan *ch = chatsrv_chan_get(f->s, "room");
	assert_non_null(ch);
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "");
	say(f, ch, "m1");
	say(f, ch, "m2");
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m1 m2");
	/* bounded: the oldest go first */
	for (int i = 3; i <= 6; i++) {
		char id[8];
		snprintf(id, sizeof id, "m%d", i);
		say(f, ch, id);
	}
	assert_int_equal(ch->hist_n, HIST);
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m3 m4 m5 m6");
	/* an event seen already (JetStream replay, two paths) is kept once */
	say(f, ch, "m5");
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m3 m4 m5 m6");
	/* a tip is history too */
	apply(f, ch, "{\"type\":\"tip\",\"id\":\"t1\",\"channel\":\"room\",\"user\":\"u\",\"amount\":5}", 0);
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m4 m5 m6 t1");
	/* a moderator's delete takes one out, the order stays */
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"delete\",\"id\":\"m5\",\"channel\":\"room\"}", 0);
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m4 m6 t1");
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"delete\",\"id\":\"nope\",\"channel\":\"room\"}", 0);
	assert_int_equal(ch->hist_n, 3);
	/* and the ring wraps on from there */
	say(f, ch, "m7");
	say(f, ch, "m8");
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m6 t1 m7 m8");
	/* junk and unknown types change nothing */
	apply(f, ch, "not json", 0);
	apply(f, ch, "{\"type\":\"presence\",\"viewers\":3}", 0);
	hist_ids(f, ch, ids, sizeof ids);
	assert_string_equal(ids, "m6 t1 m7 m8");
}

static void bans(void **state)
{
	fix *f = *state;
	long long now = lsp_clock_wall_ms();
	char j[256];
	chan *ch;
	/* written to the store before this node knew the channel: loaded */
	store_action(f, LSP_MOD_BAN, "bob", 0);
	ch = chatsrv_chan_get(f->s, "room");
	assert_non_null(ch);
	assert_string_equal(chatsrv_room_banned(ch, "bob", now), "banned");
	assert_null(chatsrv_room_banned(ch, "alice", now));
	/* a timeout published by another node: in force until its end */
	snprintf(j, sizeof j, "{\"type\":\"mod\",\"action\":\"timeout\",\"user\":\"carl\",\"until\":%lld}",
		 now / 1000 + 60);
	apply(f, ch, j, 0);
	assert_string_equal(chatsrv_room_banned(ch, "carl", now), "timed_out");
	assert_null(chatsrv_room_banned(ch, "carl", now + 61000));
	/* unban lifts it; a ban replayed from history does not (the store decides) */
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"unban\",\"user\":\"bob\"}", 0);
	assert_null(chatsrv_room_banned(ch, "bob", now));
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"ban\",\"user\":\"dan\",\"until\":0}", 1);
	assert_null(chatsrv_room_banned(ch, "dan", now));
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"ban\",\"user\":\"dan\",\"until\":0}", 0);
	assert_string_equal(chatsrv_room_banned(ch, "dan", now), "banned");
	/* a ban turned into a timeout, then over */
	snprintf(j, sizeof j, "{\"type\":\"mod\",\"action\":\"timeout\",\"user\":\"dan\",\"until\":%lld}",
		 now / 1000 - 1);
	apply(f, ch, j, 0);
	assert_null(chatsrv_room_banned(ch, "dan", now));
	assert_int_equal(f->events, 0); /* nothing went wrong */
}

static void words(void **state)
{
	fix *f = *state;
	long long now = lsp_clock_wall_ms();
	chan *ch;
	store_action(f, LSP_MOD_FILTER_ADD, "spoiler", 0);
	ch = chatsrv_chan_get(f->s, "room");
	assert_non_null(ch);
	assert_int_equal(ch->nwords, 1);
	assert_string_equal(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "big SPOILER ahead", 0, now), "filtered");
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "nothing to see", 0, now));
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"filter_add\",\"word\":\"darn\"}", 0);
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"filter_add\",\"word\":\"darn\"}", 0);
	assert_int_equal(ch->nwords, 2);
	assert_string_equal(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "oh darn", 0, now), "filtered");
	/* moderators and owners are not filtered */
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_MOD, "oh darn", 0, now));
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_OWNER, "a spoiler", 0, now));
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"filter_rm\",\"word\":\"darn\"}", 0);
	assert_int_equal(ch->nwords, 1);
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "oh darn", 0, now));
	assert_string_equal(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "spoiler", 0, now), "filtered");
	/* filters from history are the store's business */
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"filter_add\",\"word\":\"heck\"}", 1);
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "heck", 0, now));
}

static void slow(void **state)
{
	fix *f = *state;
	long long now = lsp_clock_wall_ms();
	chan *ch;
	store_action(f, LSP_MOD_SLOW, "", 30);
	ch = chatsrv_chan_get(f->s, "room");
	assert_non_null(ch);
	assert_int_equal(ch->slow, 30);
	assert_string_equal(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "hi", now - 29000, now), "slow_mode");
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "hi", now - 30000, now));
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "hi", 0, now)); /* a first message */
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"slow\",\"seconds\":5}", 0);
	assert_int_equal(ch->slow, 5);
	assert_string_equal(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "hi", now - 4000, now), "slow_mode");
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "hi", now - 6000, now));
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_MOD, "hi", now - 1, now));
	apply(f, ch, "{\"type\":\"mod\",\"action\":\"slow\",\"seconds\":0}", 0);
	assert_null(chatsrv_room_refuse(ch, LSP_ROLE_VIEWER, "hi", now - 1, now));
}

/* A channel asked about for /presence only: needs a bus to hear others;
 * without one it is not watched. */
static void watch(void **state)
{
	fix *f = *state;
	long long now = lsp_clock_wall_ms();
	long chat = -1, edge = -1;
	chan *ch;
	assert_null(chatsrv_chan_watch(f->s, "quiet", now));
	assert_int_equal(f->s->nwatch, 0);
	ch = chatsrv_chan_get(f->s, "room");
	assert_ptr_equal(chatsrv_chan_watch(f->s, "room", now), ch);
	assert_int_equal(ch->idle_since, now);
	chatsrv_chan_counts(f->s, ch, now, &chat, &edge);
	assert_int_equal(chat, 0);
	assert_int_equal(edge, 0);
	/* another node's fresh report counts without Redis, a stale one not */
	snprintf(ch->nodes[0].node, sizeof ch->nodes[0].node, "n2");
	ch->nodes[0].chat = 4;
	ch->nodes[0].edge = 7;
	ch->nodes[0].ts = now;
	chatsrv_chan_counts(f->s, ch, now, &chat, &edge);
	assert_int_equal(chat, 4);
	assert_int_equal(edge, 7);
	chatsrv_chan_counts(f->s, ch, now + PRESENCE_FRESH_MS, &chat, &edge);
	assert_int_equal(chat, 0);
	assert_int_equal(edge, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(members, setup, teardown),
		cmocka_unit_test_setup_teardown(history, setup, teardown),
		cmocka_unit_test_setup_teardown(bans, setup, teardown),
		cmocka_unit_test_setup_teardown(words, setup, teardown),
		cmocka_unit_test_setup_teardown(slow, setup, teardown),
		cmocka_unit_test_setup_teardown(watch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
