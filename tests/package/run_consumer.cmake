# cmake -DKIND=… -DSOURCE_DIR=… -DBINARY_DIR=… -DCRIER_SOURCE_DIR=… -DSTAGE=… -P run_consumer.cmake
# Configures, builds and runs one consumer project. For the vendored kinds it also proves that
# crier added no tests and no install rules to its parent.
include("${CMAKE_CURRENT_LIST_DIR}/run_command.cmake")

file(REMOVE_RECURSE "${BINARY_DIR}")
build_and_run_consumer("${SOURCE_DIR}" "${BINARY_DIR}" "-DCMAKE_PREFIX_PATH=${STAGE}"
                       "-DCRIER_SOURCE_DIR=${CRIER_SOURCE_DIR}"
                       "-DFETCHCONTENT_SOURCE_DIR_CRIER=${CRIER_SOURCE_DIR}")
if(EXISTS "${BINARY_DIR}/consumer-redis")  # the redis component, when it was installed
  run("${BINARY_DIR}/consumer-redis")
endif()

if(EXISTS "${BINARY_DIR}/consumer-httplib")
  run("${BINARY_DIR}/consumer-httplib")
endif()

if(NOT KIND STREQUAL "find_package")
  run("${CMAKE_CTEST_COMMAND}" --test-dir "${BINARY_DIR}" -N)
  if(NOT out MATCHES "Total Tests: 0")
    message(FATAL_ERROR "a vendored crier added tests to its parent:\n${out}")
  endif()
  set(prefix "${BINARY_DIR}/prefix")
  run("${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${prefix}")
  file(GLOB_RECURSE installed RELATIVE "${prefix}" "${prefix}/*")
  if(NOT installed STREQUAL "bin/consumer")
    message(FATAL_ERROR "a vendored crier installed files into its parent: ${installed}")
  endif()
endif()
message(STATUS "consumer ${KIND}: ok")
