# crier_provide_asio(): defines the IMPORTED target asio::asio for standalone Asio >= 1.22.
# Asio ships no CMake package upstream; vcpkg and Conan define asio::asio themselves, in which case
# this does nothing. Installed next to crierConfig.cmake so consumers resolve Asio the same way.
function(crier_provide_asio)
  cmake_parse_arguments(arg "" "" "HINTS" ${ARGN})
  if(TARGET asio::asio)
    return()
  endif()
  find_package(asio CONFIG QUIET)
  if(TARGET asio::asio)
    return()
  endif()
  find_path(CRIER_ASIO_INCLUDE_DIR asio/version.hpp HINTS ${arg_HINTS})
  if(NOT CRIER_ASIO_INCLUDE_DIR)
    return()
  endif()
  file(STRINGS "${CRIER_ASIO_INCLUDE_DIR}/asio/version.hpp" _line REGEX "define ASIO_VERSION [0-9]+")
  string(REGEX MATCH "([0-9]+)" _ "${_line}")
  if(CMAKE_MATCH_1 LESS 102200)
    message(STATUS "crier: ignoring Asio ${CMAKE_MATCH_1} in ${CRIER_ASIO_INCLUDE_DIR} (need >= 1.22)")
    unset(CRIER_ASIO_INCLUDE_DIR CACHE)
    return()
  endif()
  find_package(Threads REQUIRED)
  add_library(asio::asio INTERFACE IMPORTED GLOBAL)
  set_target_properties(asio::asio PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${CRIER_ASIO_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endfunction()

# _crier_provide(<target> <package> <pkg-config module> <prefix>): makes sure <target> exists.
# The dependency's own CMake package (upstream, vcpkg, Conan) defines it; when there is none, the
# target is made from the dependency's pkg-config module (an IMPORTED_TARGET, so its Cflags and
# libraries come along).
function(_crier_provide target package module prefix)
  if(TARGET ${target})
    return()
  endif()
  find_package(${package} CONFIG QUIET)
  if(TARGET ${target})
    return()
  endif()
  find_package(PkgConfig QUIET)
  if(NOT PKG_CONFIG_FOUND)
    return()
  endif()
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(TARGET PkgConfig::${prefix})
    add_library(${target} ALIAS PkgConfig::${prefix})
  endif()
endfunction()

# crier_provide_httplib(): the target httplib::httplib for cpp-httplib. Debian ships a compiled
# library with only a pkg-config file (cpp-httplib.pc, whose Cflags carry
# CPPHTTPLIB_OPENSSL_SUPPORT and friends, which must match the library). Installed next to
# crierConfig.cmake so crier::httplib's users find cpp-httplib the same way.
function(crier_provide_httplib)
  _crier_provide(httplib::httplib httplib cpp-httplib CRIER_CPP_HTTPLIB)
endfunction()

# crier_provide_hiredis(): the target hiredis::hiredis for hiredis >= 0.14. Its own CMake package
# exists from hiredis 1.0; Debian 12 ships 0.14 with only a pkg-config file. Installed next to
# crierConfig.cmake so crier::redis's users find hiredis the same way.
function(crier_provide_hiredis)
  _crier_provide(hiredis::hiredis hiredis "hiredis>=0.14" CRIER_HIREDIS)
endfunction()
