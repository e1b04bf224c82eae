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
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABEL}"
    TIMEOUT ${T_TIMEOUT})
endfunction()

# arb_example(name sources...): an example program.
function(arb_example name)
  add_executable(${name} ${ARGN})
  arb_warnings(${name})
  target_link_libraries(${name} PRIVATE arbor::arbor)
endfunction()
