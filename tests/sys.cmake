# The host layer's own pieces that no other area's tests reach
# (launcher/sys/): the kernel uevent reader.
vmrun_unit_test(sys_uevent SOURCES ${CMAKE_SOURCE_DIR}/tests/sys/test_uevent.c LIBS vmrun_core_test)
