/* notify: one connectionless AF_UNIX datagram per message; abstract socket names start with '@'. */
#include "notify.h"

#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addr_len;

void notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t n;
    if (path == NULL || (path[0] != '/' && path[0] != '@'))
        return;
    n = strlen(path);
    if (n >= sizeof notify_addr.sun_path) {
        log_warn("NOTIFY_SOCKET is too long; not notifying systemd");
        return;
    }
    memset(&notify_addr, 0, sizeof notify_addr);
    notify_addr.sun_family = AF_UNIX;
    memcpy(notify_addr.sun_path, path, n);
    if (path[0] == '@')
        notify_addr.sun_path[0] = '\0';
    notify_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (notify_fd < 0)
        log_warn("cannot open the notify socket: %s", strerror(errno));
}

void notify_close(void)
{
    if (notify_fd >= 0)
        close(notify_fd);
    notify_fd = -1;
}

bool notify_enabled(void)
{
    return notify_fd >= 0;
}

void notify_send(const char *message)
{
    if (notify_fd < 0)
        return;
    if (sendto(notify_fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&notify_addr,
               notify_addr_len) < 0)
        log_debug("notify: sendto failed: %s", strerror(errno));
}

static void send_with_status(const char *first, const char *status)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s%sSTATUS=%s", first, first[0] ? "\n" : "", status);
    notify_send(msg);
}

void notify_ready(const char *status)
{
    send_with_status("READY=1", status);
}

void notify_status(const char *status)
{
    send_with_status("", status);
}

/* systemd wants MONOTONIC_USEC with RELOADING=1 (since v253; older ones ignore it). */
void notify_reloading(void)
{
    char msg[96];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(msg);
}

void notify_stopping(void)
{
    notify_send("STOPPING=1");
}

void notify_watchdog(void)
{
    notify_send("WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (usec == NULL)
        return 0;
    if (pid != NULL && strtol(pid, NULL, 10) != (long)getpid())
        return 0;
    return strtoull(usec, NULL, 10);
}
