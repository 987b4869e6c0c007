# cmake -DCRIER_SOURCE_DIR=… -DWORK_DIR=… -DGENERATOR=… -DCXX=… -P options.cmake
# crier's packaging options refuse what they must: configures crier (library only, nothing
# built) with a dependency hidden, and checks that an ON component or a build without downloads
# stops with the package to install, that OFF builds a component nothing needs, and that a
# value other than AUTO/ON/OFF is refused.
cmake_minimum_required(VERSION 3.25)

# configure(<expect: ok|fail> <message regex> <-D…>...)
function(configure expect regex)
  file(REMOVE_RECURSE "${WORK_DIR}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CRIER_SOURCE_DIR}" -B "${WORK_DIR}"
                          -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX}" -DCRIER_BUILD_TESTS=OFF
                          -DCRIER_BUILD_EXAMPLES=OFF -DCRIER_INSTALL=OFF ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(out "${out}${err}")
  if(expect STREQUAL "ok" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "configure with ${ARGN} failed:\n${out}")
  elseif(expect STREQUAL "fail" AND rc EQUAL 0)
    message(FATAL_ERROR "configure with ${ARGN} succeeded; it must fail")
  endif()
  string(REGEX REPLACE "[ \n]+" " " flat "${out}")  # CMake wraps long messages
  if(NOT flat MATCHES "${regex}")
    message(FATAL_ERROR "configure with ${ARGN} did not say '${regex}':\n${out}")
  endif()
  set(cache "${WORK_DIR}/CMakeCache.txt" PARENT_SCOPE)
endfunction()

# Without pkg-config (FindOpenSSL needs it too, so OpenSSL's components are off).
set(_no_hiredis -DCMAKE_DISABLE_FIND_PACKAGE_hiredis=ON -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON
                -DCRIER_WITH_JWT=OFF -DCRIER_WITH_TLS=OFF)
configure(fail "CRIER_WITH_REDIS=ON, but hiredis >= 0.14 was not found .*libhiredis-dev"
          -DCRIER_WITH_REDIS=ON ${_no_hiredis})
configure(ok "crier::redis off \\(needs hiredis" -DCRIER_WITH_REDIS=AUTO ${_no_hiredis})
configure(fail "CRIER_WITH_BEAST=ON, but Boost >= 1.74 .*libboost-dev"
          -DCRIER_WITH_BEAST=ON -DCMAKE_DISABLE_FIND_PACKAGE_Boost=ON)
configure(fail "CRIER_WITH_TLS=ON, but OpenSSL was not found .*libssl-dev"
          -DCRIER_WITH_TLS=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON)
configure(fail "CRIER_WITH_JWT is 'maybe'; use AUTO, ON or OFF" -DCRIER_WITH_JWT=maybe)
configure(fail "fmt >= 9.1 not found and downloads are off .*libfmt-dev"
          -DCRIER_ALLOW_DOWNLOADS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON)
configure(fail "fmt >= 9.1 not found and downloads are off"
          -DFETCHCONTENT_FULLY_DISCONNECTED=ON -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON)

# OFF: not built, and its dependency not even looked for.
configure(ok "" -DCRIER_WITH_JWT=OFF -DCRIER_WITH_TLS=OFF -DCRIER_WITH_BEAST=OFF
          -DCRIER_WITH_HTTPLIB=OFF -DCRIER_WITH_REDIS=OFF)
file(STRINGS "${cache}" _looked REGEX "^(OPENSSL_INCLUDE_DIR|Boost_INCLUDE_DIR|httplib_DIR|hiredis_DIR):")
if(_looked)
  message(FATAL_ERROR "components OFF, yet their dependencies were looked for: ${_looked}")
endif()
message(STATUS "packaging options: ok")
