# Option ROMs (launcher/host/pci/pci_rom*.c, `vmrun rom`, pci[].rom):
#   rom_replay / rom_fuzz  the parser on crafted images (tests/rom/corpus,
#                          made by tests/rom/make-rom.py); it is compiled
#                          straight into the harness, which links nothing
#                          else, so the fuzz build instruments it
#   rom_cli                `vmrun rom check` on crafted and real ROM files,
#                          `vmrun rom dump` on the simulated host, pci[].rom
#                          in `vmrun check` and `vmrun start`
vmrun_fuzz_target(rom SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/rom/rom_fuzz.c
                  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/rom/corpus)
foreach(t rom_replay rom_fuzzer)
  if(TARGET ${t})
    target_sources(${t} PRIVATE ${CMAKE_SOURCE_DIR}/launcher/host/pci/pci_rom_parse.c
                                ${CMAKE_SOURCE_DIR}/launcher/base/error.c)
    target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/launcher)
  endif()
endforeach()

add_test(NAME rom_cli COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/rom/rom_cli.sh)
set_tests_properties(rom_cli PROPERTIES ENVIRONMENT "${VMRUN_PCI_TEST_ENV}" LABELS integration
                     TIMEOUT 120)
