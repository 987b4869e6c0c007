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
