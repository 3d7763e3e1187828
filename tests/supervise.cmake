# Supervision with real QEMU: start, pin, stop, detach, status, list.
# They need root-free resources only, but run QEMU under TCG: serialised.
foreach(t graceful_stop guest_poweroff stop_timeout stop_interrupted qemu_killed supervisor_killed
          detach_roundtrip pinning pin_failure qmp_untrusted)
  add_test(NAME supervise_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/supervise/${t}.sh)
  set_tests_properties(supervise_${t} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS "integration" SKIP_RETURN_CODE 77 TIMEOUT 240 RUN_SERIAL TRUE)
endforeach()

# The runtime directory is never seen without its lock while a VM starts or
# stops (what keeps `vmrun status`/`list` from removing a live VM's).
add_executable(runtime_race ${CMAKE_CURRENT_SOURCE_DIR}/supervise/runtime_race.c)
target_link_libraries(runtime_race PRIVATE vmrun_core_test)
add_test(NAME supervise_runtime_race COMMAND runtime_race)
set_tests_properties(supervise_runtime_race PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS unit TIMEOUT 120)

# How a run ended, decided from what the supervisor saw (supervisor/outcome.h).
vmrun_unit_test(supervise_outcome SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/supervise/test_outcome.c
                LIBS vmrun_core_test)
