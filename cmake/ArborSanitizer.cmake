# SPDX-License-Identifier: MIT
# ARB_SANITIZER -> compile and link flags for every target (nng style).
if(NOT ARB_SANITIZER STREQUAL "none")
  if(NOT ARB_SANITIZER MATCHES "^(address|undefined|thread|address,undefined)$")
    message(FATAL_ERROR "ARB_SANITIZER: unknown value '${ARB_SANITIZER}'")
  endif()
  set(_arb_san "-fsanitize=${ARB_SANITIZER}" -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_compile_options(${_arb_san} -g)
  add_link_options(${_arb_san})
endif()
