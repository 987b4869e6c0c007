# Runs one documentation program (built by the test docs.build) and checks its output.
#   cmake -D PROGRAM=... -D EXPECT=... -P run_snippet.cmake
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
