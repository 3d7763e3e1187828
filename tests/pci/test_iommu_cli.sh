#!/bin/bash
# `vmrun iommu [--json]` against the simulated host, and read-only on the
# real one. Needs VMRUN_BIN and VMRUN_FAKE_HOST (ctest sets both).
set -euo pipefail

: "${VMRUN_BIN:?}" "${VMRUN_FAKE_HOST:?}"
tmp=$(mktemp -d /tmp/vmrun-iommu-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$VMRUN_FAKE_HOST" "$tmp/host"
export VMRUN_SYSFS_ROOT=$tmp/host/sys VMRUN_PROCFS_ROOT=$tmp/host/proc VMRUN_DEV_ROOT=$tmp/host/dev
before=$(cd "$tmp/host" && find . -printf '%p %l %s\n' | LC_ALL=C sort | md5sum)

# Text
"$VMRUN_BIN" iommu >"$tmp/out" || fail "vmrun iommu exited $?"
grep -q '^IOMMU group 1$' "$tmp/out" || fail "no group 1"
grep -q '0000:01:00.0 \[10de:1e07\] VGA compatible controller \[0300\]: NVIDIA Corporation TU102' "$tmp/out" \
    || fail "GPU line missing: $(cat "$tmp/out")"
grep -q 'driver nvidia, NUMA node -1, reset flr bus' "$tmp/out" || fail "driver/reset line"
grep -q 'boot VGA' "$tmp/out" || fail "boot VGA not shown"
grep -q 'warning: the GPU 0000:06:00.0 shares this group with 0000:07:00.0 ASMedia' "$tmp/out" \
    || fail "group 7 warning missing"
[ "$(grep -c 'warning:' "$tmp/out")" = 1 ] || fail "unexpected warnings: $(grep warning: "$tmp/out")"

# JSON: the documented shape
"$VMRUN_BIN" iommu --json >"$tmp/json" || fail "vmrun iommu --json exited $?"
python3 - "$tmp/json" <<'PY' || fail "JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["iommu_enabled"] is True
groups = {g["group"]: g for g in d["groups"]}
assert sorted(groups) == list(range(9)), sorted(groups)
gpu = [x for x in groups[1]["devices"] if x["address"] == "0000:01:00.0"][0]
assert gpu["vendor"] == "10de" and gpu["device"] == "1e07" and gpu["class"] == "0300", gpu
assert "TU102" in gpu["name"] and gpu["driver"] == "nvidia", gpu
assert gpu["reset_methods"] == ["flr", "bus"] and gpu["numa_node"] == -1, gpu
assert gpu["bridge"] is False and gpu["boot_vga"] is False
edu = groups[4]["devices"][1]
assert edu["address"] == "0000:04:00.0" and edu["driver"] is None, edu
assert groups[1]["warnings"] == [] and len(groups[7]["warnings"]) == 1
for g in d["groups"]:
    for x in g["devices"]:
        assert set(x) == {"address", "vendor", "device", "class", "class_name", "name",
                          "driver", "numa_node", "reset_methods", "bridge", "boot_vga"}, x
PY

# Read-only
after=$(cd "$tmp/host" && find . -printf '%p %l %s\n' | LC_ALL=C sort | md5sum)
[ "$before" = "$after" ] || fail "vmrun iommu changed the simulated host"

# IOMMU off
rm -rf "$tmp/host/sys/kernel/iommu_groups"/*
rc=0
"$VMRUN_BIN" iommu >"$tmp/out" 2>"$tmp/err" || rc=$?
[ $rc = 1 ] || fail "IOMMU off: exit $rc, want 1"
grep -q 'the IOMMU is off: enable VT-d / AMD-Vi' "$tmp/err" || fail "IOMMU off message: $(cat "$tmp/err")"
rc=0
"$VMRUN_BIN" iommu --json >"$tmp/json" 2>/dev/null || rc=$?
[ $rc = 1 ] || fail "IOMMU off --json: exit $rc"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"iommu_enabled":False,"groups":[]}' "$tmp/json" \
    || fail "IOMMU off JSON"

# Usage
rc=0
"$VMRUN_BIN" iommu --bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || fail "bad option: exit $rc, want 2"

# The real host, read-only: either groups or the IOMMU-off message.
unset VMRUN_SYSFS_ROOT VMRUN_PROCFS_ROOT VMRUN_DEV_ROOT
rc=0
"$VMRUN_BIN" iommu >"$tmp/out" 2>"$tmp/err" || rc=$?
if [ $rc = 0 ]; then
    grep -q '^IOMMU group ' "$tmp/out" || fail "real host: exit 0 without groups"
else
    [ $rc = 1 ] && grep -q 'the IOMMU is off' "$tmp/err" || fail "real host: exit $rc: $(cat "$tmp/err")"
fi
echo "ok"
