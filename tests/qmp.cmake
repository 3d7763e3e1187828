# Tests of the QMP client library (qmp/).
find_package(Threads REQUIRED)

# Framer and parser: pure functions of bytes.
vmrun_unit_test(test_qmp_frame SOURCES qmp/test_qmp_frame.c LIBS vmrun_qmp)

# The client against a scripted fake QMP server on a socketpair.
vmrun_unit_test(test_qmp_client
                SOURCES qmp/test_qmp_client.c qmp/fake_qmp_server.c
                LIBS vmrun_qmp Threads::Threads)

vmrun_fuzz_target(qmp SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/qmp/qmp_fuzz.c
                  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/qmp/corpus LIBS vmrun_qmp)

# The client against a real QEMU (TCG, stopped, no devices): skipped only
# when qemu-system-x86_64 is not installed.
add_executable(qmp_real_qemu qmp/qmp_real_qemu.c)
target_link_libraries(qmp_real_qemu PRIVATE vmrun_qmp)
add_test(NAME qmp_real_qemu COMMAND qmp_real_qemu)
set_tests_properties(qmp_real_qemu PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS integration
                     SKIP_RETURN_CODE 77 TIMEOUT 120)
