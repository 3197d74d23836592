/* ingest_ts.c — an MPEG-TS publisher (SRT: lib/srtin hands over a plain
 * fd and the stream key from the streamid).  The key is checked at once;
 * the TS goes to the output unchanged while lib/tsscan watches it for the
 * .live codecs and the .health numbers; media_timeout_s without bytes ends
 * the publish.  The serve function owns its session and the scan. */
#include "ingest/ingest_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

int ingest_serve_ts(const lsp_ingest_cfg *cfg, int fd, int stopfd, const char *key, char *err, size_t errcap)
{
	struct sess s;
	lsp_tsscan scan;
	uint8_t buf[16384];
	const char *reason = NULL;
	int result, rc;
	int64_t deadline;

	ingest_sess_init(&s, cfg, fd, "srt");
	lsp_tsscan_init(&scan);
	s.scan = &scan;
	result = ingest_start_publish(&s, key ? key : "");
	if (result != 0) {
		if (result < 0)
			snprintf(err, errcap, "%s", s.err);
		goto out;
	}
	deadline = lsp_clock_mono_ms() + cfg->media_timeout_s * 1000LL;
	for (;;) {
		struct pollfd pf[3] = { { fd, POLLIN, 0 }, { stopfd, POLLIN, 0 }, { s.kickfd[0], POLLIN, 0 } };
		int64_t now = lsp_clock_mono_ms(), tmo = deadline - now;
		ssize_t n;
		if (s.next_health - now < tmo)
			tmo = s.next_health - now;
		if (tmo < 0)
			tmo = 0;
		rc = poll(pf, 3, (int)tmo);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errcap, "poll: %s", strerror(errno));
			result = -EIO;
			reason = "poll failed";
			break;
		}
		if ((reason = ingest_control(&s, pf)))
			break;
		now = lsp_clock_mono_ms();
		ingest_health_tick(&s, now);
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (now >= deadline) {
				reason = "timeout";
				ingest_note(&s, LSP_WARN, "timeout", "no media");
				break;
			}
			continue;
		}
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			reason = n == 0 ? "disconnect" : "read error";
			break;
		}
		s.bytes_in += n;
		deadline = now + cfg->media_timeout_s * 1000LL;
		lsp_tsscan_feed(&scan, buf, (size_t)n);
		if (!s.live_sent && scan.vpid >= 0 && scan.apid >= 0)
			ingest_send_live(&s);
		for (ssize_t o = 0; o < n;) {
			ssize_t w = write(s.outfd, buf + o, (size_t)(n - o));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				reason = errno == EPIPE ? "downstream closed" : "output error";
				if (errno != EPIPE) {
					snprintf(s.err, sizeof s.err, "output: %s", strerror(errno));
					ingest_note(&s, LSP_ERROR, "output failed", s.err);
				}
				goto out;
			}
			o += w;
		}
	}
out:
	ingest_sess_end(&s, reason);
	return result;
}
