/* health.c — the latest health message per channel; see health.h.  The
 * table is one allocation of fixed slots, owned by whoever made it; the
 * ingest's status file is read on demand into the caller's buffer. */
#include "api/health.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/subjects.h"
#include "core/key.h"

struct lsp_health {
	pthread_mutex_t mu;
	int n;
	struct {
		char ch[LSP_NAME_MAX + 1];
		char json[LSP_HEALTH_JSON_MAX];
	} e[LSP_HEALTH_CHANNELS];
};

int lsp_health_new(lsp_health **out)
{
	lsp_health *h = calloc(1, sizeof *h);
	*out = NULL;
	if (!h)
		return -ENOMEM;
	if (pthread_mutex_init(&h->mu, NULL) != 0) {
		free(h);
		return -ENOMEM;
	}
	*out = h;
	return 0;
}

void lsp_health_free(lsp_health *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void lsp_health_on_msg(void *ctx, const char *subject, const char *data, size_t len)
{
	lsp_health *h = ctx;
	char ch[LSP_NAME_MAX + 1];
	int i;
	if (!h || lsp_subject_parse(subject, ch, sizeof ch) != LSP_SUBJ_HEALTH || len >= LSP_HEALTH_JSON_MAX)
		return;
	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->n && strcmp(h->e[i].ch, ch) != 0; i++)
		;
	if (i == h->n && h->n < LSP_HEALTH_CHANNELS)
		h->n++;
	if (i < LSP_HEALTH_CHANNELS) {
		snprintf(h->e[i].ch, sizeof h->e[i].ch, "%s", ch);
		memcpy(h->e[i].json, data, len);
		h->e[i].json[len] = 0;
	}
	pthread_mutex_unlock(&h->mu);
}

int lsp_health_get(void *ctx, const char *channel, char *out, size_t cap)
{
	lsp_health *h = ctx;
	int rc = -1;
	if (!h)
		return -1;
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->n; i++)
		if (!strcmp(h->e[i].ch, channel)) {
			snprintf(out, cap, "%s", h->e[i].json);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int lsp_health_file(const char *run_dir, const char *channel, long long now, char *out, size_t cap)
{
	char path[4096];
	struct stat sb;
	ssize_t n;
	int fd, rc = -1;
	if (!run_dir || !channel || !lsp_name_valid(channel) || cap < 2 ||
	    (size_t)snprintf(path, sizeof path, "%s/%s.health.json", run_dir, channel) >= sizeof path)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (long long)sb.st_mtime + LSP_HEALTH_FILE_FRESH_S >= now &&
	    sb.st_size > 0 && (size_t)sb.st_size < cap && (n = read(fd, out, cap - 1)) == sb.st_size) {
		out[n] = 0;
		rc = 0;
	}
	close(fd);
	return rc;
}
