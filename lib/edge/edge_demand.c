/* edge_demand.c — tell lsp-transcode which rungs viewers ask for (its
 * --on-demand mode, lib/media/transcode_demand.c).
 *
 * A request for /hls/CH/RUNG/… served from this box's files touches
 * <ring dir>/lsp-want-CH~RUNG (lsp_ring_want, media/ring.h), at most once a
 * second per rung: a small table of the rungs touched last remembers when.
 * Only a rung whose directory exists is touched, so a request for a name
 * that does not exist creates nothing.  A relay edge touches nothing: its
 * requests reach the origin edge, which does.  Without a usable ring
 * directory (another user's, say) demand is off: every rung then runs only
 * when lsp-transcode is not --on-demand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/key.h"
#include "edge/edge_int.h"
#include "media/ring.h"

#define DEMAND_SLOTS 256
#define DEMAND_EVERY_MS 1000

struct edge_demand {
	struct {
		char key[2 * LSP_NAME_MAX + 2];
		int64_t at;
	} slot[DEMAND_SLOTS];
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

void edge_demand_hit(lsp_edge *e, const char *rel)
{
	char key[2 * LSP_NAME_MAX + 2];
	const char *a = strchr(rel, '/'), *b;
	size_t cl, rl;
	struct stat sb;
	unsigned i;
	if (!a || !(b = strchr(a + 1, '/')))
		return; /* not CH/RUNG/file */
	cl = (size_t)(a - rel);
	rl = (size_t)(b - a - 1);
	if (cl == 0 || cl > LSP_NAME_MAX || rl == 0 || rl > LSP_NAME_MAX)
		return;
	memcpy(key, rel, cl + 1 + rl);
	key[cl + 1 + rl] = 0;
	key[cl] = 0;
	if (!lsp_name_valid(key) || !lsp_name_valid(key + cl + 1))
		return;
	if (!e->demand && !(e->demand = calloc(1, sizeof *e->demand)))
		return;
	key[cl] = '/';
	i = hash(key) % DEMAND_SLOTS;
	if (!strcmp(e->demand->slot[i].key, key) && e->now - e->demand->slot[i].at < DEMAND_EVERY_MS)
		return;
	if (fstatat(e->hls_fd, key, &sb, 0) != 0 || !S_ISDIR(sb.st_mode))
		return;
	snprintf(e->demand->slot[i].key, sizeof e->demand->slot[i].key, "%s", key);
	e->demand->slot[i].at = e->now;
	key[cl] = '~';
	lsp_ring_want(key); /* no usable ring directory: demand is off, nothing to report */
}

void edge_demand_free(lsp_edge *e)
{
	free(e->demand);
	e->demand = NULL;
}
