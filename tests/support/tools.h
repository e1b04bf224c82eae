// SPDX-License-Identifier: MIT
// tools.h -- helpers (arb_test_helper functions) that run the project's own
// programs: h_arbor and h_arborctl take "VAR=value"... "--" ARGS..., set
// the variables and exec the binary the test target was built against
// (ARBOR_BIN / ARBORCTL_BIN, compile definitions set in tests/CMakeLists.txt).
// Without the definition they exit 127.

#ifndef ARB_TEST_TOOLS_H
#define ARB_TEST_TOOLS_H

#include "arb_test.h"

static inline int
h_arbor(int argc, char **argv)
{
#ifdef ARBOR_BIN
	return arb_test_exec(ARBOR_BIN, argc, argv);
#else
	(void) argc;
	(void) argv;
	return 127;
#endif
}

static inline int
h_arborctl(int argc, char **argv)
{
#ifdef ARBORCTL_BIN
	return arb_test_exec(ARBORCTL_BIN, argc, argv);
#else
	(void) argc;
	(void) argv;
	return 127;
#endif
}

#endif // ARB_TEST_TOOLS_H
