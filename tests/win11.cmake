# Firmware from QEMU's descriptors, Secure Boot and the TPM (swtpm).
#   test_firmware           cmocka: descriptor search order, hiding and
#                           trust; matching by features, machine and
#                           mapping; firmware.code with what its descriptor
#                           says; variable stores (Debian's real ones and
#                           damaged ones); the TPM state directory's rules
#   win11_firmware_cli      print-cmd and check name the descriptor chosen
#                           (the user's directory counts as root, not
#                           through sudo); no match and contradictions exit
#                           1 and 2; a UEFI VM started with firmware.code and
#                           vars_template runs those files (QEMU's command
#                           line, the VM's variable store); Secure Boot on a
#                           KVM without SMM is refused
#   win11_tpm_lifecycle     swtpm as QEMU's user beside a sandboxed QEMU, gone
#                           after every ending (stop, QEMU killed, swtpm
#                           killed, supervisor SIGKILL + recover); bad TPM
#                           input changes nothing (~40 s)
#   win11_secure_boot_guest Secure Boot enforced and the TPM real to a Linux
#                           guest under TCG: three boots (label guest, ~2 min)
#   win11_libvirt_compare   the argv's TPM and Secure Boot pieces against
#                           libvirt's for three machines (the import tests'
#                           private libvirtd, tests/import/; ~5 s)
#   ovmf_vars_replay        the variable store parser's fuzz corpus
vmrun_unit_test(test_firmware SOURCES win11/test_firmware.c LIBS vmrun_core_test)
target_compile_definitions(test_firmware PRIVATE VMRUN_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

foreach(t firmware_cli tpm_lifecycle)
  add_test(NAME win11_${t} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/win11/${t}.sh)
  set_tests_properties(win11_${t} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
endforeach()

add_test(NAME win11_secure_boot_guest
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/win11/secure_boot_guest.sh)
set_tests_properties(win11_secure_boot_guest PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS "integration;guest" SKIP_RETURN_CODE 77 TIMEOUT 900 RUN_SERIAL TRUE)

add_test(NAME win11_libvirt_compare
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/win11/libvirt_compare.py)
set_tests_properties(win11_libvirt_compare PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300)

# The corpus: crafted stores, and every variable store template Debian's
# OVMF shipped from 2022.11 to 2026.08 (win11/stores/README.md).
vmrun_fuzz_target(ovmf_vars SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/win11/ovmf_vars_fuzz.c
                  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/win11/corpus
                         ${CMAKE_CURRENT_SOURCE_DIR}/win11/stores/debian-2022.11
                         ${CMAKE_CURRENT_SOURCE_DIR}/win11/stores/debian-2025.02
                         ${CMAKE_CURRENT_SOURCE_DIR}/win11/stores/debian-2026.08
                  LIBS vmrun_core_test)
