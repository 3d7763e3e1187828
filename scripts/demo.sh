#!/bin/sh
# README's first command: install what is needed, build vmrun, build the
# demo guest if it is missing, and run the demo profile: a tiny Linux guest
# under TCG with two pinned vCPUs that boots, prints a banner and powers
# itself off after about 15 s (Ctrl-C powers it off at once, through ACPI).
set -eu
. "$(dirname "$0")/lib.sh"

as_root "$VMRUN_TOP/scripts/install-deps.sh"
build_tree "$VMRUN_TOP/build" -DVMRUN_TESTS=OFF
as_root "$VMRUN_TOP/scripts/build-guest.sh"
exec "$VMRUN_TOP/build/launcher/vmrun" start "$VMRUN_TOP/profiles/demo.json"
