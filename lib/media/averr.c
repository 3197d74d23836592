/* averr.c — see averr.h.  No state. */
#include "media/averr.h"

#include <stdio.h>

#include <libavutil/error.h>

int lsp_averr(char *err, size_t errcap, const char *what, int rc)
{
	char e[AV_ERROR_MAX_STRING_SIZE] = "";
	av_strerror(rc, e, sizeof e);
	snprintf(err, errcap, "%s: %s", what, e);
	return rc;
}
