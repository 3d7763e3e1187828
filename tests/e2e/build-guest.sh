#!/bin/bash
# The guests this build tree's end-to-end tests boot, built from this
# checkout's scripts into the build tree (so that other checkouts building
# /var/cache/vmrun's guests from older scripts cannot take a feature away
# from under these tests):
#   tests/e2e/build-guest.sh demo|lab [SUITE]
# into $VMRUN_BUILD_DIR/guests/demo or .../lab; with SUITE (a Debian suite:
# trixie, sid) the kernel of that suite, into .../lab-SUITE. A second run
# with nothing changed does nothing (build-guest.sh's stamp). Needs root
# (the kernel package cache in /var/cache/vmrun/debs).
set -euo pipefail
kind=${1:?usage: build-guest.sh demo|lab [SUITE]}
suite=${2:-}
: "${VMRUN_BUILD_DIR:?VMRUN_BUILD_DIR must name the build tree}"
: "${VMRUN_SOURCE_DIR:?VMRUN_SOURCE_DIR must name the source tree}"
if [ -n "$suite" ]; then
    exec "$VMRUN_SOURCE_DIR/scripts/build-guest.sh" "--$kind" --suite "$suite" \
        "$VMRUN_BUILD_DIR/guests/$kind-$suite"
fi
exec "$VMRUN_SOURCE_DIR/scripts/build-guest.sh" "--$kind" "$VMRUN_BUILD_DIR/guests/$kind"
