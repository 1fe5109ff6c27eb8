/* utf8: the one strict UTF-8 decoder the parsers and writers share. */
#ifndef RB_UTF8_H
#define RB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one UTF-8 sequence at s (n > 0 bytes left) into *cp and returns its length, or 0 when
 * the bytes are not well-formed UTF-8 (overlong forms, surrogates and values above U+10FFFF
 * included). */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

#endif
