# Memory (hugepages, the guest memory file, prefault) and host CPUs
# (governor, isolation). Unit tests run against a simulated host tree; the
# hugepage test uses this host's real pool through run-real.sh, which puts
# the pool back whatever happens.

vmrun_unit_test(memory_fake
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/memory/test_memory_fake.c
  LIBS vmrun_core_test)
target_include_directories(memory_fake PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/memory)

vmrun_unit_test(cpu_fake
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/memory/test_cpu_fake.c
  LIBS vmrun_core_test)
target_include_directories(cpu_fake PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/memory)

add_executable(memory_hugepages_real ${CMAKE_CURRENT_SOURCE_DIR}/memory/test_hugepages_real.c)
target_link_libraries(memory_hugepages_real PRIVATE PkgConfig::CMOCKA vmrun_core_test)
target_include_directories(memory_hugepages_real PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/memory)
add_test(NAME memory_hugepages_real
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/memory/run-real.sh
                 $<TARGET_FILE:memory_hugepages_real>)
# Tests that change the real hugepage pool never run at the same time.
set_tests_properties(memory_hugepages_real PROPERTIES
  ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS "real;hugepages" RESOURCE_LOCK hugepages
  SKIP_RETURN_CODE 77 TIMEOUT 300)

# The prefault benchmark: prints figures; a target, not a test.
add_executable(prefault_bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/bench/prefault_bench.c)
target_link_libraries(prefault_bench PRIVATE vmrun_core_test)
add_custom_target(run-prefault-bench
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bench/run-prefault-bench.sh $<TARGET_FILE:prefault_bench>
  DEPENDS prefault_bench USES_TERMINAL)

# End-to-end tests of the memory.* keys (tests/memory/e2e_memory.sh): the
# installed vmrun starts firmware-only VMs on this host's real pools, under
# the machine-wide hugepage lock.
foreach(c size hugepages_2m hugepages_1g preference numa_node drop_caches)
  add_test(NAME memory_e2e_${c}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/memory/with-hugepage-lock.sh
                   bash ${CMAKE_CURRENT_SOURCE_DIR}/memory/e2e_memory.sh ${c})
  set_tests_properties(memory_e2e_${c} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS "integration;hugepages" RESOURCE_LOCK hugepages
                       SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
# A hugepage VM through real sudo as an ordinary user (vmrun-hp, created and
# removed by the test with its own sudoers.d rule), with 2M and 1G pages.
foreach(s 2M 1G)
  add_test(NAME memory_e2e_sudo_user_${s}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/memory/with-hugepage-lock.sh
                   bash ${CMAKE_CURRENT_SOURCE_DIR}/memory/e2e_sudo_user.sh ${s})
  set_tests_properties(memory_e2e_sudo_user_${s} PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                       LABELS "integration;hugepages" RESOURCE_LOCK hugepages
                       SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()

# The fragmentation benchmark: prints figures; a target, not a test.
add_executable(frag_bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_SOURCE_DIR}/bench/frag_bench.c)
target_link_libraries(frag_bench PRIVATE vmrun_core_test)
add_custom_target(run-frag-bench
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/bench/run-frag-bench.sh $<TARGET_FILE:frag_bench>
  DEPENDS frag_bench USES_TERMINAL)
