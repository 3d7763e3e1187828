# Helpers of the firmware, Secure Boot and TPM tests (sourced, after
# tests/supervise/lib.sh, whose run and state directories, profiles and
# waiting helpers they use). Adds: the swtpm of a test VM to the processes
# cleaned up, profiles for TPM and UEFI VMs, and what the TPM tests look
# at (the swtpm of a VM, who it runs as).
. "$(dirname "${BASH_SOURCE[0]}")/../supervise/lib.sh"

# The tests run as root directly: the user's firmware directory
# ($XDG_CONFIG_HOME/qemu/firmware) counts, and sudo's variables, if the
# suite itself runs through sudo, must not make vmrun think otherwise.
unset SUDO_UID SUDO_GID SUDO_USER PKEXEC_UID
export XDG_CONFIG_HOME="$T/config"
mkdir -p "$XDG_CONFIG_HOME/qemu/firmware"
# QEMU and swtpm may run as nobody: let them reach the test's directories.
chmod 0711 "$T"

win11_cleanup() {
    for f in "$T"/run/*/swtpm.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
    done
    for pid in ${EXTRA_PIDS:-}; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    cleanup
}
trap win11_cleanup EXIT

swtpm_pid_of() {
    cat "$VMRUN_RUN_DIR/$1/swtpm.pid"
}

# user_of PID: the user a process runs as.
user_of() {
    ps -o user= -p "$1" | tr -d ' '
}

# A VM without an OS and with a TPM (SeaBIOS waits for a boot device and
# ignores ACPI): write_tpm_profile NAME TIMEOUT [extra JSON members]
write_tpm_profile() {
    cat >"$T/$1.json" <<EOT
{
  "name": "$1",
  "qemu": { "accel": "tcg" },
  "cpu": { "model": "qemu64", "cores": 1 },
  "memory": { "size": "64M" },
  "serial": "none",
  "display": "none",
  "tpm": {},
  "shutdown": { "timeout": $2 }${3:-}
}
EOT
    echo "$T/$1.json"
}

# no_swtpm_for STATE_DIR: no swtpm process serves that TPM state.
no_swtpm_for() {
    ! ps -eo args= | grep -F -- "--tpmstate dir=$1," | grep -qv grep
}
