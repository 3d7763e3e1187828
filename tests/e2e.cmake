# End-to-end tests (tests/README.md, "Profile keys and their end-to-end
# tests"): each drives the built programs as users do and looks at the
# effect of profile keys on the host, on the QEMU process (/proc, QMP) or in
# the guest. Python scripts on tests/e2e/e2elib.py.
#
#   e2e_key_coverage   every key of profiles/README.md has a row in the
#                      table of tests/README.md naming a registered test
#   e2e_key_values     every test a row names set the key to a value other
#                      than its default (the key logs: tests/CMakeLists.txt)
#   e2e_demo_guest     (fixture) the demo guest of this checkout, into
#                      BUILD/guests/demo, for the tests labelled "guest"
#                      (tests/lab.cmake has its twin for the lab guest)
# Tests labelled "guest" boot a Linux guest under TCG: they run in the normal
# build only (scripts/test.sh). The others start firmware-only VMs and run
# in the sanitizer build too.
set(E2E_DIR ${CMAKE_CURRENT_SOURCE_DIR}/e2e)

add_test(NAME e2e_key_coverage
         COMMAND /usr/bin/python3 ${E2E_DIR}/key_coverage.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(e2e_key_coverage PROPERTIES LABELS "e2e;unit" TIMEOUT 60)
# ... and each of those tests set the key to a value other than its default:
# it reads every test's key log, so it runs after all of them (DEPENDS, in
# tests/CMakeLists.txt), with the lab, which scripts/test.sh runs last.
# Without a key log of some test it skips, unless VMRUN_LAB=1 (CI) says the
# whole suite ran.
add_test(NAME e2e_key_values
         COMMAND /usr/bin/python3 ${E2E_DIR}/key_coverage.py ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}
                 --values)
set_tests_properties(e2e_key_values PROPERTIES LABELS "e2e;lab" TIMEOUT 60 SKIP_RETURN_CODE 77)

add_test(NAME e2e_demo_guest COMMAND bash ${E2E_DIR}/build-guest.sh demo)
set_tests_properties(e2e_demo_guest PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS "e2e;guest" FIXTURES_SETUP e2e_demo_guest TIMEOUT 600
                     RESOURCE_LOCK guest_build)

# Firmware-only VMs (a second each, or less).
foreach(t qemu_threads qemu_options kvm_cpu devices boot_order run_as governor isolate_host
        hangup)
  add_test(NAME e2e_${t} COMMAND /usr/bin/python3 ${E2E_DIR}/${t}.py)
  set_tests_properties(e2e_${t} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS "e2e;integration" SKIP_RETURN_CODE 77 TIMEOUT 240)
endforeach()
# A tree laid out as the kernel's cpufreq, with its rules for writes.
set_property(TEST e2e_governor APPEND PROPERTY ENVIRONMENT
             "VMRUN_SYSFS_SIM=${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so")
# The workqueue masks it changes are machine-wide (the script also takes a
# machine-wide lock, for other build trees).
set_tests_properties(e2e_isolate_host PROPERTIES RESOURCE_LOCK host_isolation)

# Linux guests under TCG (10-20 s each on 2 cores).
foreach(t storage network guest_view)
  add_test(NAME e2e_${t} COMMAND /usr/bin/python3 ${E2E_DIR}/${t}.py)
  set_tests_properties(e2e_${t} PROPERTIES
                       ENVIRONMENT "${VMRUN_TEST_ENV};VMRUN_E2E_GUEST=${CMAKE_BINARY_DIR}/guests/demo"
                       LABELS "e2e;guest" FIXTURES_REQUIRED e2e_demo_guest
                       SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
endforeach()
