/* log: one line per message on stderr; "<N>" prefixes when $JOURNAL_STREAM names our stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static enum log_level current_level = LOG_LEVEL_INFO;
static bool to_journal;

/* systemd sets JOURNAL_STREAM=dev:ino of the stream; only prefix when it is really our stderr. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long dev, ino;
    struct stat st;
    if (js == NULL || sscanf(js, "%lu:%lu", &dev, &ino) != 2)
        return false;
    if (fstat(2, &st) != 0)
        return false;
    return (unsigned long)st.st_dev == dev && (unsigned long)st.st_ino == ino;
}

void log_init(enum log_level level)
{
    current_level = level;
    to_journal = stderr_is_journal();
}

void log_set_level(enum log_level level)
{
    current_level = level;
}

bool log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"error", LOG_LEVEL_ERROR},
                 {"warn", LOG_LEVEL_WARN},
                 {"info", LOG_LEVEL_INFO},
                 {"debug", LOG_LEVEL_DEBUG}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return true;
        }
    }
    return false;
}

bool log_enabled(enum log_level level)
{
    return level <= current_level;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    static const char *const tags[8] = {"", "", "", "error", "warn", "", "info", "debug"};
    char line[2048];
    int n = 0;
    va_list ap;

    if (!log_enabled(level))
        return;
    if (to_journal) {
        n = snprintf(line, sizeof line, "<%d>", (int)level);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ %s ", ts.tv_nsec / 1000000,
                      tags[level & 7]);
    }
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
