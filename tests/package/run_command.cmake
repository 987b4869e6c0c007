# run(<command> [<arg>...]): runs the command; when it exits non-zero, stops the script with the
# command line, its output and its errors (prefixed by `run_context`, when the includer set it).
# Sets `out` and `err` in the caller to what the command printed.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " _command)  # a list in the message arrives split: show it space-separated
    message(FATAL_ERROR "${run_context}failed (${rc}): ${_command}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

# build_and_run_consumer(<source dir> <binary dir> [<configure arg>...]): configures a consumer
# project with GENERATOR, CXX and BUILD_TYPE (plus the arguments given), builds it, runs its
# `consumer` and stops the script unless that printed the frame every consumer publishes.
function(build_and_run_consumer source binary)
  run("${CMAKE_COMMAND}" -S "${source}" -B "${binary}" -G "${GENERATOR}"
      "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}" ${ARGN})
  run("${CMAKE_COMMAND}" --build "${binary}")
  run("${binary}/consumer")
  if(NOT out MATCHES "event: horses:created\ndata: {\"id\":1}")
    message(FATAL_ERROR "${run_context}the consumer in ${binary} printed the wrong frame:\n${out}")
  endif()
endfunction()
