#!/bin/bash
# README's first command on a freshly installed Debian, as a new user does
# it: in a throw-away copy of the base root of SUITE (scripts/stack-root.sh:
# minbase, sudo, the package lists, nothing of vmrun's), a new user with a
# sudo rule gets a copy of this checkout (without its build trees) in their
# home and runs ./scripts/demo.sh. It must install the packages, build,
# build the demo guest from SUITE's kernel package, boot it, and end with
# the guest powering itself off (exit 0). Nothing reaches the cached root.
#
#   tests/stacks/readme_demo.sh [SUITE [RECORD]]   (default trixie; as root)
#
# Prints PASS or FAIL lines; exit 0 when every check passed. With RECORD,
# also writes there the run's record for scripts/test.sh's table (the
# format of scripts/stack-leg.sh's records).
set -euo pipefail

suite=${1:-trixie}
record=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || {
    echo "FAIL: needs root (scripts/stack-root.sh)"
    exit 1
}

log=$(mktemp /tmp/vmrun-readme-demo.XXXXXX)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
rc=0
# The user and the checkout are made inside the root; the demo runs as that
# user, with the guest's console on its terminal (a pipe here).
"$top/scripts/stack-root.sh" run --layer base "$suite" --bind-ro "$top:/srv/vmrun-checkout" \
    -- /bin/bash -c '
set -e
useradd --create-home --shell /bin/bash newcomer
echo "newcomer ALL=(ALL:ALL) NOPASSWD: ALL" >/etc/sudoers.d/newcomer
mkdir /home/newcomer/vmrun
tar -C /srv/vmrun-checkout --exclude="./build*" --exclude=.git -cf - . |
    tar -C /home/newcomer/vmrun -xf -
chown -R newcomer: /home/newcomer/vmrun
cd /home/newcomer/vmrun
exec timeout 1800 su newcomer -c "./scripts/demo.sh </dev/null"
' >"$log" 2>&1 || rc=$?
took=$(($(date +%s) - start))

failed=0
check() {
    if eval "$1"; then
        echo "PASS: $2"
    else
        echo "FAIL: $2"
        failed=1
    fi
}
check '[ $rc -eq 0 ]' "README's first command on a fresh $suite exits 0 (exit $rc, $took s)"
check 'grep -q "install-deps: installing:" "$log"' "it installs the packages it needs"
check 'grep -q "^building in .*/build" "$log"' "it builds vmrun"
check 'grep -q "build-guest: done:" "$log"' "it builds the demo guest from $suite's kernel package"
check 'grep -q "vmrun demo guest: up; powering off in 15 s" "$log"' "the demo guest boots"
check 'grep -q "the guest powered off" "$log"' "the guest powers itself off and vmrun says so"
if [ $failed -ne 0 ]; then
    echo "--- the last lines of the run:"
    tail -n 40 "$log"
fi
if [ -n "$record" ]; then
    {
        echo "leg: $suite, freshly installed"
        echo "what: README's first command (scripts/demo.sh) as a new user"
        echo "seconds: $took"
        if [ $failed -eq 0 ]; then
            echo "result: passed: it installs, builds, boots the demo guest and powers it off"
        else
            echo "result: failed (tests/stacks/readme_demo.sh)"
        fi
    } >"$record"
fi
exit $failed
