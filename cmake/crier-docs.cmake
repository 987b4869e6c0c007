# The API reference: `cmake --build <dir> --target docs` writes <dir>/docs/html/index.html.
# Doxygen reads the public headers only (detail/ and impl/ are private) and fails on any warning,
# an undocumented public entity included. With tests on, CTest runs the same Doxygen
# (`docs.api_reference`), so CI builds the reference on every run.
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "crier: the docs target is off (install doxygen to build the API reference)")
  return()
endif()

set(CRIER_DOCS_OUTPUT "${PROJECT_BINARY_DIR}/docs")
file(MAKE_DIRECTORY "${CRIER_DOCS_OUTPUT}")
configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${CRIER_DOCS_OUTPUT}/Doxyfile" @ONLY)

add_custom_target(docs
  COMMAND "${DOXYGEN_EXECUTABLE}" "${CRIER_DOCS_OUTPUT}/Doxyfile"
  WORKING_DIRECTORY "${CRIER_DOCS_OUTPUT}"
  COMMENT "crier: API reference (Doxygen) in ${CRIER_DOCS_OUTPUT}/html"
  VERBATIM)

if(CRIER_BUILD_TESTS)
  # Doxygen exits non-zero on a warning (WARN_AS_ERROR = FAIL_ON_WARNINGS); the warnings are
  # in docs/warnings.log and on the test's output.
  add_test(NAME docs.api_reference
           COMMAND "${CMAKE_COMMAND}" -E chdir "${CRIER_DOCS_OUTPUT}"
                   "${DOXYGEN_EXECUTABLE}" "${CRIER_DOCS_OUTPUT}/Doxyfile")
  set_tests_properties(docs.api_reference PROPERTIES LABELS "docs" TIMEOUT 120)
endif()
