/* peercap.c — connections per client address; see peercap.h.
 *
 * Linear probing over a power-of-two table at least twice the connections
 * held (so probes stay short); deletion shifts the entries after a removed
 * one back, so there are no tombstones and a lookup stops at the first
 * empty slot.  The table owns its entries; nothing else is allocated after
 * lsp_peercap_new. */
#include "core/peercap.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_MAX 48

struct ent {
	int n;                  /* connections from addr; 0 = empty slot */
	char addr[ADDR_MAX];
};

struct lsp_peercap {
	size_t mask, used;
	struct ent *t;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (h >> 29);
}

lsp_peercap *lsp_peercap_new(int max_conns)
{
	lsp_peercap *p = calloc(1, sizeof *p);
	size_t n = 64;
	while (n < (size_t)(max_conns > 0 ? max_conns : 1) * 2)
		n <<= 1;
	if (!p || !(p->t = calloc(n, sizeof *p->t))) {
		free(p);
		return NULL;
	}
	p->mask = n - 1;
	return p;
}

void lsp_peercap_free(lsp_peercap *p)
{
	if (p)
		free(p->t);
	free(p);
}

int lsp_peercap_exempt(const char *addr)
{
	return !strcmp(addr, "127.0.0.1") || !strcmp(addr, "::1") || !strcmp(addr, "::ffff:127.0.0.1");
}

/* The slot holding addr, or the empty slot where it would go. */
static size_t find(const lsp_peercap *p, const char *addr)
{
	size_t i = hash(addr) & p->mask;
	while (p->t[i].n && strcmp(p->t[i].addr, addr) != 0)
		i = (i + 1) & p->mask;
	return i;
}

int lsp_peercap_count(const lsp_peercap *p, const char *addr)
{
	return p && addr ? p->t[find(p, addr)].n : 0;
}

int lsp_peercap_add(lsp_peercap *p, const char *addr, int cap)
{
	size_t i;
	if (!p || !addr)
		return 0;
	i = find(p, addr);
	if (p->t[i].n) {
		if (cap > 0 && p->t[i].n >= cap && !lsp_peercap_exempt(addr))
			return -EUSERS;
		return ++p->t[i].n;
	}
	if (p->used + 1 > (p->mask + 1) / 2 + (p->mask + 1) / 4)
		return -ENOSPC; /* over 3/4 full: the server holds more than it was sized for */
	snprintf(p->t[i].addr, sizeof p->t[i].addr, "%s", addr);
	p->t[i].n = 1;
	p->used++;
	return 1;
}

void lsp_peercap_del(lsp_peercap *p, const char *addr)
{
	size_t i, j;
	if (!p || !addr)
		return;
	i = find(p, addr);
	if (!p->t[i].n || --p->t[i].n > 0)
		return;
	p->used--;
	/* shift back the run after i so every entry stays reachable from its home */
	for (j = (i + 1) & p->mask; p->t[j].n; j = (j + 1) & p->mask) {
		size_t home = hash(p->t[j].addr) & p->mask;
		/* entry j may move to i when its home is not within (i, j] (cyclically) */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			p->t[i] = p->t[j];
			p->t[j].n = 0;
			i = j;
		}
	}
}
