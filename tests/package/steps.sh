#!/bin/bash
# The steps of tests/package/package.sh, as root:
#
#   steps.sh build SRC OUT          build the package of the tree SRC with
#                                   dpkg-buildpackage -us -uc (in a copy:
#                                   it writes next to the tree), lint it
#                                   (lintian --fail-on warning) and copy the
#                                   results to OUT; on the host, whose
#                                   install-deps.sh gave it what it needs
#   steps.sh build-nolint SRC OUT   the same without lintian
#
# and inside a throw-away copy of a Debian root (scripts/stack-root.sh run):
#
#   steps.sh fresh-build SRC OUT    install SRC's Build-Depends as a user
#                                   would (apt-get build-dep ./) and
#                                   lintian, then build as above: the
#                                   Build-Depends are all the build has
#   steps.sh install DEB            a fresh machine: install DEB with apt,
#                                   check it, run the demo guest through it
#                                   as an ordinary user with a sudo rule,
#                                   then remove and purge it
#   steps.sh upgrade OLD NEW        install OLD, start VMs with it (one left
#                                   running, one whose supervisor is killed),
#                                   upgrade to NEW, and check that NEW works
#                                   on them; then everything `install` does
#
# Environment (from package.sh): PKG_UPSTREAM, the version `vmrun --version`
# must print; PKG_FILES, the list of files the package must hold; PKG_SEAMS,
# the test build's variables the installed program must not contain.
# /var/cache/vmrun/demo-guest is the demo guest (bound in).
# Output: one line per check, PASS or FAIL; exit 1 on the first failure.
set -euo pipefail

USER_NAME=vmrun-pkguser
# Its uid: the roots share the host's processes, and a user made in another
# root (or on the host) gets the same first free uid, 1000, so a `pkill -u`
# of that user there would end this user's QEMU here. This one is outside
# the range useradd hands out (1000-60000).
USER_UID=64123
GUEST_DIR=/var/cache/vmrun/demo-guest
HP_LOCK=/run/lock/vmrun-hugepages.lock
start_s=$(date +%s)

say() { echo "[$(($(date +%s) - start_s)) s] $*"; }
pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*"
    exit 1
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
as_user() { runuser -u "$USER_NAME" -- "$@"; }
# gone PID: the process has exited (and been reaped) within 10 s.
gone() {
    local n=0
    while [ -e "/proc/$1" ]; do
        n=$((n + 1))
        [ $n -lt 100 ] || return 1
        sleep 0.1
    done
}

# apt-get with no questions and a bounded wait for its locks: dpkg's is
# this root's, but the downloaded packages' directory is shared by every
# run of the suite's roots (scripts/stack-root.sh), and apt gives up at once
# when another run holds it.
apt_q() {
    local n=0 rc
    while :; do
        rc=0
        apt-get -q -y -o DPkg::Lock::Timeout=300 "$@" 2>/tmp/apt.err || rc=$?
        if [ $rc != 0 ] && grep -q "Could not get lock /var/cache/apt/archives/lock" /tmp/apt.err &&
            [ $n -lt 120 ]; then
            n=$((n + 1))
            sleep 5
            continue
        fi
        cat /tmp/apt.err >&2
        return $rc
    done
}

# The package lists of a cached root can be days old; a fresh machine's
# are not.
fresh_lists() {
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -720 -print -quit)" ]; then
        say "apt-get update"
        apt_q update >/dev/null
    fi
}

# ---- build -------------------------------------------------------------

# build SRC DEST LINT: build a copy of SRC in DEST/tree, lint it when LINT
# is 1, copy the results to DEST.
build() {
    local src=$1 dest=$2 lint=$3 tmp=$2/tree changes
    rm -rf "$tmp"
    mkdir -p "$tmp"
    cp -a "$src" "$tmp/vmrun"
    DEB_BUILD_OPTIONS="parallel=$(nproc)"
    export DEB_BUILD_OPTIONS
    say "dpkg-buildpackage -us -uc of $(dpkg-parsechangelog -l "$tmp/vmrun/debian/changelog" -S Version)" \
        "on $(. /etc/os-release && echo "$PRETTY_NAME")"
    (cd "$tmp/vmrun" && dpkg-buildpackage -us -uc) >"$dest/build.log" 2>&1 ||
        { tail -n 40 "$dest/build.log"; fail "dpkg-buildpackage -us -uc of $src"; }
    pass "dpkg-buildpackage -us -uc of $src"
    changes=$(ls "$tmp"/vmrun_*.changes)
    if [ "$lint" = 1 ]; then
        say "lintian $(lintian --version | cut -d' ' -f2) --fail-on warning"
        if lintian --fail-on warning --display-info "$changes" >"$dest/lintian.log" 2>&1; then
            cat "$dest/lintian.log"
            pass "lintian --fail-on warning"
        else
            cat "$dest/lintian.log"
            fail "lintian --fail-on warning"
        fi
    fi
    cp "$tmp"/vmrun_* "$dest/"
    rm -rf "$tmp"
}

fresh_build() {
    fresh_lists
    say "apt-get build-dep ./ (the Build-Depends of $1) and lintian"
    apt_q --no-install-recommends build-dep "$1" >/dev/null
    apt_q --no-install-recommends install lintian >/dev/null
    build "$1" "$2" 1
}

# ---- a machine to install on ------------------------------------------

# What the package expects of a Debian machine, and an ordinary user who
# may run vmrun through sudo.
setup_machine() {
    # stack-root.sh binds the host's /run/vmrun here (its hugepage ledger);
    # the package must find a machine of its own, whose /run/vmrun it may
    # create and purge.
    # The host's stays reachable at /run/vmrun-host for its lock (below).
    if mountpoint -q /run/vmrun; then
        mkdir -p /run/vmrun-host
        mount --bind /run/vmrun /run/vmrun-host
        while mountpoint -q /run/vmrun; do umount /run/vmrun; done
    fi
    rmdir /run/vmrun 2>/dev/null || true
    [ ! -e /run/vmrun ] || fail "/run/vmrun is left in the root"
    fresh_lists
    # A Debian machine runs systemd (minbase has none): its tmpfiles make
    # the package's directories.
    say "installing systemd"
    apt_q --no-install-recommends install systemd passwd >/dev/null
    useradd --create-home --shell /bin/sh --uid $USER_UID --user-group "$USER_NAME"
    printf '%s ALL=(root) NOPASSWD: /usr/bin/vmrun\n' "$USER_NAME" >/etc/sudoers.d/vmrun-pkguser
    chmod 0440 /etc/sudoers.d/vmrun-pkguser
    visudo -cqf /etc/sudoers.d/vmrun-pkguser
    [ -r "$GUEST_DIR/vmlinux" ] || fail "no demo guest in $GUEST_DIR"
}

# install_deb DEB: with its Depends and Recommends, as a user gets it; not
# the Recommends of its dependencies (QEMU's bring a graphics stack the
# test has no use for, and minutes of unpacking).
install_deb() {
    local rec
    rec=$(dpkg-deb -f "$1" Recommends | sed 's/|[^,]*//g' | tr -d ' ' | tr ',' ' ')
    say "apt-get install $(basename "$1") $rec"
    # shellcheck disable=SC2086
    apt_q --no-install-recommends install "$1" $rec >/tmp/apt-install.log 2>&1 || {
        tail -n 30 /tmp/apt-install.log
        fail "apt-get install $(basename "$1")"
    }
    local want got
    want=$(dpkg-deb -f "$1" Version)
    got=$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' vmrun)
    check "vmrun $want is installed" [ "$got" = "$want ii " ]
}

# A VM of the demo guest that runs until it is stopped (the example
# stops itself after 15 s), its console in /var/lib/vmrun/NAME/serial.log.
write_demo_variant() { # write_demo_variant NAME [JSON memory object]
    local name=$1 memory=${2:-'{ "size": "256M", "hugepages": false }'}
    cat >"/etc/vmrun/$name.json" <<EOF
{
  "name": "$name",
  "qemu": { "accel": "tcg" },
  "boot": {
    "kernel": "$GUEST_DIR/vmlinux",
    "initrd": "$GUEST_DIR/initramfs.cpio.gz",
    "cmdline": "console=ttyS0 quiet vmrun.poweroff=0"
  },
  "cpu": { "model": "qemu64", "pin": { "vcpus": [0, 1] } },
  "memory": $memory,
  "display": "none",
  "serial": "log",
  "shutdown": { "timeout": 60 }
}
EOF
    chmod 0644 "/etc/vmrun/$name.json"
}

# vm_report NAME: what there is to know about a VM that went wrong.
vm_report() {
    local f
    { vmrun status "$1" 2>&1 || true; } | sed "s/^/    status: /"
    for f in /run/vmrun/$1/log /var/lib/vmrun/$1/last.log /var/lib/vmrun/$1/serial.log; do
        if [ -f "$f" ]; then
            echo "    --- $f"
            tail -n 25 "$f" | sed 's/^/    /'
        fi
    done
}

wait_banner() { # wait_banner NAME: the guest is up and listens to ACPI
    local log=/var/lib/vmrun/$1/serial.log n=0
    while ! grep -q "vmrun demo guest: up" "$log" 2>/dev/null; do
        n=$((n + 1))
        if [ $n -ge 1800 ] || [ ! -d "/run/vmrun/$1" ]; then
            vm_report "$1"
            [ -d "/run/vmrun/$1" ] || fail "$1 ended before its guest came up"
            fail "the guest of $1 did not come up in 180 s"
        fi
        sleep 0.1
    done
}

json_field() { # json_field KEY: the first number or string field KEY
    sed -n "s/.*\"$1\":[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}

# ---- the checks of an installed package --------------------------------

check_installed() {
    say "checking what the package installed"
    # The files, wherever this release's debhelper puts the unit.
    dpkg -L vmrun | while read -r f; do [ -d "$f" ] || echo "$f"; done |
        sed 's|^/lib/|/usr/lib/|' | sort >/tmp/files.got
    if ! diff -u "$PKG_FILES" /tmp/files.got; then
        fail "the package's files are not the expected list ($PKG_FILES)"
    fi
    pass "the package has exactly the expected files (no vmrun-test, no test seams' program)"
    check "/usr/bin/vmrun is root's, mode 0755" [ "$(stat -c '%U %G %a' /usr/bin/vmrun)" = "root root 755" ]
    check "/etc/vmrun is root's, mode 0755" [ "$(stat -c '%U %G %a' /etc/vmrun)" = "root root 755" ]
    check "/etc/vmrun is empty: no profile is enabled" [ -z "$(ls -A /etc/vmrun)" ]
    check "/var/lib/vmrun is root's, mode 0711 (tmpfiles.d)" \
        [ "$(stat -c '%U %G %a' /var/lib/vmrun 2>&1)" = "root root 711" ]
    check "/run/vmrun is root's, mode 0755 (tmpfiles.d)" \
        [ "$(stat -c '%U %G %a' /run/vmrun 2>&1)" = "root root 755" ]
    check "no VM is enabled or started: no vmrun@ unit is wanted" \
        [ -z "$(find /etc/systemd/system -name 'vmrun@*' -print -quit)" ]
    check "the unit's ExecStart names the installed program" \
        grep -qx 'ExecStart=/usr/bin/vmrun start /etc/vmrun/%i.json' "$(dpkg -L vmrun | grep 'vmrun@.service$')"
    check "bash completion is loadable and completes vmrun" \
        bash -c '. /usr/share/bash-completion/completions/vmrun && complete -p vmrun >/dev/null'
    # The installed program carries none of the test build's seams.
    local seam
    for seam in $PKG_SEAMS; do
        if grep -aq "$seam" /usr/bin/vmrun; then fail "/usr/bin/vmrun contains the test seam $seam"; fi
    done
    pass "/usr/bin/vmrun contains none of the test seams ($PKG_SEAMS)"
}

check_user_runs_demo() {
    say "the demo profile, as an ordinary user through sudo"
    local v
    v=$(as_user vmrun --version)
    check "vmrun --version says $PKG_UPSTREAM ($v)" [ "$v" = "vmrun $PKG_UPSTREAM" ]
    # The administrator enables the example, as README says.
    cp /usr/share/doc/vmrun/examples/demo.json /etc/vmrun/demo.json
    if ! as_user sudo -n vmrun check demo >/tmp/check.out 2>&1; then
        cat /tmp/check.out
        fail "vmrun check demo (through sudo)"
    fi
    as_user sudo -n vmrun check --json demo >/tmp/check.json
    if ! grep -q '"ready":[[:space:]]*true' /tmp/check.json; then
        cat /tmp/check.json
        fail "vmrun check --json demo: not ready"
    fi
    pass "vmrun check demo: ready"

    write_demo_variant pkg-demo
    local t0
    t0=$(date +%s)
    as_user sudo -n vmrun start --detach pkg-demo >/tmp/start.out 2>&1 ||
        { cat /tmp/start.out; fail "vmrun start --detach pkg-demo (through sudo)"; }
    wait_banner pkg-demo
    pass "the demo guest came up in $(($(date +%s) - t0)) s"
    local st qemu
    st=$(as_user sudo -n vmrun status pkg-demo --json)
    qemu=$(echo "$st" | json_field qemu_pid)
    check "vmrun status: running" [ "$(echo "$st" | json_field state)" = running ]
    check "QEMU runs as the user, not root" [ "$(stat -c %U "/proc/$qemu")" = "$USER_NAME" ]
    as_user sudo -n vmrun stop pkg-demo >/tmp/stop.out 2>&1 ||
        { cat /tmp/stop.out; fail "vmrun stop pkg-demo (through sudo)"; }
    check "vmrun stop: the guest powered off on the ACPI request" \
        grep -q "'pkg-demo': stopped: the guest powered off on the ACPI request" /tmp/stop.out
    check "the guest powered off: QEMU is gone" gone "$qemu"
    check "the runtime directory is gone" [ ! -e /run/vmrun/pkg-demo ]
    check "the guest's state stays in /var/lib/vmrun" [ -s /var/lib/vmrun/pkg-demo/serial.log ]
}

# What purge must remove, and remove leave.
check_remove_purge() {
    say "remove, then purge"
    apt_q remove vmrun >/tmp/remove.log 2>&1 || { cat /tmp/remove.log; fail "apt-get remove vmrun"; }
    check "removed: configuration files left (dpkg: rc)" \
        [ "$(dpkg-query -W -f='${db:Status-Abbrev}' vmrun)" = "rc " ]
    check "removed: the profiles in /etc/vmrun stay" [ -f /etc/vmrun/demo.json ]
    check "removed: the VMs' state in /var/lib/vmrun stays" [ -s /var/lib/vmrun/pkg-demo/serial.log ]
    check "removed: the program is gone" [ ! -e /usr/bin/vmrun ]
    apt_q purge vmrun >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; fail "apt-get purge vmrun"; }
    check "purged: dpkg knows no vmrun" sh -c '! dpkg-query -W vmrun >/dev/null 2>&1'
    local f left=""
    # Every file the package had (the unit under /lib or /usr/lib), and
    # the directories vmrun keeps its profiles and VMs in.
    for f in $(sed 's|^/usr/lib/systemd/|/lib/systemd/|' "$PKG_FILES") /usr/lib/systemd/system/vmrun@.service \
        /etc/vmrun /var/lib/vmrun /run/vmrun; do
        if [ -e "$f" ]; then left="$left $f"; fi
    done
    check "purged: nothing of vmrun's is left${left:+ (left:$left)}" [ -z "$left" ]
}

# ---- the upgrade with VMs running ---------------------------------------

# Run by `upgrade` with two locks held (flock -o): the machine-wide one of
# the tests that look at the hugepage pool, and the host's vmrun's own
# ledger lock (this root's vmrun keeps its own ledger, so while both run,
# no vmrun on the host changes the pool under the figures below). A VM
# whose host change is real (hugepages added to the host's pool) is
# started by OLD, its supervisor killed, the package upgraded to NEW, and
# NEW's `vmrun recover` must undo what OLD journaled.
upgrade_locked() {
    local new=$1 sysfs=/sys/kernel/mm/hugepages/hugepages-2048kB
    local before free pages sup qemu_up sup_up st
    before=$(cat $sysfs/nr_hugepages)
    free=$(cat $sysfs/free_hugepages)
    # More than the pool has free, so OLD must grow it: 32 pages beyond.
    # (Free pages nobody gave back would make that a big guest.)
    [ "$free" -le 512 ] || fail "the host's 2 MiB pool has $free free pages: left by something else?"
    pages=$((free + 32))
    write_demo_variant pkg-crash "{ \"size\": \"$((pages * 2))M\", \"hugepages\": \"2M\" }"
    vmrun start --detach pkg-crash >/tmp/crash.out 2>&1 || { cat /tmp/crash.out; fail "vmrun start pkg-crash (old)"; }
    sup=$(cat /run/vmrun/pkg-crash/supervisor.pid)
    check "old vmrun grew the host's 2 MiB pool ($before -> $(cat $sysfs/nr_hugepages))" \
        [ "$(cat $sysfs/nr_hugepages)" -gt "$before" ]
    check "old vmrun journaled it" grep -q '"hugepages-reserve"' /run/vmrun/pkg-crash/journal
    kill -KILL "$sup"
    gone "$sup" || fail "the old supervisor of pkg-crash outlived SIGKILL"
    check "old supervisor killed: pkg-crash's runtime directory is left" [ -d /run/vmrun/pkg-crash ]
    check "... and its pages are still in the pool" [ "$(cat $sysfs/nr_hugepages)" -gt "$before" ]

    if [ ! -d /run/vmrun/pkg-up ]; then
        vm_report pkg-up
        fail "pkg-up, started by the old program, ended before the upgrade"
    fi
    sup_up=$(cat /run/vmrun/pkg-up/supervisor.pid)
    qemu_up=$(cat /run/vmrun/pkg-up/qemu.pid)
    install_deb "$new"
    # The new package's refusal: removing it while a VM runs or waits to
    # be recovered changes nothing.
    if apt_q remove vmrun >/tmp/remove.log 2>&1; then fail "apt-get remove went on with VMs running"; fi
    sed -n 's/^/    /; /vmrun:\|pkg-/p' /tmp/remove.log
    check "apt-get remove is refused, naming the running VM" grep -q "pkg-up: running" /tmp/remove.log
    check "... and the stale one" grep -q "pkg-crash: its supervisor died" /tmp/remove.log
    check "... the package stays installed" [ "$(dpkg-query -W -f='${db:Status-Abbrev}' vmrun)" = "ii " ]

    check "the VM kept running through the upgrade: its supervisor" [ -e "/proc/$sup_up" ]
    check "... and its QEMU" [ -e "/proc/$qemu_up" ]
    check "... its supervisor is the old program (replaced on disk)" \
        grep -q ' (deleted)$' <<<"$(readlink "/proc/$sup_up/exe")"
    st=$(as_user sudo -n vmrun status pkg-up --json)
    check "new vmrun status reads the old VM: running" [ "$(echo "$st" | json_field state)" = running ]
    check "... with the same QEMU" [ "$(echo "$st" | json_field qemu_pid)" = "$qemu_up" ]
    # Nothing may have recovered it before the new program does.
    check "the old program's journal is still there" grep -q '"hugepages-reserve"' /run/vmrun/pkg-crash/journal
    echo "the old journal:"
    sed 's/^/    /' /run/vmrun/pkg-crash/journal
    local rc=0
    vmrun recover pkg-crash >/tmp/recover.out 2>&1 || rc=$?
    sed 's/^/    /' /tmp/recover.out
    check "new vmrun recover pkg-crash: exit 0" [ $rc = 0 ]
    check "... it recovered the VM" grep -q "'pkg-crash': host restored" /tmp/recover.out
    check "new vmrun recover undid the old journal: the pool is back to $before pages" \
        [ "$(cat $sysfs/nr_hugepages)" = "$before" ]
    check "... the runtime directory is gone" [ ! -e /run/vmrun/pkg-crash ]
    check "... no claim is left in the hugepage ledger" \
        sh -c '! grep -qs pkg-crash /run/vmrun/.hugepages.ledger'
}

# If anything failed with the lock held: the host's pool goes back.
restore_pool() {
    local before=$1
    vmrun recover pkg-crash >/dev/null 2>&1 || true
    echo "$before" >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
}

do_upgrade() {
    local old=$1 new=$2
    setup_machine
    install_deb "$old"
    write_demo_variant pkg-up
    say "the old program starts pkg-up (as the user) and pkg-crash (as root)"
    as_user sudo -n vmrun start --detach pkg-up >/tmp/up.out 2>&1 || { cat /tmp/up.out; fail "old vmrun start pkg-up"; }
    wait_banner pkg-up
    local qemu_up sup_up
    qemu_up=$(cat /run/vmrun/pkg-up/qemu.pid)
    sup_up=$(cat /run/vmrun/pkg-up/supervisor.pid)
    local rc=0 host_lock=/run/vmrun-host/.hugepages.lock host_flock=()
    if [ -d /run/vmrun-host ]; then
        [ -e $host_lock ] || (umask 077 && : >>$host_lock)
        host_flock=(flock -o -w 600 -E 201 "$host_lock")
    fi
    flock -o -w 1200 -E 200 "$HP_LOCK" "${host_flock[@]}" bash "$0" __upgrade_locked "$new" || rc=$?
    [ $rc = 200 ] && fail "waited 1200 s for the machine-wide hugepage lock $HP_LOCK"
    [ $rc = 201 ] && fail "waited 600 s for the host's vmrun hugepage lock $host_lock"
    [ $rc = 0 ] || exit $rc
    say "the new program stops the old program's VM"
    as_user sudo -n vmrun stop pkg-up >/tmp/stop.out 2>&1 || { cat /tmp/stop.out; fail "new vmrun stop pkg-up"; }
    sed 's/^/    /' /tmp/stop.out
    # The old supervisor took the new program's request and answered in a
    # form the new program reads.
    check "new vmrun stop: the old VM powered off on the ACPI request" \
        grep -q "'pkg-up': stopped: the guest powered off on the ACPI request" /tmp/stop.out
    check "new vmrun stop ended the old VM: its QEMU is gone" gone "$qemu_up"
    check "... and its supervisor" gone "$sup_up"
    check "... and its runtime directory" [ ! -e /run/vmrun/pkg-up ]
    rm -f /etc/vmrun/pkg-up.json /etc/vmrun/pkg-crash.json
    check_installed
    check_user_runs_demo
    check_remove_purge
}

do_install() {
    setup_machine
    install_deb "$1"
    check_installed
    check_user_runs_demo
    check_remove_purge
}

case ${1:-} in
build) build "$2" "$3" 1 ;;
build-nolint) build "$2" "$3" 0 ;;
fresh-build) fresh_build "$2" "$3" ;;
install) do_install "$2" ;;
upgrade) do_upgrade "$2" "$3" ;;
__upgrade_locked)
    before=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)
    trap 'rc=$?; [ $rc = 0 ] || restore_pool '"$before"'; exit $rc' EXIT
    upgrade_locked "$2"
    ;;
*)
    echo "usage: steps.sh build|build-nolint|fresh-build SRC OUT | install DEB | upgrade OLD NEW" >&2
    exit 2
    ;;
esac
say "done"
