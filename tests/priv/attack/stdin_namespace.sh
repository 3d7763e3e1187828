#!/bin/bash
# Item: a profile on /dev/stdin (or /dev/fd/N, /proc/self/fd/N) is refused
# through sudo. The sharpest form: the user, in a mount namespace of their
# own (unshare -Urm), binds their own file over a profile root controls and
# opens it there; the open file is passed out (SCM_RIGHTS) and becomes
# sudo's standard input. Root's view of /proc/self/fd/0's link then names
# the trusted profile, but the bytes are the user's. vmrun refuses the
# path for what it is, before reading a byte, and says where profiles go.
. "$(dirname "$0")/lib.sh"
NAME=priv-stdin
good=$(root_profile $NAME)
cat >"$T/evil.json" <<'EOT'
{ "name": "priv-stdin", "memory": { "size": "64M" },
  "qemu": { "accel": "tcg", "extra_args": ["-evil-marker-from-the-user"] } }
EOT
chmod 0644 "$T/evil.json"
as_user cp "$T/evil.json" "$UHOME/evil.json"
watch_start

for p in /dev/stdin /dev/fd/0 /proc/self/fd/0; do
    out=$(cd "$UHOME" && runuser -u "$ATTACK_USER" -- sudo -n "$BIN" print-cmd "$p" <"$UHOME/evil.json" 2>&1)
    rc=$?
    check "print-cmd $p < the user's file: refused (exit $rc)" [ "$rc" = 2 ]
    check "... saying where profiles go" sh -c "printf '%s' \"\$0\" | grep -q '/etc/vmrun'" "$out"
    check "... without echoing the file" sh -c "! printf '%s' \"\$0\" | grep -q evil-marker" "$out"
done

# The file as seen under root's own path in the user's namespace.
cat >"$T/pass.py" <<'EOP'
import os, socket, subprocess, sys
# usage: pass.py TRUSTED EVIL BIN
trusted, evil, binary = sys.argv[1:4]
ours, theirs = socket.socketpair()
child = subprocess.Popen(
    ["unshare", "-Urm", "sh", "-c",
     'mount --bind "$1" "$2" && exec python3 -c "import socket,sys,os; '
     's=socket.socket(fileno=int(sys.argv[1])); fd=os.open(sys.argv[2], os.O_RDONLY); '
     'socket.send_fds(s, [b\\"x\\"], [fd])" "$3" "$2"', "sh", evil, trusted,
     str(theirs.fileno())], pass_fds=(theirs.fileno(),))
theirs.close()
msg, fds, _, _ = socket.recv_fds(ours, 1, 1)
child.wait()
if not fds:
    print("NO-FD"); sys.exit(3)
seen = os.readlink("/proc/self/fd/%d" % fds[0])
print("fd-link:", seen)
os.dup2(fds[0], 0)
r = subprocess.run(["sudo", "-n", binary, "print-cmd", "/dev/stdin"], stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True)
print("rc:", r.returncode)
print(r.stdout)
EOP
out=$(cd "$UHOME" && runuser -u "$ATTACK_USER" -- python3 "$T/pass.py" "$good" "$UHOME/evil.json" "$BIN" 2>&1)
echo "$out" | head -5
if echo "$out" | grep -q "NO-FD\|unshare: \|Operation not permitted"; then
    echo "note: no user namespaces here; the plain /dev/stdin cases above stand"
else
    echo "root sees the passed fd's link as: $(echo "$out" | sed -n 's/^fd-link: //p')"
    check "vmrun refused it (exit 2)" sh -c "printf '%s' \"\$0\" | grep -q '^rc: 2'" "$out"
    check "... without echoing the user's file" \
        sh -c "! printf '%s' \"\$0\" | grep -q evil-marker" "$out"
fi
finish
