# Real-kernel tests in the lab guest (tests/lab/README.md): each runs one
# script inside L1 through tests/lab/run-lab.sh. They skip (77) when the lab
# guest is not built, unless VMRUN_LAB=1 says they must run (then they fail).
# L1 is a 2-vCPU TCG guest that wants both cores: one lab test at a time.
#   vmrun_lab_test(NAME SCRIPT [TIMEOUT seconds])
function(vmrun_lab_test name script)
  cmake_parse_arguments(T "" "TIMEOUT" "" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 900)
  endif()
  # The script's own limit inside L1 leaves room for L1's boot and power-off.
  math(EXPR inner "${T_TIMEOUT} - 180")
  add_test(NAME ${name}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/lab/run-lab.sh --timeout ${inner}
                   ${CMAKE_CURRENT_SOURCE_DIR}/lab/${script})
  set_tests_properties(${name} PROPERTIES
                       ENVIRONMENT "${VMRUN_TEST_ENV};VMRUN_LAB_RUNS=${CMAKE_BINARY_DIR}/lab-runs"
                       LABELS lab SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT} RUN_SERIAL TRUE)
endfunction()

vmrun_lab_test(lab_smoke smoke.sh)
