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
