# crier's dependencies: find_package first, FetchContent from a pinned URL + hash as the fallback.
# Every pin lives in this file. The minimum versions are Debian 12's: standalone Asio 1.22, fmt 9.1,
# simdjson 3.0 (GoogleTest 1.12 and Google Benchmark 1.7 are pinned in tests/ and benchmarks/).
# FIND_PACKAGE_ARGS makes an installed, vcpkg or Conan package win, so such machines never download.
include(FetchContent)
include("${CMAKE_CURRENT_LIST_DIR}/crier-shims.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/crier-pins.cmake")

find_package(Threads REQUIRED)

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

if(fmt_VERSION AND fmt_VERSION VERSION_LESS 9.1)
  message(FATAL_ERROR "crier needs fmt >= 9.1; found ${fmt_VERSION}")
endif()
if(simdjson_VERSION AND simdjson_VERSION VERSION_LESS 3.0)
  message(FATAL_ERROR "crier needs simdjson >= 3.0; found ${simdjson_VERSION}")
endif()

crier_provide_asio()
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
