# Helpers for crier's own targets. Nothing here touches dependencies' targets or global flags.

set(_crier_gnu_warnings -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Woverloaded-virtual -Wimplicit-fallthrough -Wcast-qual -Wformat=2)

# crier_enable_warnings(<target>): crier's warnings, and -Werror in developer mode.
function(crier_enable_warnings t)
  get_target_property(_type ${t} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  # -Wno-tsan: under -fsanitize=thread GCC 12 warns that TSan does not model the
  # atomic_thread_fence Asio runs around every handler; Asio's queues also synchronise through
  # mutexes, which TSan does see, so the warning is noise (and fatal with -Werror).
  target_compile_options(${t} PRIVATE
    "$<$<CXX_COMPILER_ID:GNU,Clang,AppleClang>:${_crier_gnu_warnings}>"
    "$<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>"
    "$<$<CXX_COMPILER_ID:MSVC>:/W4;/permissive-;/utf-8>")
  if(CRIER_DEVELOPER_MODE)
    # A property, not CMAKE_COMPILE_WARNING_AS_ERROR: fetched dependencies never get -Werror,
    # and packagers can still pass --compile-no-warning-as-error.
    set_property(TARGET ${t} PROPERTY COMPILE_WARNING_AS_ERROR ON)
  endif()
endfunction()
