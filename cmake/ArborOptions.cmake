# SPDX-License-Identifier: MIT
# Every ARB_* option, nothing else.
option(ARB_BUILD_TESTS "Build the cmocka test suite" ${PROJECT_IS_TOP_LEVEL})
option(ARB_BUILD_ACTORS "Build the reusable actors under actors/" ON)
option(ARB_ACTOR_MQTT "Build the mqtt actor (needs libmosquitto, libssl)" ON)
option(ARB_BUILD_EXAMPLES "Build the examples" ON)
option(ARB_BUILD_BENCH "Build arbor-bench (not run by ctest)" OFF)
option(ARB_WERROR "Treat warnings as errors" OFF)
set(ARB_SANITIZER "none" CACHE STRING
  "Sanitizer: none|address|undefined|thread|address,undefined")
set_property(CACHE ARB_SANITIZER PROPERTY STRINGS
  none address undefined thread "address,undefined")
