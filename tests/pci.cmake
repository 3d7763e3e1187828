# PCI devices: libpci + sysfs facts, IOMMU groups, users, binding to
# vfio-pci and giving back, `vmrun iommu`. Everything runs against a
# simulated host (tests/pci/make-fake-host.sh) with the sysfs simulator
# preloaded; nothing here touches the machine's own /sys/bus/pci.
#
# The simulator: ${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so (also in the
# test environment as VMRUN_SYSFS_SIM). It is built without sanitizers so it
# can be preloaded into any process; an ASan binary then needs
# verify_asan_link_order=0.

add_library(vmrun_sysfs_sim SHARED ${CMAKE_CURRENT_SOURCE_DIR}/pci/sysfs_sim.c)
set_target_properties(vmrun_sysfs_sim PROPERTIES
  OUTPUT_NAME vmrun_sysfs_sim
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests
  COMPILE_OPTIONS "-Wall;-Wextra;-D_GNU_SOURCE;-fvisibility=default"
  LINK_OPTIONS "")
target_link_libraries(vmrun_sysfs_sim PRIVATE ${CMAKE_DL_LIBS})

set(VMRUN_PCI_TEST_ENV ${VMRUN_TEST_ENV}
    "VMRUN_SYSFS_SIM=${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so"
    "VMRUN_FAKE_HOST=${CMAKE_SOURCE_DIR}/tests/pci/make-fake-host.sh"
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:verify_asan_link_order=0")

# The unit/integration test re-executes itself with the simulator preloaded
# (see test_pci.c), so it also runs by hand without any environment.
vmrun_unit_test(pci_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pci/test_pci.c LIBS vmrun_core_test)
target_compile_definitions(pci_test PRIVATE
  PCI_FAKE_HOST_SCRIPT="${CMAKE_SOURCE_DIR}/tests/pci/make-fake-host.sh"
  PCI_SYSFS_SIM="${CMAKE_BINARY_DIR}/tests/libvmrun_sysfs_sim.so")
add_dependencies(pci_test vmrun_sysfs_sim)
set_tests_properties(pci_test PROPERTIES ENVIRONMENT "${VMRUN_PCI_TEST_ENV}" TIMEOUT 120)

add_test(NAME pci_iommu_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/pci/test_iommu_cli.sh)
set_tests_properties(pci_iommu_cli PROPERTIES ENVIRONMENT "${VMRUN_PCI_TEST_ENV}" LABELS integration
                     TIMEOUT 60)

# The display handoff and device health through `vmrun start`/`recover`
# on the simulated host, with a systemctl stand-in (tests/handoff/).
add_test(NAME handoff_fake COMMAND bash ${CMAKE_SOURCE_DIR}/tests/handoff/handoff_fake.sh)
set_tests_properties(handoff_fake PROPERTIES ENVIRONMENT "${VMRUN_PCI_TEST_ENV}"
                     LABELS integration TIMEOUT 180)
# The same with the firmware's framebuffer a DRM device (simpledrm, built
# into Fedora's and Arch's kernels; no lab kernel has it).
add_test(NAME handoff_simpledrm COMMAND bash ${CMAKE_SOURCE_DIR}/tests/handoff/handoff_simpledrm.sh)
set_tests_properties(handoff_simpledrm PROPERTIES ENVIRONMENT "${VMRUN_PCI_TEST_ENV}"
                     LABELS integration TIMEOUT 180)
