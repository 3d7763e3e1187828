#!/bin/bash
# `vmrun check`: on this machine with a TCG profile (ready), and against the
# simulated host of the PCI tests (tests/pci/make-fake-host.sh) for the
# device, CPU and firmware verdicts; check must change nothing there.
# Needs VMRUN_BIN and VMRUN_SOURCE_DIR (ctest sets both).
set -euo pipefail

: "${VMRUN_BIN:?}" "${VMRUN_SOURCE_DIR:?}"
tmp=$(mktemp -d /tmp/vmrun-check-test-XXXXXX)
holder=
trap '[ -z "$holder" ] || kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export VMRUN_RUN_DIR=$tmp/run VMRUN_STATE_DIR=$tmp/state

# run NAME ARGS...: vmrun check ARGS, output in $tmp/NAME.out/.err, exit in $rc
run() {
    local name=$1
    shift
    rc=0
    "$VMRUN_BIN" check "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
}
# has NAME REGEX: the output of run NAME has a line matching REGEX
has() {
    grep -Eq -- "$2" "$tmp/$1.out" || fail "$1: no line matching '$2' in:
$(cat "$tmp/$1.out" "$tmp/$1.err")"
}
want_rc() {
    [ "$rc" = "$2" ] || fail "$1: exit $rc, want $2:
$(cat "$tmp/$1.out" "$tmp/$1.err")"
}

# profile FILE [extra JSON members]: a TCG profile with nothing to pass
# through; $MEM replaces its "memory" object
profile() {
    local mem=${MEM:-'{ "size": "64M" }'}
    cat >"$1" <<EOT
{
  "name": "$(basename "$1" .json)",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": $mem,
  "serial": "none",
  "display": "none"${2:-}
}
EOT
}

# ---- 1. this machine, a TCG profile: ready ----------------------------------
demo=$VMRUN_SOURCE_DIR/profiles/demo.json
# The demo profile boots the demo guest (scripts/demo.sh builds it); without
# it, a profile of this test's own stands in.
demo_guest_missing() {
    python3 - "$1" <<'PY'
import json, os, sys
boot = json.load(open(sys.argv[1])).get("boot", {})
sys.exit(0 if any(k in boot and not os.path.exists(boot[k]) for k in ("kernel", "initrd")) else 1)
PY
}
if [ ! -f "$demo" ] || demo_guest_missing "$demo"; then
    demo=$tmp/demo.json
    profile "$demo" ', "firmware": {}'
fi
hp_before=$(cat /sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages | tr '\n' ' ')
run real "$demo"
want_rc real 0
has real '^PASS  kvm +not needed: qemu.accel is "tcg"$'
has real '^PASS  qemu +.* is QEMU [0-9]+\.[0-9]+\.[0-9]+ \(this profile needs 6\.2 or later\)$'
has real '^PASS  running +no VM called '
has real '^PASS  iommu +not needed'
has real '^PASS  memlock +not needed'
has real '^ready: yes$'
if grep -q '^FAIL' "$tmp/real.out"; then fail "real: a FAIL line with exit 0"; fi
hp_after=$(cat /sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages | tr '\n' ' ')
[ "$hp_before" = "$hp_after" ] || fail "real: the hugepage pools changed: $hp_before -> $hp_after"

# Hugepages on this machine's node 0, read-only: a small 2 MiB request fits;
# a 1 GiB one not already in the pool is a WARN naming the boot option;
# more than the node has is a FAIL.
MEM='{ "size": "64M", "hugepages": "2M" }' profile "$tmp/hp2m.json"
run hp2m "$tmp/hp2m.json"
want_rc hp2m 0
has hp2m '^(PASS|WARN)  hugepages +node 0 \('
# Per node: fragmentation and the largest reservation that would succeed.
has hp2m '^(PASS|WARN)  memory node 0 +[0-9.]+ [KMGT]iB free, [0-9]+% of it in pieces smaller than 2 MiB.*The largest reservation that would succeed now: [0-9]+ 2 MiB pages \(.*\) at once, up to [0-9]+'
free1g=$(cat /sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages 2>/dev/null || echo none)
if [ "$free1g" = 0 ]; then
    MEM='{ "size": "2G", "hugepages": "1G" }' profile "$tmp/hp1g.json"
    run hp1g "$tmp/hp1g.json"
    want_rc hp1g 0
    has hp1g '^WARN  hugepages +node 0 .*2 of the 2 1 GiB pages needed for 2 GiB are not in the pool'
    has hp1g 'fix: reserve them at boot: add hugepagesz=1G hugepages=2 to the kernel command line'
fi
MEM='{ "size": "8T", "hugepages": "2M" }' profile "$tmp/hpbig.json"
run hpbig "$tmp/hpbig.json"
want_rc hpbig 1
has hpbig '^FAIL  hugepages +node 0 .* are needed for 8 TiB, but the node has only .* free$'

# JSON: the documented shape
run real-json --json "$demo"
want_rc real-json 0
python3 - "$tmp/real-json.out" "$demo" <<'PY' || fail "real: JSON shape: $(cat "$tmp/real-json.out")"
import json, os, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"profile", "name", "ready", "checks"}, d.keys()
assert d["ready"] is True
assert os.path.samefile(d["profile"], sys.argv[2]), d["profile"]
names = [c["name"] for c in d["checks"]]
for n in ("running", "kvm", "qemu", "cpus", "memory", "memlock", "iommu", "vfio-pci"):
    assert n in names, (n, names)
for c in d["checks"]:
    assert set(c) == {"name", "result", "detail", "hint"}, c
    assert c["result"] in ("PASS", "WARN", "FAIL"), c
    assert isinstance(c["detail"], str) and c["detail"], c
    assert c["hint"] is None or isinstance(c["hint"], str), c
    assert c["result"] != "FAIL", c
PY

# A VM of that name already running: FAIL. A process this test starts holds
# the runtime directory's lock, the way a supervisor does (flock(1) would
# take a BSD lock, which the OFD lock query of runtime.c does not see; a
# POSIX record lock it does).
name=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("name",""))' "$demo")
if [ -n "$name" ]; then
    mkdir -p "$VMRUN_RUN_DIR/$name"
    python3 - "$VMRUN_RUN_DIR/$name/lock" "$tmp/locked" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
open(sys.argv[2], "w").close()
time.sleep(60)
PY
    holder=$!
    for _ in $(seq 50); do [ -f "$tmp/locked" ] && break; sleep 0.1; done
    echo "$holder" >"$VMRUN_RUN_DIR/$name/supervisor.pid"
    run running "$demo"
    kill "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    holder=
    want_rc running 1
    has running "^FAIL  running +$name is already running"
    has running "fix: stop it first: vmrun stop $name"
    rm -rf "${VMRUN_RUN_DIR:?}/$name"
fi

# Bad usage and a bad profile: exit 2, nothing on stdout
run usage --bogus "$demo"
want_rc usage 2
run none
want_rc none 2
echo '{ "name": "bad", "memory": { "size": "lots" } }' >"$tmp/bad.json"
run bad "$tmp/bad.json"
want_rc bad 2
[ ! -s "$tmp/bad.out" ] || fail "bad profile: output on stdout"

# ---- 2. the simulated host --------------------------------------------------
host=$tmp/host
bash "$VMRUN_SOURCE_DIR/tests/pci/make-fake-host.sh" "$host"
# What the PCI tests' host lacks and check reads: CPUs, memory, CPU vendor.
mkdir -p "$host/sys/devices/system/cpu" "$host/sys/devices/system/node/node0"
echo 0-7 >"$host/sys/devices/system/cpu/online"
printf 'MemTotal:       32768000 kB\nMemFree:        30000000 kB\nMemAvailable:   31000000 kB\n' \
    >"$host/proc/meminfo"
printf 'processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU\n' >"$host/proc/cpuinfo"
export VMRUN_SYSFS_ROOT=$host/sys VMRUN_PROCFS_ROOT=$host/proc VMRUN_DEV_ROOT=$host/dev

snapshot() {
    (cd "$host" && find . -printf '%p %l %s %m %T@\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) | md5sum
}
before=$(snapshot)

# A device alone from a group of four: not viable, the others named.
profile "$tmp/nonviable.json" ', "pci": [ { "address": "01:00.0" } ]'
run nonviable "$tmp/nonviable.json"
want_rc nonviable 1
has nonviable '^PASS  iommu +the IOMMU is on \(9 IOMMU groups\)$'
has nonviable '^PASS  vfio-pci +the vfio-pci driver is loaded'
has nonviable '^FAIL  pci 0000:01:00\.0 +0000:01:00\.0 .*IOMMU group 1 is not viable: it also holds 0000:01:00\.1 .*\(driver snd_hda_intel\), 0000:01:00\.2 .*\(driver xhci_hcd\), 0000:01:00\.3 .*\(driver nvidia-gpu\)'
has nonviable 'fix: every endpoint of a group .*\{"address": "0000:01:00\.1"\}, \{"address": "0000:01:00\.2"\}, \{"address": "0000:01:00\.3"\}.*"take_group": true on 0000:01:00\.0'
has nonviable '^ready: no$'

# The same GPU with its whole group: ready, every member reported.
profile "$tmp/group.json" ', "pci": [ { "address": "01:00.0", "take_group": true } ]'
run group "$tmp/group.json"
want_rc group 0
has group '^PASS  pci 0000:01:00\.0 +0000:01:00\.0 .*: driver nvidia, IOMMU group 1 complete \(4 endpoints\), nothing on the host uses it$'
for f in 1 2 3; do
    has group "^PASS  pci 0000:01:00\\.$f .*taken with IOMMU group 1 \\(take_group on 0000:01:00\\.0\\)"
done
has group '^(PASS|WARN)  memlock '

# A device whose group is complete by itself: PASS, exit 0.
profile "$tmp/edu.json" ', "pci": [ { "address": "0000:04:00.0" } ]'
run edu "$tmp/edu.json"
want_rc edu 0
has edu '^PASS  pci 0000:04:00\.0 +0000:04:00\.0 .*: driver none, IOMMU group 4 complete \(1 endpoint\), nothing on the host uses it$'
has edu '^ready: yes$'
run edu-json --json "$tmp/edu.json"
want_rc edu-json 0
python3 - "$tmp/edu-json.out" <<'PY' || fail "edu: JSON: $(cat "$tmp/edu-json.out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ready"] is True and d["name"] == "edu", d
pci = [c for c in d["checks"] if c["name"] == "pci 0000:04:00.0"]
assert len(pci) == 1 and pci[0]["result"] == "PASS" and pci[0]["hint"] is None, pci
PY

# An unknown address.
profile "$tmp/unknown.json" ', "pci": [ { "address": "0000:09:00.0" } ]'
run unknown "$tmp/unknown.json"
want_rc unknown 1
has unknown '^FAIL  pci 0000:09:00\.0 +pci\[0\]: there is no PCI device 0000:09:00\.0 on this host$'
has unknown "fix: 'vmrun iommu' lists"

# Devices in use: a NIC whose link is up (--force takes it: WARN), a disk
# with a mounted file system (never, even with --force).
profile "$tmp/nic.json" ', "pci": [ { "address": "03:00.0" } ]'
run nic "$tmp/nic.json"
want_rc nic 1
has nic '^FAIL  pci 0000:03:00\.0 .*driver e1000e, .*in use: .*enp3s0'
run nic-force --force "$tmp/nic.json"
want_rc nic-force 0
has nic-force '^WARN  pci 0000:03:00\.0 .*in use: .*enp3s0'
profile "$tmp/disk.json" ', "pci": [ { "address": "02:00.0" } ]'
run disk --force "$tmp/disk.json"
want_rc disk 1
has disk '^FAIL  pci 0000:02:00\.0 .*driver nvme, .*/mnt/games'

# A pinned CPU the host does not have.
profile "$tmp/cpu.json" ', "cpu": { "model": "qemu64", "cores": 2, "pin": { "vcpus": [1, 999] } }'
sed -i '/"cpu": { "model": "qemu64", "cores": 1 },/d' "$tmp/cpu.json"
run cpu "$tmp/cpu.json"
want_rc cpu 1
has cpu '^FAIL  cpus +pinned CPUs that are not online on this host: cpu\.pin\.vcpus\[1\] = 999 \(online: 0-7\)$'
profile "$tmp/cpu-ok.json" ', "cpu": { "model": "qemu64", "cores": 2, "pin": { "vcpus": [1, 7], "emulator": [0] } }'
sed -i '/"cpu": { "model": "qemu64", "cores": 1 },/d' "$tmp/cpu-ok.json"
run cpu-ok "$tmp/cpu-ok.json"
want_rc cpu-ok 0
has cpu-ok '^PASS  cpus +pinned CPUs 0-1,7 are online \(online: 0-7\)$'

# Missing firmware and disk; the vars template present.
: >"$tmp/vars.fd"
profile "$tmp/fw.json" ", \"firmware\": { \"code\": \"$tmp/no-such-code.fd\", \"vars_template\": \"$tmp/vars.fd\" },
  \"disks\": [ { \"path\": \"$tmp/no-such-disk.qcow2\", \"format\": \"qcow2\" } ]"
run fw "$tmp/fw.json"
want_rc fw 1
has fw "^FAIL  firmware\\.code +$tmp/no-such-code\\.fd: No such file or directory\$"
has fw "^PASS  firmware\\.vars_template +$tmp/vars\\.fd is a regular file and can be read\$"
has fw "^FAIL  disks\\[0\\] +$tmp/no-such-disk\\.qcow2: No such file or directory\$"

# check changed nothing in the simulated host
after=$(snapshot)
[ "$before" = "$after" ] || fail "vmrun check changed the simulated host"

# The IOMMU off: FAIL with the option for this CPU vendor.
rm -rf "$host/sys/kernel/iommu_groups"/*
run iommu-off "$tmp/edu.json"
want_rc iommu-off 1
has iommu-off '^FAIL  iommu +the IOMMU is off: .*/kernel/iommu_groups has no groups$'
has iommu-off 'fix: enable VT-d in the firmware setup and add intel_iommu=on iommu=pt'
sed -i 's/GenuineIntel/AuthenticAMD/' "$host/proc/cpuinfo"
run iommu-off-amd "$tmp/edu.json"
has iommu-off-amd 'fix: enable AMD-Vi \(IOMMU\) in the firmware setup and add amd_iommu=on'

echo ok
