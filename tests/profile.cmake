# The profile parser and loader (launcher/profile_*.c, jsonpos.c, size.c,
# diag.c) and the example profiles.
#   test_profile        cmocka: every example profile parses; every bad
#                       profile of tests/profile/bad/ gives exactly the errors
#                       tests/profile/bad.tsv lists (position, path,
#                       message); all errors of a file in one run; defaults,
#                       sizes, positions, lookup and loading
#   profile_cli_bad     `vmrun print-cmd` on each bad profile: exit 2 and
#                       "FILE:LINE:COL: PATH:" on stderr
#   profile_replay      the fuzz corpus through the harness (gcc builds);
#                       with VMRUN_FUZZ also profile_fuzzer and profile_fuzz
vmrun_unit_test(test_profile SOURCES profile/test_profile.c LIBS vmrun_profile)
target_compile_definitions(test_profile PRIVATE VMRUN_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")

add_test(NAME profile_cli_bad COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/profile/cli_bad.sh)
set_tests_properties(profile_cli_bad PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS integration TIMEOUT 120)

vmrun_fuzz_target(profile SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/profile/profile_fuzz.c
                  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/profile/corpus LIBS vmrun_profile)
