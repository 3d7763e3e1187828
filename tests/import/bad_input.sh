#!/bin/bash
# bad_input.sh: what is not a domain XML is refused by `vmrun import` with
# exit 2, nothing on standard output, and a message naming the file and
# the line: not XML, another libvirt object, a truncated file, a NUL byte,
# an undefined entity, an entity bomb ("billion laughs"), an external
# entity, a 100 MB file (read from a path, redirected, and piped) and a
# directory. The time each took is printed (a figure, not a limit: ctest's
# timeout catches a hang).
set -u
: "${VMRUN_RELEASE_BIN:?}"
T=$(mktemp -d /tmp/vmrun-import-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
pass=0

# expect NAME FRAGMENT CMD...: exit 2, empty stdout, stderr has FRAGMENT.
expect() {
    local name=$1 frag=$2
    shift 2
    local start end rc
    start=$(date +%s%N)
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    end=$(date +%s%N)
    printf '%-22s exit %d in %4d ms: %s\n' "$name" "$rc" $(((end - start) / 1000000)) \
        "$(head -c 160 "$T/err")"
    if [ $rc -ne 2 ] || [ -s "$T/out" ] || ! grep -qF -- "$frag" "$T/err"; then
        echo "FAIL: $name: expected exit 2, no output and '$frag' on stderr" >&2
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

printf 'hello, this is not XML\n' >"$T/text.xml"
printf '<network>\n  <name>default</name>\n</network>\n' >"$T/network.xml"
printf '<domain type="kvm">\n  <name>x</name>\n  <memory unit="GiB">4</memory>\n  <devices>\n    <disk type="file"' >"$T/truncated.xml"
printf '<domain>\n  <name>a\0b</name>\n</domain>\n' >"$T/nul.xml"
printf '<domain>\n  <name>&nope;</name>\n  <memory>1</memory>\n</domain>\n' >"$T/entity.xml"
{
    echo '<?xml version="1.0"?>'
    echo '<!DOCTYPE lolz ['
    echo ' <!ENTITY lol "lol">'
    prev=lol
    for i in 1 2 3 4 5 6 7 8 9; do
        printf ' <!ENTITY lol%d "' "$i"
        for _ in 1 2 3 4 5 6 7 8 9 10; do printf '&%s;' "$prev"; done
        echo '">'
        prev=lol$i
    done
    echo ']>'
    echo '<domain type="kvm"><name>&lol9;</name><memory>1024</memory></domain>'
} >"$T/laughs.xml"
printf '<!DOCTYPE domain [<!ENTITY x SYSTEM "file:///etc/shadow">]>\n<domain><name>&x;</name><memory>1</memory></domain>\n' >"$T/xxe.xml"
head -c 100M /dev/zero | tr '\0' ' ' >"$T/huge.xml"

V=$VMRUN_RELEASE_BIN
expect "not XML" "text.xml:1:" "$V" import "$T/text.xml"
expect "not a domain" "network.xml:1: the root element is <network>" "$V" import "$T/network.xml"
expect "truncated" "truncated.xml:5:" "$V" import "$T/truncated.xml"
expect "NUL byte" "nul.xml:2: a NUL byte" "$V" import "$T/nul.xml"
expect "undefined entity" "entity.xml:2:" "$V" import "$T/entity.xml"
expect "billion laughs" "laughs.xml:2: a <!DOCTYPE>" "$V" import "$T/laughs.xml"
expect "external entity" "xxe.xml:1: a <!DOCTYPE>" "$V" import "$T/xxe.xml"
expect "100 MB file" "huge.xml: 104857600 bytes" "$V" import "$T/huge.xml"
expect "100 MB on stdin" "<stdin>: 104857600 bytes" "$V" import - <"$T/huge.xml"
expect "100 MB through a pipe" "<stdin>: more than" bash -c "cat '$T/huge.xml' | '$V' import -"
expect "a directory" "not a file" "$V" import "$T"
expect "no such file" "No such file" "$V" import "$T/missing.xml"
expect "two arguments" "one DOMAIN.xml only" "$V" import "$T/text.xml" "$T/network.xml"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
