/* notify: the sd_notify protocol spoken directly over $NOTIFY_SOCKET (no libsystemd). */
#ifndef RB_NOTIFY_H
#define RB_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Opens the socket named by $NOTIFY_SOCKET, if any; every call below is a no-op without one. */
void notify_init(void);
void notify_close(void);
bool notify_enabled(void);
/* Sends one datagram of newline-separated assignments, e.g. "READY=1\nSTATUS=serving". */
void notify_send(const char *message);
void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
/* The watchdog interval from $WATCHDOG_USEC (for this process), or 0 when there is none. */
uint64_t notify_watchdog_usec(void);

#endif
