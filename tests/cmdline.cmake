# The QEMU command-line builder (launcher/qemu/cmdline*.c) and `vmrun print-cmd`.
#   test_cmdline          unit tests: each piece of the argv from profiles
#                         filled in C
#   test_qcow2            the backing file name read from qcow2 headers,
#                         forged ones included
#   cmdline_golden_NAME   the argv of each example profile (and of a built-in
#                         sample that uses every device kind) against
#                         tests/cmdline/golden/NAME.argv; UPDATE_GOLDEN=1
#                         rewrites the golden files instead
#   cmdline_qemu_NAME     the real qemu-system-x86_64 accepts that argv
#                         (host-only pieces swapped for stand-ins, TCG,
#                         paused) and answers on its QMP socket
#   cmdline_print_cmd     `vmrun print-cmd`: output a shell reads back to the
#                         golden argv, --help, exit codes
# The builder is pure, so its tests compile it directly and link only the
# profile library: they do not wait for the rest of vmrun_core.
set(CMDLINE_SOURCES ${CMAKE_SOURCE_DIR}/launcher/qemu/cmdline.c
                    ${CMAKE_SOURCE_DIR}/launcher/qemu/cmdline_build.c)

vmrun_unit_test(test_cmdline SOURCES cmdline/test_cmdline.c ${CMDLINE_SOURCES}
                LIBS vmrun_profile)
vmrun_unit_test(test_qcow2 SOURCES cmdline/test_qcow2.c ${CMAKE_SOURCE_DIR}/launcher/qemu/qcow2.c)
target_include_directories(test_qcow2 PRIVATE ${CMAKE_SOURCE_DIR}/launcher)

# The argv helper also chooses the firmware (from tests/cmdline/firmware),
# which reads files: it links the whole core.
add_executable(cmdline_argv cmdline/cmdline_argv.c)
target_link_libraries(cmdline_argv PRIVATE vmrun_core_test)
target_compile_definitions(cmdline_argv PRIVATE
                           CMDLINE_FIRMWARE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/cmdline/firmware")
set(CMDLINE_GOLDEN_NAMES sample)
if(EXISTS ${CMAKE_SOURCE_DIR}/launcher/profile/profile_load.c)
  target_compile_definitions(cmdline_argv PRIVATE CMDLINE_ARGV_WITH_LOADER)
  file(GLOB CMDLINE_PROFILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/profiles/*.json)
  foreach(f ${CMDLINE_PROFILES})
    get_filename_component(n ${f} NAME_WE)
    list(APPEND CMDLINE_GOLDEN_NAMES ${n})
  endforeach()
  add_test(NAME cmdline_print_cmd
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cmdline/print_cmd.sh)
  set_tests_properties(cmdline_print_cmd PROPERTIES
                       ENVIRONMENT "${VMRUN_TEST_ENV};CMDLINE_ARGV=$<TARGET_FILE:cmdline_argv>"
                       LABELS integration TIMEOUT 60)
endif()

foreach(n ${CMDLINE_GOLDEN_NAMES})
  add_test(NAME cmdline_golden_${n}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cmdline/golden.sh ${n})
  set_tests_properties(cmdline_golden_${n} PROPERTIES
                       ENVIRONMENT "${VMRUN_TEST_ENV};CMDLINE_ARGV=$<TARGET_FILE:cmdline_argv>"
                       LABELS unit TIMEOUT 30)
  add_test(NAME cmdline_qemu_${n}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/cmdline/qemu_accepts.py ${n})
  set_tests_properties(cmdline_qemu_${n} PROPERTIES
                       ENVIRONMENT "${VMRUN_TEST_ENV};CMDLINE_ARGV=$<TARGET_FILE:cmdline_argv>"
                       LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
