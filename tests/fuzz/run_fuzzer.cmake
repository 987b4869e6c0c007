# Runs one libFuzzer target for SECONDS over a fresh copy of its seed corpus in WORK, so the
# committed corpus never changes; a crash input lands in WORK as crash-<sha1>, named in the log.
# cmake -DFUZZER=<exe> -DSEEDS=<dir> -DWORK=<dir> -DSECONDS=<n> -P run_fuzzer.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus")
file(GLOB _seeds "${SEEDS}/*")
if(_seeds)
  file(COPY ${_seeds} DESTINATION "${WORK}/corpus")
endif()
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -print_final_stats=1 -timeout=10
          -rss_limit_mb=2048 -artifact_prefix=${WORK}/ "${WORK}/corpus"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "fuzz target ${FUZZER} failed (${_rc}); the input is in ${WORK}")
endif()
