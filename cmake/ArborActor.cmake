# SPDX-License-Identifier: MIT
# arbor_add_actor(NAME SOURCES src... [LIBRARIES lib...] [INSTALL_DIR dir])
#
# Builds the actor module NAME.so: a shared object of actor types that
# the arbor program (or any program calling arb_actor_main) loads when a
# tree names one of its types, or names the file under `plugins:`
# (docs/actors.md).  Its sources define arbor_plugin_init, which
# registers the types; only that symbol is exported.  LIBRARIES are
# linked PRIVATE besides arbor::arbor.  The target is NAME.
#
# Installed into INSTALL_DIR (default <libdir>/arbor/actors, where arbor
# looks for the types it is asked for by name) when the calling project
# is the top-level one, or is arbor itself (actors/).  So an example
# with a project() of its own (examples/plugin) is not installed from
# arbor's tree; examples/collector has none, and its two modules are
# installed with arbor's (its README, "Under systemd").  This file is
# part of the installed CMake package: find_package(arbor) makes the
# function available.
include_guard(GLOBAL)
include(GNUInstallDirs)

function(arbor_add_actor name)
  cmake_parse_arguments(A "" "INSTALL_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT A_SOURCES)
    message(FATAL_ERROR "arbor_add_actor(${name}): SOURCES is required")
  endif()
  if(NOT name MATCHES "^[a-z0-9][a-z0-9_-]*$")
    message(FATAL_ERROR
      "arbor_add_actor(${name}): module names are [a-z0-9_-] (the type "
      "name a tree file uses)")
  endif()
  add_library(${name} MODULE ${A_SOURCES})
  # NAME.so, no lib prefix: arbor finds the module of type T as T.so.
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
    C_STANDARD 11 C_VISIBILITY_PRESET hidden)
  target_link_libraries(${name} PRIVATE arbor::arbor ${A_LIBRARIES})
  if(DEFINED ARBOR_ACTOR_OUTPUT_DIR)
    # arbor's own actors: beside the library, where it looks for them.
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY ${ARBOR_ACTOR_OUTPUT_DIR})
  endif()
  if(NOT A_INSTALL_DIR)
    set(A_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/arbor/actors)
  endif()
  if(PROJECT_IS_TOP_LEVEL OR DEFINED ARBOR_ACTOR_OUTPUT_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION ${A_INSTALL_DIR})
  endif()
endfunction()
