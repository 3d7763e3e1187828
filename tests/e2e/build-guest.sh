#!/bin/bash
# The guests this build tree's end-to-end tests boot, built from this
# checkout's scripts into the build tree (so that other checkouts building
# /var/cache/vmrun's guests from older scripts cannot take a feature away
# from under these tests):
#   tests/e2e/build-guest.sh demo|lab
# into $VMRUN_BUILD_DIR/guests/demo or .../lab. A second run with nothing
# changed does nothing (build-guest.sh's stamp). Needs root (the kernel
# package cache in /var/cache/vmrun/debs).
set -euo pipefail
kind=${1:?usage: build-guest.sh demo|lab}
: "${VMRUN_BUILD_DIR:?VMRUN_BUILD_DIR must name the build tree}"
: "${VMRUN_SOURCE_DIR:?VMRUN_SOURCE_DIR must name the source tree}"
exec "$VMRUN_SOURCE_DIR/scripts/build-guest.sh" "--$kind" "$VMRUN_BUILD_DIR/guests/$kind"
