#!/bin/bash
# Item: one profile, one fd. The user's own configuration directory holds
# the profile the name "priv-race" finds first; while vmrun looks it up,
# the user swaps it, thousands of times, between a symlink to a profile
# root controls and a profile of their own that would make root run their
# QEMU arguments. Looked up and checked once, from one fd, it is refused
# every time (what decides is who controls the directory the name is in),
# and nothing of the user's version is ever accepted or echoed.
# The tries: SUDO_TRIES through the user's real sudo rule, and TRIES more
# of the same release binary run as root with exactly the environment sudo
# gives it (SUDO_UID, SUDO_GID, SUDO_USER, a reset PATH), which is the same
# code path at a third of sudo's cost per try.
. "$(dirname "$0")/lib.sh"
TRIES=${VMRUN_ATTACK_RACE_TRIES:-1000}
SUDO_TRIES=${VMRUN_ATTACK_RACE_SUDO_TRIES:-100}
NAME=priv-race
good=$(root_profile $NAME)
as_user mkdir -p "$UHOME/.config/vmrun"
cat >"$T/evil.json" <<'EOT'
{ "name": "priv-race", "memory": { "size": "64M" },
  "qemu": { "accel": "tcg", "extra_args": ["-evil-marker-from-the-user"] } }
EOT
as_user cp "$T/evil.json" "$UHOME/.config/vmrun/evil.json"
watch_start

# The swapper: rename() makes each change atomic, so vmrun always finds a
# file there, one or the other.
cat >"$T/swap.sh" <<EOS
cd "$UHOME/.config/vmrun"
while :; do
    ln -sf "$good" .a && mv -fT .a $NAME.json
    cp evil.json .b && mv -fT .b $NAME.json
done
EOS
as_user_bg sh "$T/swap.sh" &
swapper=$!

as_sudo() {
    (cd "$UHOME" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SUDO_UID="$A_UID" \
        SUDO_GID="$A_GID" SUDO_USER="$ATTACK_USER" HOME="$UHOME" "$BIN" "$@")
}
accepted=0 echoed=0 refused=0 other=0
t0=$(date +%s%N)
for i in $(seq $((TRIES + SUDO_TRIES))); do
    if [ "$i" -le "$SUDO_TRIES" ]; then
        out=$(vmrun_sudo print-cmd $NAME 2>&1)
    else
        out=$(as_sudo print-cmd $NAME 2>&1)
    fi
    if [ $? = 0 ]; then
        accepted=$((accepted + 1))
    elif printf '%s' "$out" | grep -q "refusing profile"; then
        refused=$((refused + 1))
    else
        other=$((other + 1))
        [ "$other" -le 3 ] && echo "unexpected: $out"
    fi
    case $out in *evil-marker*) echoed=$((echoed + 1)) ;; esac
done
ms=$((($(date +%s%N) - t0) / 1000000))
kill "$swapper"
wait "$swapper" 2>/dev/null
all=$((TRIES + SUDO_TRIES))
echo "$all tries ($SUDO_TRIES through sudo) in $ms ms: $refused refused, $accepted accepted, $other other"
check "no try was accepted ($accepted of $all)" [ "$accepted" = 0 ]
check "the user's profile was never echoed ($echoed)" [ "$echoed" = 0 ]
check "every try was refused as a profile root does not control ($refused of $all)" \
    [ "$refused" = "$all" ]

# The same name, from /etc-like root-controlled ground only: accepted.
as_user rm -rf "$UHOME/.config/vmrun"
check "the root-controlled profile itself is accepted through sudo" \
    sh -c "cd / && runuser -u $ATTACK_USER -- sudo -n $BIN print-cmd $good >/dev/null"
finish
