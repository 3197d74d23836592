/* averr.h — a libav error code as the caller's message: "what: reason". */
#ifndef LSP_AVERR_H
#define LSP_AVERR_H
#include <stddef.h>

/* Fill err with "what: <av_strerror(rc)>" and return rc unchanged. */
int lsp_averr(char *err, size_t errcap, const char *what, int rc);

#endif
