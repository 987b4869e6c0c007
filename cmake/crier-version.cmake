# crier_read_version(<out-var>): the version from include/crier/version.hpp, the only place it lives.
function(crier_read_version out)
  file(STRINGS "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../include/crier/version.hpp" _lines
       REGEX "#define CRIER_VERSION_(MAJOR|MINOR|PATCH) ")
  foreach(_part MAJOR MINOR PATCH)
    if(NOT _lines MATCHES "CRIER_VERSION_${_part} ([0-9]+)")
      message(FATAL_ERROR "crier: cannot read CRIER_VERSION_${_part} from version.hpp")
    endif()
    list(APPEND _version ${CMAKE_MATCH_1})
  endforeach()
  list(JOIN _version "." _version)
  set(${out} "${_version}" PARENT_SCOPE)
endfunction()
