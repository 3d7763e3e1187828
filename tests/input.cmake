# The VM's input devices (launcher/host/input/).
#   test_input_route   cmocka: the routing state machine event by event
#                      (frames, releases on unplug and on every switch, the
#                      hotkeys, two sources of one key, SYN_DROPPED)
#   test_vnc_led       cmocka: the LED side of QEMU's VNC protocol, whole
#                      and byte by byte, and what it refuses
#   test_input_caps    cmocka: the remembered capabilities, round trip and
#                      damaged files
#   test_input_match   cmocka: entries matched to event nodes in a
#                      simulated sysfs and /dev (ids, serials, paths, two
#                      devices, vmrun's own virtual devices left out)
#   test_input_privs   cmocka: the seccomp filters on a real kernel, and the
#                      mover process as it runs: no capability, the filter,
#                      nothing but its own descriptors
#   vnc_led_replay     the VNC fuzz corpus (vnc_led_fuzzer with clang)
# uinput itself, and the mover moving real events, need the lab
# (tests/lab/input.sh): this machine's kernel has no uinput.
set(INPUT_DIR ${CMAKE_SOURCE_DIR}/launcher/host/input)
vmrun_unit_test(test_input_route SOURCES input/test_input_route.c ${INPUT_DIR}/input_route.c)
target_include_directories(test_input_route PRIVATE ${CMAKE_SOURCE_DIR}/launcher)
vmrun_unit_test(test_vnc_led SOURCES input/test_vnc_led.c ${INPUT_DIR}/vnc_led.c)
target_include_directories(test_vnc_led PRIVATE ${CMAKE_SOURCE_DIR}/launcher)
vmrun_unit_test(test_input_caps SOURCES input/test_input_caps.c LIBS vmrun_core_test)
vmrun_unit_test(test_input_match SOURCES input/test_input_match.c LIBS vmrun_core_test)
vmrun_unit_test(test_input_privs SOURCES input/test_input_privs.c LIBS vmrun_core_test)
vmrun_fuzz_target(vnc_led SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/input/vnc_led_fuzz.c
                  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/input/corpus-vnc LIBS vmrun_core_test)
