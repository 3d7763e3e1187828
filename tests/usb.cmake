# Host USB devices (launcher/host/usb, supervisor/usb_hotplug.c): on a
# simulated host (tests/usb/make-fake-usb.sh), since this machine has no
# USB; the lab plugs real (software) devices into a real kernel
# (tests/lab/usb.sh).
vmrun_unit_test(usb_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/usb/test_usb.c LIBS vmrun_core_test)
target_compile_definitions(usb_test PRIVATE
  USB_FAKE_HOST_SCRIPT="${CMAKE_SOURCE_DIR}/tests/usb/make-fake-usb.sh")

# The descriptor form against the real QEMU (TCG, stopped, an xHCI): the
# probe, add-fd + device_add usb-host resolving the fd set, remove-fd,
# device_del. Skipped only when qemu-system-x86_64 is not installed.
add_executable(usb_qemu_fd usb/usb_qemu_fd.c)
target_link_libraries(usb_qemu_fd PRIVATE vmrun_core_test)
add_test(NAME usb_qemu_fd COMMAND usb_qemu_fd)
set_tests_properties(usb_qemu_fd PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS integration
                     SKIP_RETURN_CODE 77 TIMEOUT 120)
