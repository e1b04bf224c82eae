# SPDX-License-Identifier: MIT
# abi_find.cmake -- cmake -DVF=FILE -DPACKAGE_FIND_VERSION=V -P: prints
# "yes" when the package version file VF accepts V, as find_package(arbor
# V) would, else "no" (tests/install/abi_version.sh).
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)\\.([0-9]+)" _ "${PACKAGE_FIND_VERSION}")
set(PACKAGE_FIND_VERSION_MAJOR ${CMAKE_MATCH_1})
set(PACKAGE_FIND_VERSION_MINOR ${CMAKE_MATCH_2})
set(PACKAGE_FIND_VERSION_PATCH ${CMAKE_MATCH_3})
set(PACKAGE_FIND_VERSION_COUNT 3)
include(${VF})
if(PACKAGE_VERSION_COMPATIBLE)
  message("yes")
else()
  message("no")
endif()
