#!/bin/bash
# Item: vmrun's shared directories get their modes from vmrun, not from
# the caller's umask. The first user to start a VM on a fresh host has
# umask 077 (sudo passes it on): before, /var/lib/vmrun and /run/vmrun
# were made 0700 and every other user's TPM and hugepage VMs failed from
# then on (for /var/lib/vmrun, across reboots). Here the roots are fresh
# directories of the test's own (the test build's VMRUN_RUN_DIR and
# VMRUN_STATE_DIR: this host's own are in use by others, and the release
# binary has no seams), and vmrun-test runs as root with the environment
# sudo gives it, for the user, under umask 077:
#  - a TPM VM of the user's starts (swtpm, as the user, reaches its state
#    through the state root) and the roots are 0755 and 0711;
#  - roots an earlier run left 0700 are given their modes back.
. "$(dirname "$0")/lib.sh"
: "${VMRUN_BIN:?}"
command -v swtpm >/dev/null || { echo "SKIP: no swtpm"; exit 77; }
NAME=priv-umask
R=/run/vmrun-priv-umask-$$
RUN=$R/run
STATE=$R/state
install -d -m 0755 "$R"
install -m 0755 "$VMRUN_BIN" "$BASE/bin/vmrun-test"
cleanup_roots() {
    VMRUN_RUN_DIR=$RUN VMRUN_STATE_DIR=$STATE "$BASE/bin/vmrun-test" stop $NAME --force \
        >/dev/null 2>&1
    rm -rf "$R" "$BASE/bin/vmrun-test"
}
trap 'attack_cleanup; cleanup_roots' EXIT
p=$(etc_profile $NAME '{ "name": "'$NAME'", "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 }, "memory": { "size": "64M" },
  "tpm": { "model": "tis" },
  "serial": "none", "display": "none", "shutdown": { "timeout": 5 } }')
watch_start
# As sudo runs it for the user, with their umask.
as_sudo_umask() {
    (cd "$UHOME" && umask 077 && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SUDO_UID="$A_UID" \
        SUDO_GID="$A_GID" SUDO_USER="$ATTACK_USER" HOME="$UHOME" VMRUN_RUN_DIR="$RUN" \
        VMRUN_STATE_DIR="$STATE" "$BASE/bin/vmrun-test" "$@")
}
modes() { stat -c '%a' "$RUN" "$STATE" "$STATE/$NAME" 2>/dev/null | xargs; }

for round in fresh "left 0700"; do
    if as_sudo_umask start --detach "$p" >"$T/s" 2>&1; then
        pass "$round: the user's TPM VM starts under umask 077"
        check "$round: run root 0755, state root 0711, the VM's state 0711 ($(modes))" \
            [ "$(modes)" = "755 711 711" ]
        check "$round: the TPM state is the user's, 0700 ($(stat -c '%U %a' "$STATE/$NAME/tpm"))" \
            [ "$(stat -c '%u %a' "$STATE/$NAME/tpm")" = "$A_UID 700" ]
        check "$round: the user stops it" as_sudo_umask stop $NAME --force
    else
        fail "$round: the user's TPM VM does not start under umask 077: $(cat "$T/s")"
    fi
    chmod 0700 "$RUN" "$STATE" 2>/dev/null
done
finish
