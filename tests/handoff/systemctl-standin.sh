#!/bin/bash
# A stand-in for systemctl, for hosts without systemd: the lab guest (L1)
# and the simulated hosts of the handoff tests. It knows the few calls vmrun
# makes and manages "units" described by files:
#
#   systemctl-standin.sh --state DIR [--user --machine=USER@] \
#       [--no-ask-password] [--no-pager] show --property=... -- UNIT
#                                         ... start|stop -- UNIT
#
# DIR/units/NAME (system units) or DIR/user/USER/NAME (user units), lines of
# KEY=VALUE:
#   alias=OTHER       UNIT is also known as OTHER (display-manager.service)
#   holds=PATH        while it runs, its process holds PATH open
#   mode=process      (default) a real process (sleep) holding PATH, moved
#                     into the cgroup /system.slice/NAME when cgroup2 is
#                     writable: what a display manager looks like
#   mode=fakeproc:DIR no process: DIR/PID (a simulated /proc) gets fd/3 ->
#                     PATH, comm and a cgroup line, as a holder would
#   stop_hang=1       `stop` never finishes (for vmrun's time limit)
#   start_fail=1      `start` fails
# State: DIR/run/[USER.]NAME.pid while it runs; every call is appended to
# DIR/calls.log. Exit codes as systemctl's: 0, 1 (failed), 5 (not loaded).
set -u
state=
user=
while [ $# -gt 0 ]; do
    case $1 in
    --state) state=$2; shift ;;
    --user) ;;
    --machine=*) user=${1#--machine=}; user=${user%@*} ;;
    --no-ask-password | --no-pager | --property=*) ;;
    --) shift; break ;;
    -*) echo "systemctl stand-in: unknown option $1" >&2; exit 1 ;;
    *) if [ -z "${verb:-}" ]; then verb=$1; else unit=$1; fi ;;
    esac
    shift
done
[ $# -gt 0 ] && unit=$1
unit=${unit:-}
[ -n "$state" ] && [ -n "${verb:-}" ] && [ -n "$unit" ] || { echo "systemctl stand-in: usage" >&2; exit 1; }
mkdir -p "$state/run"
echo "${user:+--user $user }$verb $unit" >>"$state/calls.log"

if [ -n "$user" ]; then dir=$state/user/$user; tag=$user.; else dir=$state/units; tag=; fi
# Resolve an alias.
name=$unit
if [ ! -f "$dir/$unit" ]; then
    for f in "$dir"/*; do
        [ -f "$f" ] && grep -qx "alias=$unit" "$f" && name=$(basename "$f")
    done
fi
conf=$dir/$name
get() { sed -n "s/^$1=//p" "$conf" 2>/dev/null | head -n 1; }
pidfile=$state/run/$tag$name.pid
running() { [ -f "$pidfile" ]; }

case $verb in
show)
    if [ ! -f "$conf" ]; then
        printf 'Id=%s\nLoadState=not-found\nActiveState=inactive\n' "$unit"
    elif running; then
        printf 'Id=%s\nLoadState=loaded\nActiveState=active\n' "$name"
    else
        printf 'Id=%s\nLoadState=loaded\nActiveState=inactive\n' "$name"
    fi
    exit 0
    ;;
start)
    [ -f "$conf" ] || { echo "Unit $unit not found." >&2; exit 5; }
    running && exit 0
    [ "$(get start_fail)" = 1 ] && { echo "Job for $name failed." >&2; exit 1; }
    holds=$(get holds)
    mode=$(get mode)
    case ${mode:-process} in
    process)
        # A process that holds the node open, detached from this call.
        setsid bash -c 'exec 3<>"$1"; exec sleep 1000000' lab-display "${holds:-/dev/null}" \
            </dev/null >/dev/null 2>&1 &
        pid=$!
        cg=/sys/fs/cgroup/system.slice/$name
        if [ -w /sys/fs/cgroup/cgroup.procs ] && mkdir -p "$cg" 2>/dev/null; then
            echo "$pid" >"$cg/cgroup.procs" 2>/dev/null
        fi
        # Wait until it holds the node.
        for _ in $(seq 50); do
            [ "$(readlink "/proc/$pid/fd/3" 2>/dev/null)" = "$holds" ] && break
            sleep 0.1
        done
        echo "$pid" >"$pidfile"
        ;;
    fakeproc:*)
        procdir=${mode#fakeproc:}
        # A pid no real process has (pid_max is at most 4194304), the same
        # for a unit every time, so that a restart gives the same tree.
        pid=$((4100000 + $(printf %s "$tag$name" | cksum | cut -d" " -f1) % 90000))
        mkdir -p "$procdir/$pid/fd"
        ln -s "$holds" "$procdir/$pid/fd/3"
        echo "fake-${name%.*}" >"$procdir/$pid/comm"
        echo "0::/system.slice/$name" >"$procdir/$pid/cgroup"
        echo "$pid" >"$pidfile"
        ;;
    esac
    exit 0
    ;;
stop)
    [ -f "$conf" ] || { echo "Unit $unit not loaded." >&2; exit 5; }
    if [ "$(get stop_hang)" = 1 ]; then
        sleep 1000000
    fi
    running || exit 0
    pid=$(cat "$pidfile")
    mode=$(get mode)
    case ${mode:-process} in
    process)
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && break
            sleep 0.1
        done
        rmdir "/sys/fs/cgroup/system.slice/$name" 2>/dev/null
        ;;
    fakeproc:*)
        rm -rf "${mode#fakeproc:}/$pid"
        ;;
    esac
    rm -f "$pidfile"
    exit 0
    ;;
*)
    echo "systemctl stand-in: '$verb' is not known here" >&2
    exit 1
    ;;
esac
