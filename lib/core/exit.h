/* exit.h — the exit codes every lsp tool uses (documented in man/lsp.7).
 * The table only grows; a code once given never changes meaning. */
#ifndef LSP_EXIT_H
#define LSP_EXIT_H
enum {
	LSP_EXIT_OK = 0,      /* done */
	LSP_EXIT_NO = 1,      /* an expected "no": refused, not found, not live, timed out */
	LSP_EXIT_USAGE = 100, /* bad usage or bad input from the operator */
	LSP_EXIT_SYS = 111,   /* system or I/O failure; a supervisor may retry */
};
#endif
