#!/bin/bash
# `vmrun stop` makes a reply directory (.stop-XXXXXX) in the run root for
# the supervisor's answer. Interrupted while it waits (SIGINT, SIGTERM,
# SIGHUP), it dies of the signal and leaves nothing there. What it cannot
# clean up itself (SIGKILL), and what earlier versions left, the next stop
# removes; the directory of a stop still waiting is left alone, and that
# stop still gets its answer.
. "$(dirname "$0")/lib.sh"
RUN=$VMRUN_RUN_DIR

leftovers() {
    find "$RUN" -maxdepth 1 -name '.stop-*' 2>/dev/null | sort
}

# Start a firmware-only VM (it ignores ACPI) with a shutdown timeout (by
# default a long one, so that a stop waits until it is interrupted or
# forced).
start_vm() {
    profile=$(write_firmware_profile "$1" "${2:-120}")
    "$VMRUN_BIN" start --detach "$profile" >"$T/$1-start.log" 2>&1 ||
        fail "start --detach $1 failed: $(cat "$T/$1-start.log")"
    STARTED_PIDS="$STARTED_PIDS $(cat "$RUN/$1/supervisor.pid")"
}

# Run `vmrun stop NAME` in the background until it waits for the
# supervisor; sets STOP_PID. A background command of a script starts with
# SIGINT ignored: give it the default, as a stop run from a terminal has.
stop_in_background() {
    env --default-signal=INT "$VMRUN_BIN" stop "$1" >"$T/$1-stop.log" 2>&1 &
    STOP_PID=$!
    STARTED_PIDS="$STARTED_PIDS $STOP_PID"
    wait_for 20 grep -q "^stopping '$1'" "$T/$1-stop.log" || fail "stop $1 did not start waiting"
    [ -n "$(leftovers)" ] || fail "stop $1 made no reply directory (the test shows nothing)"
}

force_stop() {
    "$VMRUN_BIN" stop --force "$1" >"$T/$1-force.log" 2>&1 ||
        fail "stop --force $1 failed: $(cat "$T/$1-force.log")"
}

n=0
for sig in INT TERM HUP; do
    n=$((n + 1))
    name=intr$n
    start_vm $name
    stop_in_background $name
    kill -s $sig "$STOP_PID"
    wait_exit "$STOP_PID" 10
    want=$((128 + $(kill -l $sig)))
    [ "$code" = "$want" ] || fail "SIG$sig: stop exited $code, expected $want (death by the signal)"
    [ -z "$(leftovers)" ] || fail "SIG$sig: the interrupted stop left $(leftovers)"
    force_stop $name
    [ -z "$(leftovers)" ] || fail "stop --force $name left $(leftovers)"
    [ ! -e "$RUN/$name" ] || fail "runtime directory of $name left behind"
    echo "PASS: a stop interrupted by SIG$sig leaves nothing"
done

# SIGKILL cannot be cleaned up after by the stop itself; an earlier version
# left its directory on any interruption (planted here as it made them).
start_vm killed
stop_in_background killed
kill -KILL "$STOP_PID"
wait_exit "$STOP_PID" 10
[ -n "$(leftovers)" ] || fail "after SIGKILL, no reply directory is left (the sweep shows nothing)"
old=$(mktemp -d "$RUN/.stop-XXXXXX")
: >"$old/reply"
# A stop still waiting for another VM (whose guest gets 15 s to power off,
# then QEMU is told to quit): its directory must survive the sweep.
start_vm waiting 15
before=$(leftovers)
stop_in_background waiting
waiting_dir=$(comm -13 <(echo "$before") <(leftovers))
force_stop killed
kill -0 "$STOP_PID" 2>/dev/null || fail "the waiting stop ended before the sweep (the test shows nothing)"
left=$(leftovers)
[ "$left" = "$waiting_dir" ] ||
    fail "after the next stop, expected only the waiting stop's $waiting_dir, found: $left"
echo "PASS: the next stop removes what a killed stop and an earlier version left"
wait_exit "$STOP_PID" 60
[ "$code" = 0 ] || fail "the waiting stop exited $code: $(cat "$T/waiting-stop.log")"
grep -q "^'waiting': stopped: QEMU was told to quit" "$T/waiting-stop.log" ||
    fail "the waiting stop lost its answer: $(cat "$T/waiting-stop.log")"
[ -z "$(leftovers)" ] || fail "left after both stops: $(leftovers)"
echo "PASS: a waiting stop keeps its directory through another's sweep and gets its answer"
