/* lsp-ring — a channel's shared-memory rings.  Writer (default): MPEG-TS on
 * stdin goes unchanged to stdout, its H.264 access units and AAC frames are
 * appended to <ring dir>/lsp-ring-CHANNEL for lsp-rtc (WHEP), and with
 * --ts the TS itself, cut at frame starts, to <ring dir>/lsp-ts-CHANNEL.
 * --follow: write a channel's TS ring to stdout from its newest key frame
 * (how lsp-channel feeds each stage, so a restarted stage joins the live
 * stream).  --clear: remove a TS ring no writer holds (a new session).
 * Exit codes (man/lsp.7): 0 end of input, 1 no ring appeared (--follow),
 * 100 usage, 111 I/O failure. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/exit.h"
#include "core/key.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/opt.h"
#include "media/avlog.h"
#include "media/ring.h"
#include "media/ringtee.h"

static const char usage[] =
	"usage: lsp-ring [-h] [-V] --channel NAME [--no-pass] [--ts] [--slots N] [--size MIB]\n"
	"                [--ts-size MIB] [--keep] [--metrics [HOST]:PORT] < in.ts > out.ts\n"
	"       lsp-ring --channel NAME --follow [--next|--oldest] [--wait SEC] > out.ts\n"
	"       lsp-ring --channel NAME --clear\n"
	"  -c, --channel NAME   channel whose rings to use (<ring dir>/lsp-ring-NAME, lsp-ts-NAME)\n"
	"  -n, --no-pass        do not copy the TS to stdout (rings only)\n"
	"  -t, --ts             also write the TS ring that --follow reads\n"
	"  -s, --slots N        entries held per ring (power of two, default 4096)\n"
	"  -m, --size MIB       access-unit data held in MiB (default 16)\n"
	"      --ts-size MIB    TS bytes held in MiB (default 32)\n"
	"  -k, --keep           leave the access-unit ring in place at the end (the TS ring always\n"
	"                       stays, for followers still starting: --clear removes it)\n"
	"  -f, --follow         copy the TS ring to stdout from its newest key frame until the\n"
	"                       writer ends it\n"
	"      --next           with --follow: start at the next key frame instead\n"
	"      --oldest         with --follow: start at the oldest key frame held (a new session's\n"
	"                       first: nothing is missed however fast the input arrives)\n"
	"  -w, --wait SEC       with --follow: wait up to SEC for the ring to appear (default 10)\n"
	"      --clear          remove the channel's TS ring unless a writer holds it\n"
	"      --metrics [HOST]:PORT  writer: serve Prometheus text at /metrics (host default\n"
	"                       127.0.0.1): bytes, frames, key frames, TS entries, dropped\n"
	"environment: LSP_RING_DIR (default /dev/shm/lsp-<uid>-<hash of LSP_DATA_DIR>), LSP_DATA_DIR,\n"
	"  LSP_LOG_LEVEL\n"
	"exit: 0 end of input, 1 no ring appeared (--follow), 100 usage, 111 I/O failure\n";

static volatile int g_stop; /* set by SIGTERM/SIGINT; polled by the follower */

static void on_term(int sig)
{
	(void)sig;
	g_stop = 1;
}

/* The writer's counts as Prometheus counters (deltas since the last tick). */
struct obs {
	lsp_metrics *mx;
	const char *channel;
	lsp_ringtee_stats last;
};

static void on_tick(void *ctx, const lsp_ringtee_stats *st)
{
	struct obs *ob = ctx;
	const char *ch = ob->channel;
	lsp_metrics_add(ob->mx, "lsp_ring_bytes_in_total", (double)(st->bytes - ob->last.bytes), "channel", ch, NULL);
	lsp_metrics_add(ob->mx, "lsp_ring_frames_total", (double)(st->video - ob->last.video), "channel", ch, "kind",
			"video", NULL);
	lsp_metrics_add(ob->mx, "lsp_ring_frames_total", (double)(st->audio - ob->last.audio), "channel", ch, "kind",
			"audio", NULL);
	lsp_metrics_add(ob->mx, "lsp_ring_keyframes_total", (double)(st->keys - ob->last.keys), "channel", ch, NULL);
	lsp_metrics_add(ob->mx, "lsp_ring_ts_entries_total", (double)(st->ts_entries - ob->last.ts_entries), "channel",
			ch, NULL);
	lsp_metrics_add(ob->mx, "lsp_ring_dropped_total", (double)(st->dropped - ob->last.dropped), "channel", ch,
			NULL);
	ob->last = *st;
}

static int metrics_start(lsp_log_t *lg, struct obs *ob, const char *addr)
{
	char err[256];
	int rc;
	if (lsp_metrics_new(&ob->mx, "lsp-ring") < 0) {
		lsp_log(lg, LSP_FATAL, "out of memory", NULL);
		return LSP_EXIT_SYS;
	}
	lsp_metrics_def(ob->mx, "lsp_ring_bytes_in_total", LSP_METRIC_COUNTER, "MPEG-TS bytes read");
	lsp_metrics_def(ob->mx, "lsp_ring_frames_total", LSP_METRIC_COUNTER, "access units written, by kind");
	lsp_metrics_def(ob->mx, "lsp_ring_keyframes_total", LSP_METRIC_COUNTER, "video key frames written");
	lsp_metrics_def(ob->mx, "lsp_ring_ts_entries_total", LSP_METRIC_COUNTER, "entries written to the TS ring");
	lsp_metrics_def(ob->mx, "lsp_ring_dropped_total", LSP_METRIC_COUNTER,
			"frames not written (too large, no stream)");
	on_tick(ob, &ob->last); /* every series at 0 from the start */
	if ((rc = lsp_metrics_serve_addr(ob->mx, addr, err, sizeof err)) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to serve metrics", "reason", LSV_S(err), NULL);
		lsp_metrics_free(ob->mx);
		ob->mx = NULL;
		return rc == -EINVAL ? LSP_EXIT_USAGE : LSP_EXIT_SYS;
	}
	lsp_log(lg, LSP_INFO, "metrics listening", "port", LSV_I(lsp_metrics_port(ob->mx)), NULL);
	return LSP_EXIT_OK;
}

static int follow(lsp_log_t *lg, const char *channel, int from, long wait_s)
{
	char path[512], err[256];
	long long gaps = 0;
	struct sigaction sa;
	int rc;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((rc = lsp_ring_ts_path(channel, path, sizeof path)) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to use the ring directory", "channel", LSV_S(channel), "reason",
			LSV_S(strerror(-rc)), NULL);
		return LSP_EXIT_SYS;
	}
	rc = lsp_ringtee_follow(path, 1, from, (int)wait_s * 1000, &g_stop, &gaps, err,
				sizeof err);
	if (rc == -ENOENT) {
		lsp_log(lg, LSP_ERROR, "no ring", "channel", LSV_S(channel), "reason", LSV_S(err), NULL);
		return LSP_EXIT_NO;
	}
	lsp_log(lg, rc < 0 && rc != -EPIPE ? LSP_ERROR : LSP_INFO, "follow ended", "channel", LSV_S(channel),
		"gaps", LSV_I(gaps), "reason", LSV_S(rc < 0 ? err : ""), NULL);
	return rc < 0 && rc != -EPIPE ? LSP_EXIT_SYS : LSP_EXIT_OK;
}

static int clear(lsp_log_t *lg, const char *channel)
{
	char path[512], err[256];
	lsp_ring *w = NULL;
	int rc;
	if ((rc = lsp_ring_ts_path(channel, path, sizeof path)) < 0) {
		lsp_log(lg, LSP_FATAL, "unable to use the ring directory", "channel", LSV_S(channel), "reason",
			LSV_S(strerror(-rc)), NULL);
		return LSP_EXIT_SYS;
	}
	/* taking the writer's lock proves no writer is live; 1 slot geometry never matches, so
	 * create replaces the file, which is then removed */
	rc = lsp_ring_create(&w, path, 16, 65536, err, sizeof err);
	if (rc == -EBUSY) {
		lsp_log(lg, LSP_WARN, "ring busy", "channel", LSV_S(channel), "reason", LSV_S(err), NULL);
		return LSP_EXIT_NO;
	}
	if (rc < 0) {
		lsp_log(lg, LSP_ERROR, "unable to clear ring", "channel", LSV_S(channel), "reason", LSV_S(err), NULL);
		return LSP_EXIT_SYS;
	}
	lsp_ring_unlink(path);
	lsp_ring_close(w);
	return LSP_EXIT_OK;
}

int main(int argc, char **argv)
{
	enum { O_NEXT = 256, O_TSSIZE, O_CLEAR, O_OLDEST, O_METRICS };
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ "channel", required_argument, NULL, 'c' }, { "no-pass", no_argument, NULL, 'n' },
		{ "slots", required_argument, NULL, 's' },   { "size", required_argument, NULL, 'm' },
		{ "keep", no_argument, NULL, 'k' },	    { "ts", no_argument, NULL, 't' },
		{ "ts-size", required_argument, NULL, O_TSSIZE }, { "follow", no_argument, NULL, 'f' },
		{ "next", no_argument, NULL, O_NEXT },	    { "wait", required_argument, NULL, 'w' },
		{ "clear", no_argument, NULL, O_CLEAR },     { "oldest", no_argument, NULL, O_OLDEST },
		{ "metrics", required_argument, NULL, O_METRICS }, { NULL, 0, NULL, 0 }
	};
	const char *channel = NULL, *mx_addr = NULL;
	struct obs ob = { 0 };
	long slots = 4096, mib = 16, tsmib = 32, wait_s = 10;
	int pass = 1, keep = 0, ts = 0, fol = 0, from = LSP_FOLLOW_NEWEST, clr = 0, c, rc;
	char path[512], tspath[512], err[256];
	lsp_ring *ring = NULL, *tsring = NULL;
	lsp_ringtee_stats st;
	lsp_log_t lg;
	lsp_log_init(&lg, "lsp-ring");
	/* libav's own messages as JSON lines, only when debugging */
	lsp_avlog_route(lsp_event_log, &lg, lg.level <= LSP_DEBUG ? LSP_AVLOG_WARNINGS : LSP_AVLOG_NONE);
	while ((c = getopt_long(argc, argv, "hVc:ns:m:ktfw:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage, stdout); return LSP_EXIT_OK;
		case 'V': puts("lsp-ring " LSP_VERSION); return LSP_EXIT_OK;
		case 'c': channel = optarg; break;
		case 'n': pass = 0; break;
		case 'k': keep = 1; break;
		case 't': ts = 1; break;
		case 'f': fol = 1; break;
		case O_NEXT: from = LSP_FOLLOW_NEXT; break;
		case O_OLDEST: from = LSP_FOLLOW_OLDEST; break;
		case O_CLEAR: clr = 1; break;
		case O_METRICS: mx_addr = optarg; break;
		case 's':
			if (lsp_opt_long(optarg, 16, 1 << 20, &slots) < 0 || (slots & (slots - 1))) {
				fputs(usage, stderr);
				return LSP_EXIT_USAGE;
			}
			break;
		case 'm':
		case O_TSSIZE:
			if (lsp_opt_long(optarg, 1, 4096, c == 'm' ? &mib : &tsmib) < 0) {
				fputs(usage, stderr);
				return LSP_EXIT_USAGE;
			}
			break;
		case 'w':
			if (lsp_opt_long(optarg, 0, 3600, &wait_s) < 0) {
				fputs(usage, stderr);
				return LSP_EXIT_USAGE;
			}
			break;
		default: fputs(usage, stderr); return LSP_EXIT_USAGE;
		}
	}
	if (optind != argc || !channel || !lsp_name_valid(channel) || fol + clr > 1 ||
	    (from != LSP_FOLLOW_NEWEST && !fol) || (mx_addr && (fol || clr))) {
		fputs(usage, stderr);
		return LSP_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (fol)
		return follow(&lg, channel, from, wait_s);
	if (clr)
		return clear(&lg, channel);
	ob.channel = channel;
	if (mx_addr && (rc = metrics_start(&lg, &ob, mx_addr)) != LSP_EXIT_OK)
		return rc;
	if (lsp_ring_path(channel, path, sizeof path) < 0 ||
	    lsp_ring_create(&ring, path, (uint32_t)slots, (uint64_t)mib << 20, err, sizeof err) < 0) {
		/* the TS path matters more than the ring: keep passing it through */
		lsp_log(&lg, pass || ts ? LSP_ERROR : LSP_FATAL, "unable to create ring", "channel",
			LSV_S(channel), "reason", LSV_S(err), NULL);
		if (!pass && !ts) {
			lsp_metrics_free(ob.mx);
			return LSP_EXIT_SYS;
		}
		ring = NULL;
	} else
		lsp_log(&lg, LSP_INFO, "ring open", "channel", LSV_S(channel), "path", LSV_S(path), NULL);
	if (ts) {
		if ((rc = lsp_ring_ts_path(channel, tspath, sizeof tspath)) < 0 ||
		    (rc = lsp_ring_create(&tsring, tspath, (uint32_t)slots, (uint64_t)tsmib << 20, err,
					  sizeof err)) < 0) {
			/* the stages read this ring: without it the channel has no output */
			lsp_log(&lg, LSP_FATAL, "unable to create ring", "channel", LSV_S(channel), "reason",
				LSV_S(rc == -ENAMETOOLONG || rc == -EPERM ? strerror(-rc) : err), NULL);
			if (ring) {
				lsp_ring_close(ring);
				if (!keep)
					lsp_ring_unlink(path);
			}
			lsp_metrics_free(ob.mx);
			return LSP_EXIT_SYS;
		}
		lsp_log(&lg, LSP_INFO, "ring open", "channel", LSV_S(channel), "path", LSV_S(tspath), NULL);
	}
	rc = lsp_ringtee_run_tick(0, pass ? 1 : -1, ring, tsring, &st, ob.mx ? on_tick : NULL, &ob, err, sizeof err);
	if (ring) {
		lsp_ring_end(ring);
		lsp_ring_close(ring);
		if (!keep)
			lsp_ring_unlink(path);
	}
	if (tsring) { /* left for followers not yet started; lsp-channel clears it */
		lsp_ring_end(tsring);
		lsp_ring_close(tsring);
	}
	lsp_log(&lg, rc < 0 ? LSP_ERROR : LSP_INFO, "ring closed", "channel", LSV_S(channel), "bytes",
		LSV_I(st.bytes), "video", LSV_I(st.video), "keys", LSV_I(st.keys), "audio",
		LSV_I(st.audio), "ts_entries", LSV_I(st.ts_entries), "dropped", LSV_I(st.dropped), "reason",
		LSV_S(rc < 0 ? err : ""), NULL);
	lsp_metrics_free(ob.mx);
	return rc < 0 ? LSP_EXIT_SYS : LSP_EXIT_OK;
}
