/* fsio.h — atomic publication of files that other processes read
 * (playlists, media parts, state).
 *
 * lsp_fsio_publish() writes the bytes to a dot-prefixed temporary name in
 * the same directory (".NAME.tmp") and renames it over NAME, so a reader
 * sees either the old file or the whole new one, never a torn write.  With
 * LSP_FSIO_SYNC the data is fsync'ed before the rename.  On failure the
 * temporary file is removed and NAME is left as it was.
 *
 * Functions return 0 or a negative errno value and fill err; they never
 * print or exit. */
#ifndef LSP_FSIO_H
#define LSP_FSIO_H
#include <stddef.h>

enum { LSP_FSIO_SYNC = 1 };

/* Publish len bytes of buf as dir/name (atomically, see above). */
int lsp_fsio_publish(const char *dir, const char *name, const void *buf, size_t len, int flags,
		     char *err, size_t errcap);

/* Create dir and its missing parents (mode 0755); an existing directory is
 * fine.  Fails with -ENOTDIR etc. if a component is not a directory. */
int lsp_fsio_mkdirs(const char *dir, char *err, size_t errcap);

/* Remove dir/name; a missing file is not an error. */
int lsp_fsio_unlink(const char *dir, const char *name, char *err, size_t errcap);

/* Read field key of dir/name, a file of "key value" lines (a state file
 * published with lsp_fsio_publish), into out (NUL-terminated).
 * 0, -ENOENT (no file or no such key), -ENAMETOOLONG, -ENOSPC. */
int lsp_fsio_kv_get(const char *dir, const char *name, const char *key, char *out, size_t cap);

#endif
