/* strbuf: a growable byte string for building SQL array literals, conninfo strings and replies. */
#ifndef RB_STRBUF_H
#define RB_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *p; /* NUL-terminated once anything was added */
    size_t len, cap;
    bool oom; /* sticky: an allocation failed; the content is incomplete */
};

void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_str(struct strbuf *b, const char *s);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The content ("" when empty); valid until the next change. */
const char *strbuf_cstr(const struct strbuf *b);
void strbuf_reset(struct strbuf *b);
void strbuf_free(struct strbuf *b);

#endif
