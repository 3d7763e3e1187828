# `vmrun check`: the host preflight. The CLI test runs on this machine with
# a TCG profile (read-only: it asserts the hugepage pools are unchanged) and
# against the simulated host of the PCI tests (tests/pci/make-fake-host.sh),
# whose tree it compares before and after. The unit test covers the pure
# helpers (QEMU version and help parsing) and the QEMU probe.

# It asserts that the real hugepage pools do not change while `vmrun check`
# runs: under the machine-wide hugepage lock, so no other tree's test
# changes them meanwhile.
add_test(NAME check_cli COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/memory/with-hugepage-lock.sh
                                bash ${CMAKE_CURRENT_SOURCE_DIR}/check/check_cli.sh)
set_tests_properties(check_cli PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS integration
                     TIMEOUT 120)

vmrun_unit_test(check_qemu_probe_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/check/test_qemu_probe.c
                LIBS vmrun_core_test)

vmrun_unit_test(check_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/check/test_check.c LIBS vmrun_core_test)
target_compile_definitions(check_test PRIVATE
  CHECK_FAKE_HOST_SCRIPT="${CMAKE_SOURCE_DIR}/tests/pci/make-fake-host.sh")
set_tests_properties(check_test PROPERTIES TIMEOUT 60)
