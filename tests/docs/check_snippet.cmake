# Builds one documentation snippet target and, for a `run` snippet, runs it and checks its output.
#   cmake -D BUILD_DIR=... -D TARGET=... [-D PROGRAM=... -D EXPECT=...] -P check_snippet.cmake
# The compiler's messages name the Markdown file and line (the sources carry #line directives).
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
                RESULT_VARIABLE built OUTPUT_VARIABLE build_out ERROR_VARIABLE build_out)
if(NOT built EQUAL 0)
  message(FATAL_ERROR "documentation snippet does not compile:\n${build_out}")
endif()
if(NOT DEFINED PROGRAM)
  return()
endif()
execute_process(COMMAND "${PROGRAM}" RESULT_VARIABLE status OUTPUT_VARIABLE out
                ERROR_VARIABLE out TIMEOUT 60)
message("${out}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "documentation program exited with ${status}")
endif()
string(FIND "${out}" "${EXPECT}" found)
if(found EQUAL -1)
  message(FATAL_ERROR "documentation program's output lacks \"${EXPECT}\"")
endif()
