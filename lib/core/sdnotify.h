/* sdnotify.h — service readiness for systemd (Type=notify) without
 * linking libsystemd: one datagram to $NOTIFY_SOCKET, as the service
 * manager's notify protocol describes.
 *
 *   lsp_sdnotify("READY=1");            after the listening sockets are up
 *   lsp_sdnotify("STOPPING=1");         when a stop signal arrived
 *   lsp_sdnotify("STATUS=3 channels");  free text for systemctl status
 *
 * Returns 1 when the message was sent, 0 when no service manager asked for
 * it (NOTIFY_SOCKET unset), negative errno on failure.  Never prints. */
#ifndef LSP_SDNOTIFY_H
#define LSP_SDNOTIFY_H

int lsp_sdnotify(const char *state);

#endif
