# Privilege drop, ownership handover, profile trust, desktop launchers and
# the shipped scripts (launcher/priv_*.c, trust.c, cli_desktop.c, scripts/).

# The real QEMU started through priv_drop(): non-root, no capabilities,
# NoNewPrivs, seccomp. Needs root (skipped otherwise).
add_executable(priv_qemu_drop_test ${CMAKE_SOURCE_DIR}/tests/priv/qemu_drop_test.c)
target_link_libraries(priv_qemu_drop_test PRIVATE vmrun_core_test)
add_test(NAME priv_qemu_drop COMMAND priv_qemu_drop_test)
set_tests_properties(priv_qemu_drop PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS "priv;integration" SKIP_RETURN_CODE 77 TIMEOUT 60)

vmrun_unit_test(priv_unit SOURCES ${CMAKE_SOURCE_DIR}/tests/priv/test_priv.c LIBS vmrun_core_test)
set_tests_properties(priv_unit PROPERTIES SKIP_RETURN_CODE 77 LABELS "unit;priv")
vmrun_unit_test(priv_trust SOURCES ${CMAKE_SOURCE_DIR}/tests/priv/test_trust.c LIBS vmrun_core_test)
set_tests_properties(priv_trust PROPERTIES SKIP_RETURN_CODE 77 LABELS "unit;priv")

# vmrun desktop install/remove through the real binary, under sudo-like
# conditions (SUDO_UID set, real uid 0).
add_test(NAME priv_desktop COMMAND sh ${CMAKE_SOURCE_DIR}/tests/priv/desktop.sh)
set_tests_properties(priv_desktop PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS "priv;integration" SKIP_RETURN_CODE 77)

# The desktop launcher through real pkexec and polkitd (a system bus of the
# test's own, in a mount namespace), and the notifications vmrun sends the
# user at the end of the VM (tests/priv/pkexec.sh).
add_test(NAME priv_pkexec COMMAND bash ${CMAKE_SOURCE_DIR}/tests/priv/pkexec.sh)
set_tests_properties(priv_pkexec PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS "priv;integration" SKIP_RETURN_CODE 77 TIMEOUT 120)

# The shipped scripts: man pages render without warnings, the completion
# script parses and completes, the unit and policy files are well formed.
add_test(NAME priv_scripts COMMAND sh ${CMAKE_SOURCE_DIR}/tests/priv/scripts.sh)
set_tests_properties(priv_scripts PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS "priv")

# The attacks on the privilege boundary: an unprivileged user with a sudo
# rule for the release vmrun alone tries each way in (tests/priv/attack/).
# fixture.sh creates the user and the rule before them and removes both
# after, whatever happened in between.
# pidfd_grab: what the user does with the descriptors their own QEMU holds
# (tests/priv/attack/pidfd_grab.c); the fixture installs it for the user.
add_executable(priv_attack_pidfd_grab ${CMAKE_SOURCE_DIR}/tests/priv/attack/pidfd_grab.c)
add_test(NAME priv_attack_setup COMMAND bash ${CMAKE_SOURCE_DIR}/tests/priv/attack/fixture.sh setup)
add_test(NAME priv_attack_cleanup
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/priv/attack/fixture.sh cleanup)
set_tests_properties(priv_attack_setup PROPERTIES FIXTURES_SETUP priv_attack
                     ENVIRONMENT "${VMRUN_TEST_ENV};VMRUN_ATTACK_PIDFD_GRAB=$<TARGET_FILE:priv_attack_pidfd_grab>"
                     LABELS "priv;attack" SKIP_RETURN_CODE 77)
set_tests_properties(priv_attack_cleanup PROPERTIES FIXTURES_CLEANUP priv_attack
                     ENVIRONMENT "${VMRUN_TEST_ENV}" LABELS "priv;attack")
set(attacks_on_hugepages signals storm)
foreach(t disk_links vars_template devices profile_race stdin_namespace env_seams qmp_lies
          looking_glass root_profile access usb qemu_written caller_reads setenv taps device_nodes signals umask consoles
          governor storm)
  set(attack_cmd bash ${CMAKE_SOURCE_DIR}/tests/priv/attack/${t}.sh)
  if(t IN_LIST attacks_on_hugepages)
    # They change this host's real hugepage pool and compare it.
    list(PREPEND attack_cmd ${CMAKE_SOURCE_DIR}/tests/memory/with-hugepage-lock.sh)
  endif()
  add_test(NAME priv_attack_${t} COMMAND ${attack_cmd})
  set(attack_env "${VMRUN_TEST_ENV}")
  if(VMRUN_SANITIZE)
    # The same race, fewer tries: each is several times slower there.
    # sudo passes no ASAN_OPTIONS: ASan's own quarantine then makes the
    # supervisor's memory figure meaningless (qmp_lies.sh skips it).
    list(APPEND attack_env "VMRUN_ATTACK_RACE_TRIES=300" "VMRUN_ATTACK_RACE_SUDO_TRIES=30"
         "VMRUN_ATTACK_SANITIZED=1")
  endif()
  set_tests_properties(priv_attack_${t} PROPERTIES FIXTURES_REQUIRED priv_attack
                       ENVIRONMENT "${attack_env}" LABELS "priv;attack;integration"
                       SKIP_RETURN_CODE 77 TIMEOUT 300 RUN_SERIAL TRUE)
endforeach()
# Two users, 50 starts with failures and crashes: a few minutes at most.
set_tests_properties(priv_attack_storm PROPERTIES TIMEOUT 900)
