# Host USB devices (launcher/host/usb, supervisor/usb_hotplug.c): on a
# simulated host (tests/usb/make-fake-usb.sh), since this machine has no
# USB; the lab plugs real (software) devices into a real kernel
# (tests/lab/usb.sh).
vmrun_unit_test(usb_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/usb/test_usb.c LIBS vmrun_core_test)
target_compile_definitions(usb_test PRIVATE
  USB_FAKE_HOST_SCRIPT="${CMAKE_SOURCE_DIR}/tests/usb/make-fake-usb.sh")
