// SPDX-License-Identifier: MIT
// reading_test.c -- placeholder
#include "arb_test.h"
static void test_nothing(void **state) { (void) state; }
int main(void) { const struct CMUnitTest tests[] = { cmocka_unit_test(test_nothing) }; return cmocka_run_group_tests_name("unit.collector.reading", tests, NULL, NULL); }
