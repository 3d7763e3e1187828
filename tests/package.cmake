# The Debian package (debian/), end to end in fresh Debian 12 and 13 roots
# (scripts/stack-root.sh): built with dpkg-buildpackage and linted on each,
# installed, used by an ordinary user through sudo to run the demo guest,
# upgraded from the previous build's package with VMs running, removed and
# purged (tests/package/package.sh). Its own label, "package": scripts/test.sh
# runs it once, apart from the suites; "guest" keeps it out of the sanitizer
# build's run (it tests packages, not this build's objects).
add_test(NAME package_deb COMMAND bash ${CMAKE_SOURCE_DIR}/tests/package/package.sh)
set_tests_properties(package_deb PROPERTIES ENVIRONMENT "${VMRUN_TEST_ENV}"
                     LABELS "package;guest" FIXTURES_REQUIRED e2e_demo_guest
                     SKIP_RETURN_CODE 77 TIMEOUT 2400 RUN_SERIAL TRUE)
