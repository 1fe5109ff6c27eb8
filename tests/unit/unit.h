/* What every cmocka unit test needs: cmocka (after the headers it wants first), ARRAY_LEN, and
 * UNIT_MAIN, the main() that runs the file's tests, so no test file repeats that boilerplate. */
#ifndef RB_TESTS_UNIT_H
#define RB_TESTS_UNIT_H

// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The seed of a random test: env_name's value when that is set (to reproduce a printed run), else
 * the time. Prints "test: ENV_NAME=seed" and seeds rand() with it. */
static inline void unit_seed(const char *test, const char *env_name)
{
    unsigned seed = (unsigned)time(NULL);
    const char *env = getenv(env_name);
    if (env != NULL)
        seed = (unsigned)strtoul(env, NULL, 10);
    printf("%s: %s=%u\n", test, env_name, seed);
    srand(seed);
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* UNIT_MAIN({cmocka_unit_test(a), cmocka_unit_test(b), ...}); runs those tests as one group.
 * The trailing declaration lets the use end in a semicolon like any other declaration. */
#define UNIT_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest unit_tests_[] = __VA_ARGS__;                                       \
        return cmocka_run_group_tests(unit_tests_, NULL, NULL);                                    \
    }                                                                                              \
    extern int unit_main_defined_

#endif
