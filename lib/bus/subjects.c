/* subjects.c — NATS subjects built and parsed in one place; see subjects.h. */
#include "bus/subjects.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/key.h"

static const struct {
	lsp_subj kind;
	const char *pre, *post;
} form[] = {
	{ LSP_SUBJ_LIVE, "lsp.stream.", ".live" },     { LSP_SUBJ_HEALTH, "lsp.stream.", ".health" },
	{ LSP_SUBJ_ENDED, "lsp.stream.", ".ended" },   { LSP_SUBJ_CHAT, "lsp.chat.", "" },
	{ LSP_SUBJ_PRESENCE, "lsp.presence.", "" },    { LSP_SUBJ_TIP, "lsp.tip.", "" },
	{ LSP_SUBJ_KICK, "lsp.ctl.", ".kick" },
};
#define NFORM (sizeof form / sizeof form[0])

int lsp_subject(char *out, size_t cap, lsp_subj kind, const char *channel)
{
	int n;
	if (!channel || !lsp_name_valid(channel))
		return -EINVAL;
	for (size_t i = 0; i < NFORM; i++)
		if (form[i].kind == kind) {
			n = snprintf(out, cap, "%s%s%s", form[i].pre, channel, form[i].post);
			return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
		}
	return -EINVAL;
}

int lsp_subject_stream(char *out, size_t cap, const char *channel, const char *what)
{
	lsp_subj k = !strcmp(what, "live") ? LSP_SUBJ_LIVE : !strcmp(what, "health") ? LSP_SUBJ_HEALTH
		   : !strcmp(what, "ended") ? LSP_SUBJ_ENDED : LSP_SUBJ_NONE;
	return k == LSP_SUBJ_NONE ? -EINVAL : lsp_subject(out, cap, k, channel);
}

lsp_subj lsp_subject_parse(const char *subject, char *channel, size_t cap)
{
	if (cap)
		channel[0] = 0;
	if (!subject)
		return LSP_SUBJ_NONE;
	for (size_t i = 0; i < NFORM; i++) {
		size_t pl = strlen(form[i].pre), sl = strlen(form[i].post), tl = strlen(subject), n;
		if (tl <= pl + sl || strncmp(subject, form[i].pre, pl) != 0 || strcmp(subject + tl - sl, form[i].post) != 0)
			continue;
		n = tl - pl - sl;
		if (n > LSP_NAME_MAX || n + 1 > cap)
			continue;
		memcpy(channel, subject + pl, n);
		channel[n] = 0;
		if (lsp_name_valid(channel))
			return form[i].kind;
		channel[0] = 0;
	}
	return LSP_SUBJ_NONE;
}
