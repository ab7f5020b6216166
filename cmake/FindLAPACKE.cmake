# FindLAPACKE: LAPACKE (LAPACK's C interface) as the imported target LAPACKE::LAPACKE.
#
# Why a find module: Debian's liblapacke-dev (and most distributions' packages) ship no CMake package config, and
# CMake has no FindLAPACKE. hessa's exported static targets name LAPACKE::LAPACKE, so hessaConfig.cmake installs
# this module beside itself and find_dependency()s it: a consumer finds the same library the way hessa's build did,
# instead of inheriting an absolute path baked in at build time.
#
# Result: LAPACKE_FOUND, LAPACKE_LIBRARY, LAPACKE_INCLUDE_DIR and the target LAPACKE::LAPACKE (which links
# LAPACK::LAPACK when that target exists). Hints: LAPACKE_ROOT, CMAKE_PREFIX_PATH.
find_library(LAPACKE_LIBRARY NAMES lapacke)
find_path(LAPACKE_INCLUDE_DIR NAMES lapacke.h PATH_SUFFIXES openblas)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LAPACKE REQUIRED_VARS LAPACKE_LIBRARY LAPACKE_INCLUDE_DIR)
mark_as_advanced(LAPACKE_LIBRARY LAPACKE_INCLUDE_DIR)

if(LAPACKE_FOUND AND NOT TARGET LAPACKE::LAPACKE)
  add_library(LAPACKE::LAPACKE UNKNOWN IMPORTED)
  set_target_properties(LAPACKE::LAPACKE PROPERTIES IMPORTED_LOCATION "${LAPACKE_LIBRARY}"
                                                    INTERFACE_INCLUDE_DIRECTORIES "${LAPACKE_INCLUDE_DIR}")
  if(TARGET LAPACK::LAPACK)
    set_property(TARGET LAPACKE::LAPACKE APPEND PROPERTY INTERFACE_LINK_LIBRARIES LAPACK::LAPACK)
  endif()
endif()
