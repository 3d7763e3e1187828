#!/bin/bash
# The VM's keyboards and mice (input[]) on L1's real kernel, with
# "physical" devices this script makes with uinput (uinput_device.py): a
# keyboard (1234:5678, with LEDs) and a mouse (1234:5679). One inner QEMU
# (TCG, SeaBIOS waiting in its boot menu, which reads the keyboard and sets
# its LEDs), started through sudo as nobody, so QEMU runs as an ordinary
# user. What the guest gets is what QEMU's input layer passes to its
# keyboard and mouse, traced (-trace input_event_*) into a file.
#   - before a start: a required entry with no device, and an entry that
#     matches two keyboards, are refused naming them, and nothing runs;
#   - the start: an entry that matches nothing is a warning; QEMU reads
#     vmrun's virtual devices, whose nodes are root's again once QEMU has
#     them; the physical devices are grabbed (our EVIOCGRAB fails);
#   - typing and a click reach the guest; `vmrun status` lists what is
#     attached;
#   - a key held when the keyboard is unplugged is released in the guest
#     (with the kernel's own releases lost to a mover that was not reading);
#     plugged in again (a new event number), typing reaches the guest;
#   - plugged in with its node at mode 0000 and the mode given a second
#     later, it is picked up; the mouse, named by a by-id link that appears
#     1.5 s after the device, is picked up once the link is there;
#   - the hotkey (both Ctrl keys) moves input to the host: the guest gets a
#     release for the Shift still held and stops seeing keys, the keyboard
#     is no longer grabbed; again and the guest has it back;
#     `vmrun input NAME host|guest` does the same;
#   - Caps Lock pressed for the guest: the guest's firmware lights Caps
#     Lock, and the LED reaches the keyboard (EV_LED on its node);
#   - with the supervisor stopped and QEMU killed, an event injected into
#     the virtual device reaches no reader (QEMU's grab is held for it);
#     then SIGKILL of the supervisor: the keyboard is free, no virtual
#     device is left, and `vmrun recover` finds nothing left to do wrong.
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
need_vmrun
need_writable_root

NAME=labinput
HERE=$(dirname "$0")
DIR=/run/lab-input
TRACE=$DIR/trace.log
DBG=$DIR/debugcon.log
out=$VMRUN_LAB_OUT
KEY_A=30 KEY_B=48 KEY_C=46 KEY_D=32 KEY_W=17 KEY_Z=44
KEY_LEFTSHIFT=42 KEY_LEFTCTRL=29 KEY_RIGHTCTRL=97 KEY_CAPSLOCK=58 BTN_LEFT=272

IFS=: read -r user _ uid gid _ <<<"$(getent passwd nobody)" || true
check "a user to run QEMU as: ${user:-none} (${uid:-}:${gid:-})" [ -n "${uid:-}" -a "${uid:-0}" != 0 ]
check "/dev/uinput exists (module uinput)" test -c /dev/uinput
mkdir -p $DIR /dev/input/by-id
: >$TRACE
: >$DBG
chown "$uid:$gid" $TRACE $DBG

# --- the devices: one helper each, commands on a fifo, answers in a file
start_dev() { # start_dev ID FD NAME VID PID KIND
    mkfifo "$DIR/$1.in"
    python3 "$HERE/uinput_device.py" "$3" "$4" "$5" "$6" <"$DIR/$1.in" >"$DIR/$1.out" 2>&1 &
    eval "exec $2>$DIR/$1.in"
    wait_for 20 test -s "$DIR/$1.out"
}
# ask ID FD COMMAND: one command, its answer on stdout.
ask() {
    local file=$DIR/$1.out n i
    n=$(wc -l <"$file")
    echo "$3" >&"$2"
    for i in $(seq 200); do
        [ "$(wc -l <"$file")" -gt "$n" ] && break
        sleep 0.1
    done
    tail -n 1 "$file"
}
kbd() { ask kbd 3 "$*"; }
mouse() { ask mouse 4 "$*"; }
node_of() { sed -n 's/^node //p' "$DIR/$1.out" | tail -n 1; }

start_dev kbd 3 "lab keyboard" 1234 5678 keyboard
start_dev mouse 4 "lab mouse" 1234 5679 mouse
check "keyboard at $(node_of kbd), mouse at $(node_of mouse)" \
    test -c "$(node_of kbd)" -a -c "$(node_of mouse)"
ln -sfn "../$(basename "$(node_of mouse)")" /dev/input/by-id/lab-mouse-event-mouse

profile_for() { # profile_for NAME INPUT-JSON
    lab_profile "$1" "{
  \"name\": \"$1\",
  \"qemu\": { \"accel\": \"tcg\", \"extra_args\": [\"-trace\", \"input_event_key_qcode\",
             \"-trace\", \"input_event_btn\", \"-trace\", \"input_event_rel\", \"-D\", \"$TRACE\",
             \"-boot\", \"menu=on,splash-time=60000\",
             \"-chardev\", \"file,id=dbg,path=$DBG\", \"-device\", \"isa-debugcon,iobase=0x402,chardev=dbg\"] },
  \"cpu\": { \"model\": \"qemu64\", \"cores\": 1 },
  \"memory\": { \"size\": \"128M\" },
  \"input\": $2,
  \"serial\": \"none\",
  \"display\": \"none\",
  \"shutdown\": { \"timeout\": 5 }
}"
}
as_nobody() { SUDO_UID=$uid SUDO_GID=$gid SUDO_USER=$user "$@"; }

# --- refused before anything happens
p=$(profile_for labinput-req '[ { "device": "1234:5680", "required": true } ]')
as_nobody "$VMRUN" start "$p" >"$out/required.txt" 2>&1
rc=$?
check "a required entry with no device: exit 1 ($rc), naming it" \
    eval '[ $rc = 1 ] && grep -q "input\[0\]: no input device is 1234:5680" "$out/required.txt"'
mkfifo $DIR/twin.in
python3 "$HERE/uinput_device.py" "lab keyboard" 1234 5678 keyboard <$DIR/twin.in >$DIR/twin.out 2>&1 &
twin=$!
exec 5>$DIR/twin.in
wait_for 20 test -s $DIR/twin.out
p=$(profile_for labinput-two '[ { "device": "1234:5678" } ]')
as_nobody "$VMRUN" start "$p" >"$out/two.txt" 2>&1
rc=$?
check "an entry that matches two keyboards: exit 1 ($rc), naming both" \
    eval '[ $rc = 1 ] && grep -q "matches two different devices" "$out/two.txt" &&
          grep -q "$(node_of kbd)" "$out/two.txt" && grep -q "$(sed -n "s/^node //p" $DIR/twin.out)" "$out/two.txt"'
exec 5>&-
wait $twin
check "neither left a virtual device behind" \
    eval '! grep -qs "^vmrun/" /sys/class/input/input*/phys'

# --- the VM
profile=$(profile_for $NAME '[ { "device": "1234:5678", "required": true },
    { "evdev": "/dev/input/by-id/lab-mouse-event-mouse" },
    { "device": "1234:9999" } ]') || profile=
t0=$(date +%s%N)
if as_nobody vm_start "$out/start.txt" "$profile"; then
    pass "vmrun start --detach as nobody ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
    fail "vmrun start --detach: $(cat "$out/start.txt")"
    vm_keep_log $NAME
    finish
fi
vm_keep_log $NAME
log=$(vm_run_dir $NAME)/log
qemu_pid=$(vm_pid $NAME qemu)
sup_pid=$(vm_pid $NAME supervisor)
check "an entry that matches nothing is a warning" \
    grep -q "warning: input\[2\]: no input device is 1234:9999" "$log"
status() { "$VMRUN" status $NAME --json; }
# within SECONDS CMD...: CMD succeeds within SECONDS of wall time (lib.sh's
# wait_for counts tries, and a status costs a good part of a second in L1).
within() {
    local end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 0.2
    done
}
within 20 eval '[ "$(status | jq -r .input.side)" = guest ]'
status >"$out/status.json"
virt=$(jq -r '.input.devices[0].virtual' "$out/status.json")
check "QEMU (uid $(proc_field "$qemu_pid" Uid | cut -d' ' -f1)) runs as nobody" \
    [ "$(proc_field "$qemu_pid" Uid | cut -d' ' -f1)" = "$uid" ]
holds() { # holds PID PATH
    local fd
    for fd in /proc/"$1"/fd/*; do [ "$(readlink "$fd")" = "$2" ] && return 0; done
    return 1
}
check "QEMU has input[0]'s virtual device $virt open" holds "$qemu_pid" "$virt"
check "QEMU never has the physical keyboard open" eval '! holds "$qemu_pid" "$(node_of kbd)"'
check "the virtual node is root's again once QEMU has it ($(stat -c '%u %a' "$virt"))" \
    [ "$(stat -c %u "$virt")" = 0 ]
check "nobody cannot open it now" \
    eval '! setpriv --reuid="$uid" --regid="$gid" --clear-groups python3 -c "open(\"$virt\",\"rb\")" 2>/dev/null'
check "status: input[0] has the keyboard attached" \
    eval '[ "$(jq -r ".input.devices[0].attached[0].node" "$out/status.json")" = "$(node_of kbd)" ]'
check "status: input[1] has the mouse attached" \
    eval '[ "$(jq -r ".input.devices[1].attached[0].node" "$out/status.json")" = "$(node_of mouse)" ]'
check "status: input[2] has nothing attached" \
    [ "$(jq -r '.input.devices[2].attached | length' "$out/status.json")" = 0 ]
check "the keyboard is grabbed for the guest ($(kbd grab))" [ "$(kbd grab)" = EBUSY ]

saw() { wait_for 10 grep -q "$1" $TRACE; }
count() { grep -c "$1" $TRACE; }
# --- LEDs: Caps Lock for the guest, its firmware lights it, the keyboard shows it
# SeaBIOS reads the keyboard and sets its LEDs while it offers its boot
# menu (60 s from when it says so on its debug port); any key but a lock
# key ends the menu, so this comes before typing.
check "the guest's firmware waits in its boot menu" wait_for 60 grep -q "Press ESC" $DBG
kbd tap $KEY_CAPSLOCK >/dev/null
check "Caps Lock reaches the guest" saw "key qcode caps_lock, down 0"
check "the guest's Caps Lock LED reaches the keyboard (EV_LED)" \
    within 20 eval '[ "$(kbd leds)" = "leds caps=1 num=0 scroll=0" ]'
check "status shows the guest's LEDs" \
    eval '[ "$(status | jq -r .input.leds.caps_lock)" = true ]'
"$VMRUN" input $NAME host >/dev/null 2>&1
check "with the host, the keyboard's own LEDs are back" \
    within 10 eval '[ "$(kbd leds)" = "leds caps=0 num=0 scroll=0" ]'
"$VMRUN" input $NAME guest >/dev/null 2>&1

kbd tap $KEY_A >/dev/null
check "typing reaches the guest (a)" saw "key qcode a, down 0"
mouse move 5 -3 >/dev/null
mouse tap $BTN_LEFT >/dev/null
check "the mouse reaches the guest (motion, left button)" \
    eval 'saw "axis x, value 5" && saw "button left, down 0"'
check "vmrun status says how many frames it moved and what it added" \
    within 15 eval '[ "$(status | jq -r ".input.moved.frames")" -ge 4 ] &&
        [ "$(status | jq -r ".input.moved.added_latency_us.p50 >= 0")" = true ]'

# --- unplugged while a key is held, then plugged in again
kbd press $KEY_W >/dev/null
check "w held in the guest" saw "key qcode w, down 1"
old=$(node_of kbd)
# The kernel releases a device's keys as it goes, but a reader that was not
# reading at that moment gets ENODEV, not the releases: the mover is held
# still while the keyboard goes away, so the release must be vmrun's own.
mover=$(pgrep -x vmrun-input)
kill -STOP $mover
kbd unplug >/dev/null
sleep 0.5
kill -CONT $mover
check "unplugged with w held: the guest gets w's release" saw "key qcode w, down 0"
check "status: the keyboard is gone" \
    within 10 eval '[ "$(status | jq -r ".input.devices[0].attached | length")" = 0 ]'
# Another device takes the event number the keyboard had.
start_dev filler 7 "lab other device" 1234 7777 keyboard
kbd plug >/dev/null
check "plugged in again with another event number ($old -> $(node_of kbd))" \
    [ "$(node_of kbd)" != "$old" ]
check "status: attached again" \
    within 10 eval '[ "$(status | jq -r ".input.devices[0].attached[0].node")" = "$(node_of kbd)" ]'
kbd tap $KEY_B >/dev/null
check "typing reaches the guest again (b)" saw "key qcode b, down 0"

# --- a node without permissions at first; a link that comes late
kbd unplug >/dev/null
kbd plug 0000 >/dev/null
note "node $(node_of kbd) appeared with mode $(stat -c %a "$(node_of kbd)")"
sleep 1
chmod 0660 "$(node_of kbd)"
check "a node that was 0000 for a second is picked up" \
    within 10 eval '[ "$(status | jq -r ".input.devices[0].attached[0].node")" = "$(node_of kbd)" ]'
kbd tap $KEY_C >/dev/null
check "and typing reaches the guest (c)" saw "key qcode c, down 0"
rm -f /dev/input/by-id/lab-mouse-event-mouse
mouse unplug >/dev/null
mouse plug >/dev/null
sleep 1.5
check "the mouse is not attached while its by-id link is missing" \
    [ "$(status | jq -r '.input.devices[1].attached | length')" = 0 ]
ln -sfn "../$(basename "$(node_of mouse)")" /dev/input/by-id/lab-mouse-event-mouse
check "attached once the link appears" \
    within 15 eval '[ "$(status | jq -r ".input.devices[1].attached[0].node")" = "$(node_of mouse)" ]'

# --- the hotkey, and vmrun input
kbd press $KEY_LEFTSHIFT >/dev/null
check "Shift held in the guest" saw "key qcode shift, down 1"
kbd tap $KEY_LEFTCTRL $KEY_RIGHTCTRL >/dev/null
check "both Ctrl keys: input goes to the host" \
    within 10 eval '[ "$(status | jq -r .input.side)" = host ]'
check "the guest got Shift's release when it lost input" saw "key qcode shift, down 0"
check "the keyboard is free for the host ($(kbd grab))" [ "$(kbd grab)" = grabbed ]
kbd release $KEY_LEFTSHIFT >/dev/null
kbd tap $KEY_D >/dev/null
sleep 1
check "keys typed for the host do not reach the guest (d)" [ "$(count 'qcode d,')" = 0 ]
kbd tap $KEY_LEFTCTRL $KEY_RIGHTCTRL >/dev/null
check "both Ctrl keys again: the guest has input" \
    within 10 eval '[ "$(status | jq -r .input.side)" = guest ]'
kbd tap $KEY_D >/dev/null
check "and gets keys again (d)" saw "key qcode d, down 0"
"$VMRUN" input $NAME host >"$out/input-host.txt" 2>&1
check "vmrun input $NAME host: $(cat "$out/input-host.txt")" \
    eval '[ "$(status | jq -r .input.side)" = host ] && [ "$(kbd grab)" = grabbed ]'
"$VMRUN" input $NAME toggle >"$out/input-toggle.txt" 2>&1
check "vmrun input $NAME toggle: $(cat "$out/input-toggle.txt")" \
    eval '[ "$(status | jq -r .input.side)" = guest ] && [ "$(kbd grab)" = EBUSY ]'

# --- QEMU dies with the supervisor stopped: its grab outlives it
exec 6<"$virt"
kill -STOP "$sup_pid"
kill -KILL "$qemu_pid"
check "QEMU is gone" wait_for 10 eval '! proc_alive "$qemu_pid"'
python3 - "$virt" <<'PY'
import os, struct, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
t = time.time()
for code, value in ((44, 1), (44, 0)):
    os.write(fd, struct.pack("<qqHHi", int(t), 0, 1, code, value) + struct.pack("<qqHHi", int(t), 0, 0, 0, 0))
PY
check "an event injected into the virtual device reaches no other reader" \
    eval '! timeout 1 head -c 24 <&6 >/dev/null'
exec 6<&-
kill -KILL "$sup_pid"
check "after SIGKILL of the supervisor the keyboard is free" \
    within 10 eval '[ "$(kbd grab)" = grabbed ]'
check "no input mover is left" wait_for 10 eval '! pgrep -x vmrun-input >/dev/null'
check "no virtual device of $NAME is left" \
    wait_for 10 eval '! grep -qs "^vmrun/$NAME/" /sys/class/input/input*/phys'
"$VMRUN" recover $NAME >"$out/recover.txt" 2>&1
rc=$?
check "vmrun recover $NAME: exit $rc" [ $rc = 0 ]
note "$(cat "$out/recover.txt")"
check "the keyboard still works for the host ($(kbd grab))" [ "$(kbd grab)" = grabbed ]
cp $TRACE "$out/trace.log"
exec 3>&- 4>&- 7>&-
wait
finish
