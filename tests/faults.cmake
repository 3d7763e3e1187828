# Fault injection through `vmrun start` on the simulated host of the PCI
# tests (tests/pci.cmake builds the simulator).
add_test(NAME faults_pci COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/faults/fault_injection.sh)
set_tests_properties(faults_pci PROPERTIES
  ENVIRONMENT "${VMRUN_TEST_ENV};VMRUN_SYSFS_SIM=${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so;VMRUN_FAKE_HOST=${CMAKE_SOURCE_DIR}/tests/pci/make-fake-host.sh"
  LABELS integration TIMEOUT 300)
# It changes the real hugepage pool: under the machine-wide hugepage lock.
add_test(NAME faults_pci_hugepages
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/memory/with-hugepage-lock.sh
                 bash ${CMAKE_CURRENT_SOURCE_DIR}/faults/fault_injection.sh)
set_tests_properties(faults_pci_hugepages PROPERTIES
  ENVIRONMENT "${VMRUN_TEST_ENV};FAULT_HUGEPAGES=1;FAULT_MIN_STEPS=6;VMRUN_SYSFS_SIM=${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so;VMRUN_FAKE_HOST=${CMAKE_SOURCE_DIR}/tests/pci/make-fake-host.sh"
  LABELS integration TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
# The display handoff and device health, step by step (FAULT_HANDOFF).
add_test(NAME faults_handoff COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/faults/fault_injection.sh)
set_tests_properties(faults_handoff PROPERTIES
  ENVIRONMENT "${VMRUN_TEST_ENV};FAULT_HANDOFF=1;FAULT_MIN_STEPS=8;VMRUN_SYSFS_SIM=${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so;VMRUN_FAKE_HOST=${CMAKE_SOURCE_DIR}/tests/pci/make-fake-host.sh"
  LABELS integration TIMEOUT 300)
