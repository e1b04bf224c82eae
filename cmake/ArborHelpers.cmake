# SPDX-License-Identifier: MIT
# arb_warnings(target): the project's warning set, PRIVATE to target.
function(arb_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow
    -Wstrict-prototypes -Wmissing-prototypes)
  if(ARB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# arb_test(NAME <ctest name> SOURCE <file> [LABEL unit|integration]
#          [TIMEOUT s]): one cmocka executable linked to arbor_testing.
function(arb_test)
  cmake_parse_arguments(T "" "NAME;SOURCE;LABEL;TIMEOUT" "" ${ARGN})
  string(REPLACE "." "_" exe "test_${T_NAME}")
  add_executable(${exe} ${T_SOURCE})
  arb_warnings(${exe})
  target_link_libraries(${exe} PRIVATE arb_test_support arbor_testing
    PkgConfig::CMOCKA)
  add_test(NAME ${T_NAME} COMMAND ${exe})
  arb_scale_test_timeouts()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}"
    TIMEOUT ${T_TIMEOUT})
endfunction()

# arb_example(name sources...): an example program.
function(arb_example name)
  add_executable(${name} ${ARGN})
  arb_warnings(${name})
  target_link_libraries(${name} PRIVATE arbor::arbor)
endfunction()

# Under a sanitizer every test runs slower (ASan ~2x, TSan 5-10x, and CI
# runs the TSan stage at -j1), so the TIMEOUT each test declares for a
# normal build is multiplied by ARB_TEST_TIMEOUT_SCALE: 2 for
# address/undefined, 3 for thread, 1 otherwise (a cache variable).
if(ARB_SANITIZER MATCHES "thread")
  set(_arb_scale_default 3)
elseif(ARB_SANITIZER MATCHES "address|undefined")
  set(_arb_scale_default 2)
else()
  set(_arb_scale_default 1)
endif()
set(ARB_TEST_TIMEOUT_SCALE ${_arb_scale_default} CACHE STRING
  "Factor applied to every test's TIMEOUT (default from ARB_SANITIZER)")

# arb_scale_test_timeouts(): scales the TIMEOUT of every test of the
# calling directory, once, when that directory's CMakeLists.txt ends
# (a deferred call), so tests added after the call count too.  arb_test()
# calls it; a CMakeLists.txt that adds tests with add_test() calls it once.
function(arb_scale_test_timeouts)
  get_property(done DIRECTORY PROPERTY ARB_TIMEOUTS_SCALED)
  if(NOT done AND NOT ARB_TEST_TIMEOUT_SCALE EQUAL 1)
    set_property(DIRECTORY PROPERTY ARB_TIMEOUTS_SCALED TRUE)
    cmake_language(DEFER CALL _arb_scale_dir_timeouts)
  endif()
endfunction()

function(_arb_scale_dir_timeouts)
  get_property(tests DIRECTORY PROPERTY TESTS)
  foreach(t ${tests})
    get_test_property(${t} TIMEOUT tmo)
    if(tmo)
      math(EXPR tmo "${tmo} * ${ARB_TEST_TIMEOUT_SCALE}")
      set_tests_properties(${t} PROPERTIES TIMEOUT ${tmo})
    endif()
  endforeach()
endfunction()
