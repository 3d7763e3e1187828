#!/bin/sh
# The shipped scripts: man pages render without warnings, the bash
# completion parses and completes, the unit and polkit files are well formed.
set -eu
src=${VMRUN_SOURCE_DIR:?}/scripts
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for page in "$src/man/vmrun.1" "$src/man/vmrun-profile.5"; do
    if ! MANWIDTH=80 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err"; then
        echo "FAIL: man $page"; fail=1
    fi
    if [ -s "$tmp/err" ]; then
        echo "FAIL: warnings rendering $page:"; cat "$tmp/err"; fail=1
    fi
    grep -q "SYNOPSIS" "$tmp/out" || { echo "FAIL: $page has no SYNOPSIS"; fail=1; }
done

# Completion: commands, profile names, running VMs.
mkdir -p "$tmp/config/vmrun" "$tmp/run/winvm"
: >"$tmp/config/vmrun/gaming.json"
cat >"$tmp/complete.bash" <<EOS
set -u
source "$src/vmrun.bash-completion"
_init_completion() { return 1; }
complete_words() {
    COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=()
    _vmrun vmrun "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s ' "\${COMPREPLY[@]}"; echo
}
export XDG_CONFIG_HOME="$tmp/config" VMRUN_RUN_DIR="$tmp/run" HOME="$tmp"
cd "$tmp"
complete_words vmrun st
complete_words vmrun start ga
complete_words vmrun stop w
complete_words vmrun desktop i
complete_words vmrun status --j
EOS
bash "$tmp/complete.bash" >"$tmp/c.out" 2>"$tmp/c.err" || { echo "FAIL: completion"; cat "$tmp/c.err"; fail=1; }
expect() {
    sed -n "$1p" "$tmp/c.out" | grep -q -- "$2" || { echo "FAIL: completion line $1 lacks '$2':"; cat "$tmp/c.out"; fail=1; }
}
expect 1 "start"
expect 1 "stop"
expect 1 "status"
expect 2 "gaming"
expect 3 "winvm"
expect 4 "install"
expect 5 "--json"
[ -s "$tmp/c.err" ] && { echo "FAIL: completion printed errors"; cat "$tmp/c.err"; fail=1; }

# The unit: foreground supervisor, SIGTERM to it alone, room for ACPI stop.
unit="$src/vmrun@.service"
for line in "Type=simple" "KillMode=mixed" "TimeoutStopSec=150" "ExecStart=/usr/bin/vmrun start /etc/vmrun/%i.json"; do
    grep -qx "$line" "$unit" || { echo "FAIL: $unit lacks $line"; fail=1; }
done
grep -q "^ExecStop=" "$unit" && { echo "FAIL: $unit has ExecStop"; fail=1; }

# The polkit action parses and names the installed binary.
python3 - "$src/org.vmrun.policy" <<'EOP' || fail=1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
a = root.find("action")
assert a.get("id") == "org.vmrun.start", a.get("id")
ann = {x.get("key"): x.text for x in a.findall("annotate")}
assert ann["org.freedesktop.policykit.exec.path"].endswith("/vmrun"), ann
assert a.find("defaults/allow_active").text == "auth_admin_keep"
EOP

[ $fail -eq 0 ] && echo PASS
exit $fail
