/* peercap.h — connections counted per client address, so one address
 * cannot take every slot of a server (what nginx's limit_conn and
 * haproxy's conn_cur do).
 *
 * A fixed open-addressed table keyed by the address text without the port
 * ("192.0.2.7", "2001:db8::1"); sized at creation for the most connections
 * the server holds, so it never fills before the server does.  The loopback
 * addresses 127.0.0.1 and ::1 are never capped: they are this machine's own
 * proxies and tools (lsp-edge's front door forwards from there).
 *
 * lsp_peercap_add returns the address's new count, -EUSERS when the
 * address already holds cap connections (nothing counted), -ENOSPC when
 * the table is full (nothing counted); cap <= 0 means no cap.
 * lsp_peercap_del undoes one add; an address never added is ignored. */
#ifndef LSP_PEERCAP_H
#define LSP_PEERCAP_H

typedef struct lsp_peercap lsp_peercap;

/* A table for up to max_conns connections, or NULL when out of memory. */
lsp_peercap *lsp_peercap_new(int max_conns);
void lsp_peercap_free(lsp_peercap *p);

int lsp_peercap_add(lsp_peercap *p, const char *addr, int cap);
void lsp_peercap_del(lsp_peercap *p, const char *addr);
int lsp_peercap_count(const lsp_peercap *p, const char *addr);
/* 1 for the addresses never capped (127.0.0.1, ::1). */
int lsp_peercap_exempt(const char *addr);

#endif
