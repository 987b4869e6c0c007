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

# crier_provide_httplib(): makes sure the target httplib::httplib exists for cpp-httplib. Its own
# CMake package (upstream, vcpkg, Conan) defines it; Debian ships a compiled library with only a
# pkg-config file (cpp-httplib.pc, whose Cflags carry CPPHTTPLIB_OPENSSL_SUPPORT and friends,
# which must match the library), so the target is then made from that. Installed next to
# crierConfig.cmake so crier::httplib's users find cpp-httplib the same way.
function(crier_provide_httplib)
  if(TARGET httplib::httplib)
    return()
  endif()
  find_package(httplib CONFIG QUIET)
  if(TARGET httplib::httplib)
    return()
  endif()
  find_package(PkgConfig QUIET)
  if(NOT PKG_CONFIG_FOUND)
    return()
  endif()
  pkg_check_modules(CRIER_CPP_HTTPLIB QUIET IMPORTED_TARGET GLOBAL cpp-httplib)
  if(TARGET PkgConfig::CRIER_CPP_HTTPLIB)
    add_library(httplib::httplib ALIAS PkgConfig::CRIER_CPP_HTTPLIB)
  endif()
endfunction()

# crier_provide_hiredis(): makes sure the target hiredis::hiredis exists for hiredis >= 0.14. Its
# own CMake package (hiredis >= 1.0 upstream, vcpkg, Conan) defines it; Debian 12 ships 0.14 with
# only a pkg-config file, so the target is then made from that. Installed next to crierConfig.cmake
# so crier::redis's users find hiredis the same way.
function(crier_provide_hiredis)
  if(TARGET hiredis::hiredis)
    return()
  endif()
  find_package(hiredis CONFIG QUIET)
  if(TARGET hiredis::hiredis)
    return()
  endif()
  find_package(PkgConfig QUIET)
  if(NOT PKG_CONFIG_FOUND)
    return()
  endif()
  pkg_check_modules(CRIER_HIREDIS QUIET IMPORTED_TARGET GLOBAL hiredis>=0.14)
  if(TARGET PkgConfig::CRIER_HIREDIS)
    add_library(hiredis::hiredis ALIAS PkgConfig::CRIER_HIREDIS)
  endif()
endfunction()
