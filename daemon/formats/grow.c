#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

/* Shared by the CSV parser, the SIE writer and the accrual run's delta list. */
void *grow_array(void *v, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return v;
    size_t want = *cap ? *cap * 2 : first;
    if (want < *cap || want > SIZE_MAX / size)
        return NULL;
    void *p = realloc(v, want * size);
    if (p != NULL)
        *cap = want;
    return p;
}
