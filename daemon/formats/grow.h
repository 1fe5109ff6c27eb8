/* grow: the doubling growth of the daemon's append-only arrays. */
#ifndef RB_GROW_H
#define RB_GROW_H

#include <stddef.h>

/* The array `v` (capacity *cap, n elements of `size` bytes in use) with room for one more: `v`
 * itself while there is room, else a larger copy (`first` elements, then twice as many) and
 * *cap updated. NULL when memory runs out; `v` is then still valid and unchanged. */
void *grow_array(void *v, size_t *cap, size_t n, size_t size, size_t first);

#endif
