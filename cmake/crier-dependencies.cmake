# crier's dependencies: find_package first, FetchContent from a pinned URL + hash as the fallback.
# Every pin lives in this file. The minimum versions are Debian 12's: standalone Asio 1.22, fmt 9.1,
# simdjson 3.0 (GoogleTest 1.12 and Google Benchmark 1.7 are pinned in tests/ and benchmarks/).
# FIND_PACKAGE_ARGS makes an installed, vcpkg or Conan package win, so such machines never download.
include(FetchContent)
include("${CMAKE_CURRENT_LIST_DIR}/crier-shims.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/crier-pins.cmake")

find_package(Threads REQUIRED)

# Downloads are off when asked (CRIER_ALLOW_DOWNLOADS=OFF) and in builds that must not reach the
# network (vcpkg passes FETCHCONTENT_FULLY_DISCONNECTED=ON): then each dependency must be found,
# and a missing one stops configure naming the package to install, never an empty fetched tree.
if(CRIER_ALLOW_DOWNLOADS AND NOT FETCHCONTENT_FULLY_DISCONNECTED)
  set(_crier_downloads ON)
else()
  set(_crier_downloads OFF)
  # In crier's directories only: GoogleTest and Google Benchmark (tests/, benchmarks/) are then
  # found or fail, and are never downloaded either.
  set(FETCHCONTENT_FULLY_DISCONNECTED ON)
endif()

# crier_require(<package> <what> <hint>): find_package(<package> CONFIG) or stop with the hint.
function(crier_require package what hint)
  find_package(${package} CONFIG QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR "crier: ${what} not found and downloads are off (CRIER_ALLOW_DOWNLOADS=OFF "
                        "or FETCHCONTENT_FULLY_DISCONNECTED=ON): install ${hint}")
  endif()
endfunction()

if(_crier_downloads)
  # No version in FIND_PACKAGE_ARGS: simdjson's package accepts only its own minor version, so a
  # newer simdjson would be refused. Minimums are checked below instead.
  FetchContent_Declare(fmt URL "${CRIER_PIN_FMT_URL}" URL_HASH "${CRIER_PIN_FMT_HASH}"
                       SYSTEM FIND_PACKAGE_ARGS CONFIG)
  FetchContent_Declare(simdjson URL "${CRIER_PIN_SIMDJSON_URL}" URL_HASH "${CRIER_PIN_SIMDJSON_HASH}"
                       SYSTEM FIND_PACKAGE_ARGS CONFIG)
  if(CRIER_INSTALL)
    # Dependencies built from source must be installed too, or crier's export can't refer to them.
    set(FMT_INSTALL ON CACHE BOOL "")
    set(SIMDJSON_INSTALL ON CACHE BOOL "")
  endif()
  set(SIMDJSON_DEVELOPER_MODE OFF CACHE BOOL "")
  FetchContent_MakeAvailable(fmt simdjson)
else()
  crier_require(fmt "fmt >= 9.1" "libfmt-dev (Debian), fmt (vcpkg, Conan)")
  crier_require(simdjson "simdjson >= 3.0" "libsimdjson-dev (Debian), simdjson (vcpkg, Conan)")
endif()

if(fmt_VERSION AND fmt_VERSION VERSION_LESS 9.1)
  message(FATAL_ERROR "crier needs fmt >= 9.1; found ${fmt_VERSION}")
endif()
if(simdjson_VERSION AND simdjson_VERSION VERSION_LESS 3.0)
  message(FATAL_ERROR "crier needs simdjson >= 3.0; found ${simdjson_VERSION}")
endif()

crier_provide_asio()
if(NOT TARGET asio::asio AND NOT _crier_downloads)
  message(FATAL_ERROR "crier: standalone Asio >= 1.22 not found and downloads are off "
                      "(CRIER_ALLOW_DOWNLOADS=OFF or FETCHCONTENT_FULLY_DISCONNECTED=ON): install "
                      "libasio-dev (Debian), asio (vcpkg, Conan)")
endif()
if(NOT TARGET asio::asio)
  FetchContent_Declare(asio URL "${CRIER_PIN_ASIO_URL}" URL_HASH "${CRIER_PIN_ASIO_HASH}")
  FetchContent_MakeAvailable(asio)  # Asio has no CMakeLists.txt: this only downloads
  crier_provide_asio(HINTS "${asio_SOURCE_DIR}/asio/include")
  if(NOT TARGET asio::asio)
    message(FATAL_ERROR "crier: standalone Asio not found and the download failed")
  endif()
  if(CRIER_INSTALL)
    install(DIRECTORY "${asio_SOURCE_DIR}/asio/include/"
            DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" FILES_MATCHING PATTERN "*.hpp" PATTERN "*.ipp")
  endif()
endif()
