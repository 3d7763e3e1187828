#!/bin/bash
# The Debian package, end to end, as users get it:
#   1. Debian 12 (this machine): this tree's package is built with
#      dpkg-buildpackage -us -uc and linted (lintian --fail-on warning), and
#      so is the previous build's (below);
#   2. Debian 13, in a fresh root: `apt-get build-dep ./` (so the
#      Build-Depends are proven complete: they are all the build has), then
#      the same build and lint with that release's tools;
#   3. Debian 13, in another fresh root: the package is installed, checked,
#      used by an ordinary user with a sudo rule to run the demo guest,
#      removed and purged (steps.sh install);
#   4. Debian 12, in a fresh root: the previous build's package is
#      installed, runs one VM and leaves another one stale (its supervisor
#      killed, the hugepages it added still in the host's pool); then it is
#      upgraded to this one, which must keep the VM running, read its state,
#      stop it, recover the stale one from the old journal, and refuse
#      removal while a VM runs; then the same checks as 3 (steps.sh upgrade).
#
# The previous build: the newest release tag (v*) before HEAD, or, while
# there is none, HEAD's first parent: the commit main had before this one.
# VMRUN_PACKAGE_BASELINE=REV names another. It is built from its own tree
# with its own debian/ (this tree's when it has none), at version
# <its version>+git<its commit count>, below this one's <version>+git<count>:
# the same code paths an upgrade takes, between two real versions of the
# program, so a change to the journal, the runtime directory or the stop
# protocol that the new program cannot read fails here.
#
# The roots come from scripts/stack-root.sh (cached; each run a throw-away
# overlay, in memory). Needs root on Debian 12 with scripts/install-deps.sh's
# packages, the demo guest ($VMRUN_BUILD_DIR/guests/demo, the
# e2e_demo_guest fixture) and a git checkout with history.
set -euo pipefail
: "${VMRUN_SOURCE_DIR:?}" "${VMRUN_BUILD_DIR:?}"
src=$VMRUN_SOURCE_DIR
here=$src/tests/package
stack=$src/scripts/stack-root.sh
guest=$VMRUN_BUILD_DIR/guests/demo
t0=$(date +%s)

say() { echo "[$(($(date +%s) - t0)) s] $*"; }
fail() {
    echo "FAIL: $*"
    exit 1
}

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ "$(. /etc/os-release && echo "$VERSION_CODENAME")" = bookworm ] ||
    fail "this machine builds the Debian 12 package: it must be Debian 12"
for tool in dpkg-buildpackage dh lintian debootstrap; do
    command -v $tool >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x "$stack" ] || fail "no $stack (the Debian roots)"
[ -f "$guest/vmlinux" ] || fail "no demo guest in $guest (the e2e_demo_guest fixture)"
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || fail "$src is not a git checkout"

work=$(mktemp -d /var/tmp/vmrun-package.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT

# version_of DIR REV: <version in DIR's debian/changelog, or its CMake
# project version>+git<commits up to REV>.
version_of() {
    local dir=$1 rev=$2 v
    if [ -f "$dir/debian/changelog" ]; then
        v=$(dpkg-parsechangelog -l "$dir/debian/changelog" -S Version)
    else
        v=$(sed -n 's/^project(vmrun VERSION \([0-9.]*\).*/\1/p' "$dir/CMakeLists.txt")
    fi
    echo "$v+git$(git -C "$src" rev-list --count "$rev")"
}

set_version() { # set_version DIR VERSION: the newest changelog entry's
    sed -i "1s/([^)]*)/($2)/" "$1/debian/changelog"
}

# ---- the two trees -------------------------------------------------------

# This tree as it is (committed or not; build trees left out).
mkdir -p "$work/cur/vmrun" "$work/base/vmrun"
git -C "$src" ls-files -z -co --exclude-standard |
    (cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$work/cur/vmrun"
upstream=$(sed -n 's/^project(vmrun VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
changelog=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
[ "${changelog%%[-+~]*}" = "$upstream" ] ||
    fail "debian/changelog's version $changelog is not CMakeLists.txt's $upstream"
cur_version=$(version_of "$src" HEAD)
set_version "$work/cur/vmrun" "$cur_version"

if [ -n "${VMRUN_PACKAGE_BASELINE:-}" ]; then
    base_rev=$VMRUN_PACKAGE_BASELINE
elif base_rev=$(git -C "$src" describe --tags --abbrev=0 --match 'v[0-9]*' HEAD^ 2>/dev/null); then
    :
else
    base_rev=HEAD^
fi
base_commit=$(git -C "$src" rev-parse --verify -q "$base_rev^{commit}") ||
    fail "the previous build $base_rev is not in this checkout (a shallow clone?)"
git -C "$src" archive "$base_commit" | tar -xf - -C "$work/base/vmrun"
if [ ! -d "$work/base/vmrun/debian" ]; then
    cp -a "$src/debian" "$work/base/vmrun/debian"
fi
base_version=$(version_of "$work/base/vmrun" "$base_commit")
set_version "$work/base/vmrun" "$base_version"
dpkg --compare-versions "$base_version" lt "$cur_version" ||
    fail "the previous build's version $base_version is not below $cur_version"
say "this tree: $cur_version; the previous build: $base_rev ($(git -C "$src" log -1 --format='%h %s' "$base_commit")) as $base_version"

# What the package must hold: the fixed list and every example profile.
{
    cat "$here/files.txt"
    for f in "$src"/profiles/*.json; do echo "/usr/share/doc/vmrun/examples/${f##*/}"; done
} | sort >"$work/files.txt"
# The test build's seams, which the installed program must not contain.
seams=$(grep -o '"VMRUN_[A-Z_]*"' "$src/launcher/sys/seams_test.c" | tr -d '"' | tr '\n' ' ' || true)
[ -n "$seams" ] || fail "no seam names found in launcher/sys/seams_test.c"
# The seam check can fail: the test build has them.
if [ -x "$VMRUN_BUILD_DIR/launcher/vmrun-test" ]; then
    grep -aq VMRUN_SYSFS_ROOT "$VMRUN_BUILD_DIR/launcher/vmrun-test" ||
        fail "the seam check finds nothing even in vmrun-test"
fi

# ---- the steps -----------------------------------------------------------------

# in_root SUITE STEP ARGS...: steps.sh in a throw-away copy of SUITE's root.
in_root() {
    local suite=$1
    shift
    "$stack" run --layer base --tmpfs "$suite" \
        --bind-ro "$here:/run/vmrun-pkgtest/bin" \
        --bind-ro "$work/files.txt:/run/vmrun-pkgtest/files.txt" \
        --bind "$work:/run/vmrun-pkgtest/work" \
        --bind-ro "$guest:/var/cache/vmrun/demo-guest" \
        --env "PKG_UPSTREAM=$upstream" --env "PKG_SEAMS=$seams" \
        --env "PKG_FILES=/run/vmrun-pkgtest/files.txt" \
        -- /bin/bash /run/vmrun-pkgtest/bin/steps.sh "$@"
}

step() { # step NAME COMMAND...: one timed step
    local name=$1 s
    shift
    s=$(date +%s)
    say "=== $name"
    "$@" || fail "$name"
    say "=== $name: $(($(date +%s) - s)) s"
}

W=/run/vmrun-pkgtest/work
step "build and lint on Debian 12 (this machine)" bash "$here/steps.sh" build "$work/cur/vmrun" "$work/out-bookworm"
step "build the previous build on Debian 12" bash "$here/steps.sh" build-nolint "$work/base/vmrun" "$work/out-base"
step "build-dep, build and lint on Debian 13" in_root trixie fresh-build "$W/cur/vmrun" "$W/out-trixie"
step "install, use, remove and purge on Debian 13" in_root trixie \
    install "$W/out-trixie/vmrun_${cur_version}_amd64.deb"
step "upgrade with VMs running, use, remove and purge on Debian 12" in_root bookworm \
    upgrade "$W/out-base/vmrun_${base_version}_amd64.deb" "$W/out-bookworm/vmrun_${cur_version}_amd64.deb"
say "all package steps passed"
