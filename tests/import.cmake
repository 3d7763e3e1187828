# vmrun import (launcher/import/).
#   test_import             cmocka: safe XML reading, notes, mappings at the
#                           JSON level (also to keys the schema may lack)
#   import_golden           every corpus, synthetic and invalid XML gives its
#                           recorded profile and notes (UPDATE_GOLDEN=1
#                           rewrites them), and print-cmd accepts each profile
#   import_bad_input        not XML, not a domain, truncated, an entity bomb,
#                           a 100 MB file: exit 2, nothing written, the line
#   import_libvirt_compare  libvirt's own argv (private libvirtd) against
#                           import + print-cmd, for every XML (root; ~20 s)
#   import_keys_e2e         the profile keys import writes, end to end
#   import_machine_types    versioned machine types against this stack's
#                           real QEMU: import, check and start (~10 s)
#   import_replay           the fuzz corpus (the synthetic XMLs, and the
#                           invalid ones: XMLs libvirt refuses or beyond
#                           the profile's limits)
vmrun_unit_test(test_import SOURCES import/test_import.c LIBS vmrun_import)

add_test(NAME import_golden COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/import/golden.sh)
set_tests_properties(import_golden PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration TIMEOUT 120)
add_test(NAME import_bad_input COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/import/bad_input.sh)
set_tests_properties(import_bad_input PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration TIMEOUT 120)
file(GLOB IMPORT_XMLS ${CMAKE_CURRENT_SOURCE_DIR}/import/corpus/*.xml
     ${CMAKE_CURRENT_SOURCE_DIR}/import/synthetic/*.xml)
add_test(NAME import_libvirt_compare
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/import/libvirt_compare.py
                 ${IMPORT_XMLS})
set_tests_properties(import_libvirt_compare PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300)

vmrun_fuzz_target(import SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/import/import_fuzz.c
                  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/import/synthetic
                         ${CMAKE_CURRENT_SOURCE_DIR}/import/invalid LIBS vmrun_import)

add_test(NAME import_keys_e2e COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/import/keys_e2e.py)
set_tests_properties(import_keys_e2e PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)

add_test(NAME import_machine_types
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/import/machine_types.py)
set_tests_properties(import_machine_types PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 300)
