# Helpers for crier's own targets. Nothing here touches dependencies' targets or global flags.

set(_crier_gnu_warnings -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Woverloaded-virtual -Wimplicit-fallthrough -Wcast-qual -Wformat=2)

# crier_enable_warnings(<target>): crier's warnings, and -Werror in developer mode.
function(crier_enable_warnings t)
  get_target_property(_type ${t} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  target_compile_options(${t} PRIVATE
    "$<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:${_crier_gnu_warnings}>"
    "$<$<CXX_COMPILER_ID:MSVC>:/W4;/permissive-;/utf-8>")
  if(CRIER_DEVELOPER_MODE)
    # A property, not CMAKE_COMPILE_WARNING_AS_ERROR: fetched dependencies never get -Werror,
    # and packagers can still pass --compile-no-warning-as-error.
    set_property(TARGET ${t} PROPERTY COMPILE_WARNING_AS_ERROR ON)
  endif()
endfunction()

# crier_component_wanted(<NAME> <out-var>): CRIER_WITH_<NAME> as AUTO, ON or OFF. CMake's truth
# values count as ON/OFF (vcpkg_check_features passes ON/OFF; people type TRUE or 1 too).
function(crier_component_wanted name out)
  string(TOUPPER "${CRIER_WITH_${name}}" _value)
  if(_value MATCHES "^(AUTO|ON|OFF)$")
    set(${out} ${_value} PARENT_SCOPE)
  elseif(_value MATCHES "^(YES|TRUE|Y|1)$")
    set(${out} ON PARENT_SCOPE)
  elseif(_value MATCHES "^(NO|FALSE|N|0)$")
    set(${out} OFF PARENT_SCOPE)
  else()
    message(FATAL_ERROR "crier: CRIER_WITH_${name} is '${CRIER_WITH_${name}}'; use AUTO, ON or OFF")
  endif()
endfunction()
