#!/bin/bash
# The TPM's life around a VM (no guest OS: SeaBIOS and a TPM, under TCG):
#   - swtpm runs as QEMU's user (nobody here), beside a QEMU in its seccomp
#     sandbox, reached through an inherited socket (no socket file); its
#     state is made for that user, 0700, and kept after the run;
#   - swtpm is gone after a normal stop, after QEMU is killed, and after the
#     supervisor is killed with SIGKILL and `vmrun recover` has run;
#   - swtpm dying under a running VM is reported and stops the VM (exit 1);
#   - recover ends an swtpm its journal names even when nothing else would;
#   - bad input changes nothing and says how to fix it: swtpm missing, a
#     TPM state of another owner or open to others (exit 1).
. "$(dirname "$0")/lib.sh"
command -v swtpm >/dev/null || skip "swtpm is not installed"
[ "$(id -u)" = 0 ] || skip "needs root (QEMU and swtpm run as nobody)"

# --- A normal run and stop, as nobody.
name=win11-tpm-a
profile=$(write_tpm_profile $name 2 ', "run_as": "nobody"')
start_fg $name "$profile"
wait_for 60 is_running $name || fail "the VM did not reach running"
qemu=$(qemu_pid_of $name)
swtpm=$(swtpm_pid_of $name)
state="$VMRUN_STATE_DIR/$name/tpm"
[ "$(user_of "$swtpm")" = nobody ] || fail "swtpm runs as $(user_of "$swtpm"), not nobody"
[ "$(user_of "$qemu")" = nobody ] || fail "QEMU runs as $(user_of "$qemu"), not nobody"
[ "$(stat -c '%U %a' "$state")" = "nobody 700" ] ||
    fail "TPM state is $(stat -c '%U %a' "$state"), not nobody 700"
grep -q '^Seccomp:[[:space:]]*2' "/proc/$qemu/status" || fail "QEMU runs without its seccomp filter"
grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$swtpm/status" || fail "swtpm can gain privileges"
grep -q '^CapEff:[[:space:]]*0000000000000000' "/proc/$swtpm/status" || fail "swtpm has capabilities"
case $(readlink "/proc/$swtpm/fd/3") in socket:*) ;; *) fail "swtpm's fd 3 is not a socket" ;; esac
case $(readlink "/proc/$qemu/fd/4") in socket:*) ;; *) fail "QEMU's fd 4 is not a socket" ;; esac
# (The one socket file is vmrun's own request channel, root's in the 0700
# runtime directory: supervisor/control.h.)
sockets=$(find "$T" -type s ! -path "*/$name/control")
[ -z "$sockets" ] || fail "a socket file exists: $sockets"
grep -q -- "-chardev socket,id=chrtpm,fd=4" <(tr '\0' ' ' <"/proc/$qemu/cmdline") ||
    fail "QEMU's command line lacks the TPM chardev on fd 4"
"$VMRUN_BIN" stop $name >"$T/stop.log" 2>&1 || fail "vmrun stop failed: $(cat "$T/stop.log")"
wait_exit "$SUP_PID" 30
[ "$code" = 0 ] || fail "normal stop: supervisor exit $code"
wait_for 5 gone "$swtpm" || fail "swtpm $swtpm outlived a normal stop"
no_swtpm_for "$state" || fail "an swtpm still serves $state"
[ -s "$state/tpm2-00.permall" ] || fail "no TPM state was written in $state"
[ "$(stat -c %U "$state/tpm2-00.permall")" = nobody ] || fail "the TPM state file is not nobody's"
[ ! -e "$VMRUN_RUN_DIR/$name" ] || fail "runtime directory left behind"
echo "ok: normal stop (swtpm as nobody, state kept)"

# --- QEMU killed: the supervisor reports it and swtpm goes too.
start_fg $name "$profile"
wait_for 60 is_running $name || fail "the VM did not reach running (2)"
swtpm=$(swtpm_pid_of $name)
kill -KILL "$(qemu_pid_of $name)"
wait_exit "$SUP_PID" 30
[ "$code" = 1 ] || fail "QEMU killed: supervisor exit $code, expected 1"
wait_for 5 gone "$swtpm" || fail "swtpm $swtpm outlived QEMU"
no_swtpm_for "$state" || fail "an swtpm still serves $state after QEMU was killed"
echo "ok: QEMU killed"

# --- swtpm killed: reported, the VM is stopped (ACPI, then quit), exit 1.
start_fg $name "$profile"
wait_for 60 is_running $name || fail "the VM did not reach running (3)"
qemu=$(qemu_pid_of $name)
kill -KILL "$(swtpm_pid_of $name)"
wait_exit "$SUP_PID" 30
[ "$code" = 1 ] || fail "swtpm killed: supervisor exit $code, expected 1"
grep -q "the VM's TPM emulator died: swtpm (pid [0-9]*) was killed by signal 9" "$T/$name.log" ||
    fail "the death of swtpm was not reported"
grep -q "telling QEMU to quit" "$T/$name.log" || fail "the VM was not stopped in order"
wait_for 5 gone "$qemu" || fail "QEMU $qemu still runs without its TPM"
[ ! -e "$VMRUN_RUN_DIR/$name" ] || fail "runtime directory left behind after swtpm died"
echo "ok: swtpm killed"

# --- The supervisor killed: QEMU and swtpm die with it; recover cleans up.
start_fg $name "$profile"
wait_for 60 is_running $name || fail "the VM did not reach running (4)"
qemu=$(qemu_pid_of $name)
swtpm=$(swtpm_pid_of $name)
kill -KILL "$SUP_PID"
wait "$SUP_PID" 2>/dev/null
wait_for 10 gone "$qemu" || fail "QEMU $qemu outlived its supervisor"
wait_for 10 gone "$swtpm" || fail "swtpm $swtpm outlived its supervisor"
grep -q '"op":"swtpm"' "$VMRUN_RUN_DIR/$name/journal" || fail "swtpm is not in the journal"
"$VMRUN_BIN" recover $name >"$T/recover.log" 2>&1 || fail "recover failed: $(cat "$T/recover.log")"
grep -q "stop the TPM emulator (swtpm) of $state: done" "$T/recover.log" ||
    fail "recover did not undo swtpm: $(cat "$T/recover.log")"
no_swtpm_for "$state" || fail "an swtpm still serves $state after recover"
[ ! -e "$VMRUN_RUN_DIR/$name" ] || fail "recover left the runtime directory"
echo "ok: supervisor SIGKILL + recover"

# --- recover ends an swtpm that outlived everything else (the undo itself).
name=win11-tpm-e
state_e="$VMRUN_STATE_DIR/$name/tpm"
mkdir -p "$state_e" "$T/orphan" && chown nobody: "$state_e" "$T/orphan" && chmod 0700 "$state_e"
setsid setpriv --reuid=65534 --regid=65534 --clear-groups \
    swtpm socket --tpm2 --tpmstate "dir=$state_e,mode=0600" \
    --ctrl "type=unixio,path=$T/orphan/ctrl" >/dev/null 2>&1 &
orphan=$!
EXTRA_PIDS="$orphan"
wait_for 10 test -S "$T/orphan/ctrl" || fail "the orphan swtpm did not start"
mkdir -m 0700 -p "$VMRUN_RUN_DIR/$name"
printf '{"seq":1,"op":"swtpm","args":{"state":"%s","uid":65534}}\n' "$state_e" \
    >"$VMRUN_RUN_DIR/$name/journal"
"$VMRUN_BIN" recover $name >"$T/recover-e.log" 2>&1 || fail "recover (e) failed: $(cat "$T/recover-e.log")"
wait_for 5 gone "$orphan" || fail "recover did not end the orphan swtpm $orphan"
wait "$orphan" 2>/dev/null
rm -rf "$T/orphan"
echo "ok: recover ends an orphan swtpm"

# --- Bad input: the host is left as it was, the message says the fix.
name=win11-tpm-f
profile=$(write_tpm_profile $name 2)
# swtpm missing: root's vmrun looks programs up in a fixed PATH of root's
# directories, an ordinary user's in that user's PATH; so an ordinary user
# (nobody) whose PATH has QEMU but no swtpm.
mkdir -p "$T/bin" && ln -s "$(command -v qemu-system-x86_64)" "$T/bin/"
as_nobody() {
    setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH="$T/bin" HOME=/nonexistent \
        VMRUN_RUN_DIR="$T/run-nobody" VMRUN_STATE_DIR="$T/state-nobody" "$(command -v timeout)" 60 "$@"
}
as_nobody "$VMRUN_BIN" start "$profile" >"$T/nostpm.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "swtpm missing: exit $rc, expected 1"
grep -q "swtpm, the TPM emulator, is not installed.*apt install swtpm" "$T/nostpm.log" ||
    fail "swtpm missing: message: $(cat "$T/nostpm.log")"
[ ! -e "$T/run-nobody" ] && [ ! -e "$T/state-nobody" ] || fail "swtpm missing: the host was changed"
as_nobody "$VMRUN_BIN" check "$profile" >"$T/check-nostpm.log" 2>&1
grep -q "^FAIL  tpm .*not installed" "$T/check-nostpm.log" || fail "check: $(cat "$T/check-nostpm.log")"

# The TPM state of another user (QEMU runs as root here).
mkdir -p "$VMRUN_STATE_DIR/$name/tpm" && chown nobody: "$VMRUN_STATE_DIR/$name/tpm" &&
    chmod 0700 "$VMRUN_STATE_DIR/$name/tpm"
timeout 60 "$VMRUN_BIN" start "$profile" >"$T/owner.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "wrong owner: exit $rc, expected 1"
grep -q "the TPM state .*/tpm belongs to nobody, but QEMU runs as root: .*chown -R 0: " "$T/owner.log" ||
    fail "wrong owner: message: $(cat "$T/owner.log")"
[ "$(stat -c '%U %a' "$VMRUN_STATE_DIR/$name/tpm")" = "nobody 700" ] || fail "wrong owner: changed"
[ ! -e "$VMRUN_RUN_DIR/$name" ] || fail "wrong owner: a runtime directory was made"
"$VMRUN_BIN" check "$profile" >"$T/check-owner.log" 2>&1
grep -q "^FAIL  tpm.state .*belongs to nobody" "$T/check-owner.log" ||
    fail "check (owner): $(cat "$T/check-owner.log")"
grep -q "^PASS  tpm .*swtpm, version [0-9.]*, emulates a TPM 2.0 (tpm-crb interface)" \
    "$T/check-owner.log" || fail "check does not report swtpm's version"

# Open to others.
chown root: "$VMRUN_STATE_DIR/$name/tpm" && chmod 0755 "$VMRUN_STATE_DIR/$name/tpm"
timeout 60 "$VMRUN_BIN" start "$profile" >"$T/mode.log" 2>&1
rc=$?
[ $rc = 1 ] || fail "wrong mode: exit $rc, expected 1"
grep -q "has mode 0755, but it must be private to root: run 'chmod 0700 " "$T/mode.log" ||
    fail "wrong mode: message: $(cat "$T/mode.log")"
[ "$(stat -c '%a' "$VMRUN_STATE_DIR/$name/tpm")" = 755 ] || fail "wrong mode: changed"
[ ! -e "$VMRUN_RUN_DIR/$name" ] || fail "wrong mode: a runtime directory was made"
no_swtpm_for "$VMRUN_STATE_DIR/$name/tpm" || fail "an swtpm was started for a refused state"
echo "ok: bad input refused, nothing changed"
echo "PASS: TPM lifecycle"
