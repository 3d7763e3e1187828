# Supervision with real QEMU: start, pin, stop, detach, status, list.
# They need root-free resources only, but run QEMU under TCG: serialised.
foreach(t graceful_stop guest_poweroff stop_timeout qemu_killed supervisor_killed
          detach_roundtrip pinning pin_failure)
  add_test(NAME supervise_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/supervise/${t}.sh)
  set_tests_properties(supervise_${t} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS "integration" SKIP_RETURN_CODE 77 TIMEOUT 240 RUN_SERIAL TRUE)
endforeach()
