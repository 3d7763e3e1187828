# The tree shows the architecture (launcher/README.md): no layer includes a
# later one, every folder is described; and nothing drops out of the
# installed program: relinking it without any one of its objects fails, it
# has no undefined weak symbol of ours and reads no VMRUN_* seam.
add_test(NAME layout_layers
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/layout/check_layers.py ${CMAKE_SOURCE_DIR})
set_tests_properties(layout_layers PROPERTIES LABELS unit)
add_test(NAME layout_link
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/layout/check_link.py ${CMAKE_BINARY_DIR})
set_tests_properties(layout_link PROPERTIES LABELS unit TIMEOUT 300)
