#!/bin/bash
# Cached Debian roots of other releases, to build and test vmrun against
# their compilers, libraries, QEMU and firmware on this machine's kernel,
# /dev/kvm and hugepages; and throw-away copies of them that behave as a
# freshly installed machine.
#
#   scripts/stack-root.sh ensure [--layer base|dev] [--deps FILE] SUITE
#   scripts/stack-root.sh run [OPTIONS] SUITE -- COMMAND [ARG...]
#   scripts/stack-root.sh shell [OPTIONS] SUITE
#   scripts/stack-root.sh path [--layer base|dev] [--deps FILE] SUITE
#   scripts/stack-root.sh rebuild SUITE
#
# SUITE is a Debian suite the archive serves: bookworm (12), trixie (13),
# sid (unstable), or any other name debootstrap knows. Everything needs root.
#
# Two layers per suite:
#   base  what `mmdebstrap --variant=minbase` gives (debootstrap's when
#         mmdebstrap is missing), plus sudo (the README's commands use it) and
#         the package lists: a freshly installed machine, for tests of what a
#         new user does first. Two settings differ from one, for a chroot's
#         sake: services are never started (policy-rc.d), and dpkg does not
#         fsync (force-unsafe-io: several times faster here, and a root that
#         a crash damaged is made again).
#   dev   base plus everything scripts/install-deps.sh installs there (the
#         compilers, libraries, QEMU, OVMF, swtpm... of that release): the
#         stack the test suite runs against. Kept per content of the
#         install-deps.sh that made it (--deps FILE; default this tree's), so
#         branches with different package lists each get theirs.
#
# ensure   makes the root when it is missing or older than a week (a new
#          generation: users of the old one keep it until they are done),
#          and the dev layer when asked for and missing; refreshes a dev
#          layer's package lists once a day. Prints the suite's directory.
# run      runs COMMAND (ensure first) as root inside a throw-away writable
#          copy of the root: an overlay whose upper layer is a scratch
#          directory removed afterwards, so nothing it does reaches the
#          cache. Exit status: COMMAND's; 125 when the root could not be
#          made or entered.
#   --layer base|dev  which layer (default dev)
#   --deps FILE       the install-deps.sh that makes the dev layer
#   --upper DIR       keep the writes in DIR (made if missing; the caller
#                     removes it), e.g. to install in one run and test in
#                     the next; without it, a scratch directory on disk
#   --tmpfs           the throw-away writes in memory instead of on disk
#   --bind SRC[:DEST] bind SRC (a host path) at DEST in the root (default:
#                     the same path); --bind-ro: read-only. Repeatable.
#   --cd DIR          the working directory in the root (default /)
#   --env NAME=VALUE  set in COMMAND's environment (repeatable); COMMAND
#                     otherwise gets only PATH, HOME=/root, LANG, TERM and
#                     DEBIAN_FRONTEND=noninteractive
# shell    run with an interactive bash.
# path     ensure, then print the layer's directory (read-only use only:
#          it is the cache; write through `run`).
# rebuild  make a new generation now.
#
# Inside, as stacks.md-style chroots need: the root is a mount point (the
# overlay), proc is mounted, /sys and /dev are recursive binds made slaves
# (nothing done inside propagates back), /run is a tmpfs with run/lock; the
# host's /run/lock and /run/vmrun are bound in (the machine-wide locks and
# vmrun's hugepage ledger are the host's: the pool is one), and so are
# /var/cache/vmrun/debs (downloaded kernel packages) and a per-suite cache
# of apt's archives. Everything is mounted in a mount namespace of its own,
# so even a killed run leaves no mount behind; on every exit the processes
# still running in the root are killed and the tree is unmounted (umount -R)
# before the scratch directory is removed.
#
# The cache, under $VMRUN_STACKS_DIR (default /var/cache/vmrun/stacks):
#   SUITE/current -> gen-TIME       the generation in use (replaced atomically)
#   SUITE/gen-TIME/base/            the base root
#   SUITE/gen-TIME/dev-HASH/        a dev layer (an overlay upper over base);
#                                   one unused for two days is removed
#   SUITE/gen-TIME/use.lock         held shared by every run using it
#   SUITE/build.lock                held while a generation or layer is made
#   apt/SUITE/                      apt's downloaded packages for SUITE
#   .run/SUITE.PID/                 one run's scratch, removed at its end
# The archive: $VMRUN_STACK_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

prog=stack-root
say() { echo "$prog: $*" >&2; }
die() {
    echo "$prog: error: $*" >&2
    exit 125
}

HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
STACKS=${VMRUN_STACKS_DIR:-/var/cache/vmrun/stacks}
MIRROR=${VMRUN_STACK_MIRROR:-http://deb.debian.org/debian}
MAX_AGE=$((7 * 24 * 3600))
LISTS_MAX_AGE=$((24 * 3600))
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() {
    sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'
}

# --- The cache ---------------------------------------------------------

# current_gen SUITE: the directory of the generation in use, or nothing.
current_gen() {
    local link=$STACKS/$1/current
    [ -L "$link" ] || return 0
    local gen
    gen=$STACKS/$1/$(readlink "$link")
    [ -f "$gen/base.done" ] && echo "$gen"
    return 0
}

gen_age() {
    echo $(($(date +%s) - $(cat "$1/base.done")))
}

# The apt sources a freshly installed machine of SUITE has.
write_sources() {
    local suite=$1 root=$2
    {
        echo "deb $MIRROR $suite main"
        case $suite in
        sid | unstable | experimental) ;;
        *)
            echo "deb $MIRROR $suite-updates main"
            echo "deb ${MIRROR%/debian}/debian-security $suite-security main"
            ;;
        esac
    } >"$root/etc/apt/sources.list"
}

# build_base SUITE: a new generation with its base root; made current.
build_base() {
    local suite=$1 gen base start tool=()
    # unstable's Release file is valid for a week only; a mirror or snapshot
    # of the archive that is not refreshed that often would make every apt
    # run fail. What is in the root is still checked against its signature.
    local no_valid_until='Acquire::Check-Valid-Until "false";'
    if command -v mmdebstrap >/dev/null; then
        tool=(mmdebstrap "--aptopt=$no_valid_until")
    elif command -v debootstrap >/dev/null; then
        tool=(debootstrap)
    else
        die "mmdebstrap is missing (apt-get install mmdebstrap, or scripts/install-deps.sh)"
    fi
    gen=$STACKS/$suite/gen-$(date -u +%Y%m%dT%H%M%S)
    base=$gen/base
    mkdir -p "$gen"
    start=$(date +%s)
    say "making the $suite root in $base (${tool[0]} from $MIRROR)"
    if ! "${tool[@]}" --variant=minbase --include=sudo,ca-certificates \
        "$suite" "$base" "$MIRROR" >"$gen/debootstrap.log" 2>&1; then
        tail -n 30 "$gen/debootstrap.log" >&2
        rm -rf --one-file-system "$gen"
        die "${tool[0]} of $suite failed (log above)"
    fi
    write_sources "$suite" "$base"
    echo "$no_valid_until" >"$base/etc/apt/apt.conf.d/90vmrun-stack"
    # Packages installed in a chroot must not start services: they would
    # run on this machine, outside any run's control.
    printf '#!/bin/sh\nexit 101\n' >"$base/usr/sbin/policy-rc.d"
    chmod 0755 "$base/usr/sbin/policy-rc.d"
    echo force-unsafe-io >"$base/etc/dpkg/dpkg.cfg.d/90vmrun-stack"
    # The package lists, as a fresh machine has them.
    if ! chroot "$base" /usr/bin/env -i PATH=$ROOT_PATH apt-get -q update >>"$gen/debootstrap.log" 2>&1; then
        tail -n 20 "$gen/debootstrap.log" >&2
        rm -rf --one-file-system "$gen"
        die "apt-get update in the new $suite root failed (log above)"
    fi
    rm -f "$base"/var/cache/apt/archives/*.deb
    date +%s >"$gen/base.done"
    ln -sfn "$(basename "$gen")" "$STACKS/$suite/current.new"
    mv -T "$STACKS/$suite/current.new" "$STACKS/$suite/current"
    say "$suite root made in $(($(date +%s) - start)) s ($(du -sm "$base" | cut -f1) MB)"
}

# gc SUITE [KEEP]: remove generations other than the current one that
# nobody uses, dev layers (but KEEP) unused for two days when nobody uses
# their generation, and scratch directories of runs that are gone.
gc() {
    local suite=$1 keep=${2:-} cur gen d pid used
    cur=$(current_gen "$suite")
    for d in "$cur"/dev-*.done; do
        [ -f "$d" ] && [ "${d%.done}" != "$keep" ] || continue
        # Last used: .used, touched at every use (or, without it, made).
        used=${d%.done}.used
        [ -f "$used" ] || used=$d
        [ -n "$(find "$used" -mmin -2880)" ] && continue
        if flock -n -x "$cur/use.lock" true 2>/dev/null; then
            say "removing the unused dev layer ${d%.done}"
            rm -f "$d" "${d%.done}.used" "${d%.done}.log"
            rm -rf --one-file-system "${d%.done}"
        fi
    done
    for gen in "$STACKS/$suite"/gen-*; do
        [ -d "$gen" ] && [ "$gen" != "$cur" ] || continue
        # A generation being made has no base.done yet: leave it to its maker.
        [ -f "$gen/base.done" ] || [ "$(($(date +%s) - $(stat -c %Y "$gen")))" -gt 86400 ] || continue
        if flock -n -x "$gen/use.lock" true 2>/dev/null; then
            say "removing the old generation $gen"
            rm -rf --one-file-system "$gen"
        fi
    done
    for d in "$STACKS/.run/$suite".*; do
        [ -d "$d" ] || continue
        pid=${d##*.}
        if ! kill -0 "$pid" 2>/dev/null && ! mounted_under "$d"; then
            rm -rf --one-file-system "$d"
        fi
    done
}

# mounted_under DIR: is anything mounted at or below DIR (in this namespace)?
mounted_under() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo
}

deps_hash() {
    sha256sum "$1" | cut -c1-16
}

# mount_overlay LOWER... -- UPPER WORK TARGET
mount_overlay() {
    local lower=""
    while [ "$1" != -- ]; do
        lower=${lower:+$lower:}$1
        shift
    done
    shift
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$1,workdir=$2" "$3"
}

# build_dev SUITE GEN DEPS: the dev layer of GEN made by DEPS (an
# install-deps.sh), as an overlay upper over base.
build_dev() {
    local suite=$1 gen=$2 deps=$3 layer start
    layer=$gen/dev-$(deps_hash "$deps")
    start=$(date +%s)
    say "installing $suite's packages into $layer (scripts/install-deps.sh)"
    rm -rf --one-file-system "$layer.tmp" "$layer.work"
    mkdir -p "$layer.tmp" "$layer.work"
    # The install runs through `run`, in its own mount namespace, with the
    # new layer as the writable upper.
    if ! "$SELF" __enter "$suite" "$gen" base "$layer.tmp" "$layer.work" \
        --bind-ro "$deps:/run/vmrun-stack/install-deps.sh" \
        -- /bin/sh /run/vmrun-stack/install-deps.sh >"$layer.log" 2>&1; then
        tail -n 30 "$layer.log" >&2
        rm -rf --one-file-system "$layer.tmp" "$layer.work"
        die "installing $suite's packages failed (log above, $layer.log)"
    fi
    rm -rf --one-file-system "$layer.work"
    mv -T "$layer.tmp" "$layer"
    date +%s >"$layer.done"
    say "$suite dev layer made in $(($(date +%s) - start)) s ($(du -sm "$layer" | cut -f1) MB)"
}

# refresh_lists SUITE GEN LAYER: apt-get update in the dev layer once a day
# (unstable moves daily: old lists name packages the archive dropped).
refresh_lists() {
    local suite=$1 gen=$2 layer=$3 work
    [ $(($(date +%s) - $(stat -c %Y "$layer.done"))) -gt $LISTS_MAX_AGE ] || return 0
    # The layer is a lower layer of every run using it: change it only
    # when none does (the shared locks are on the generation).
    exec 8>"$gen/use.lock"
    if ! flock -n -x 8; then
        exec 8>&-
        return 0
    fi
    work=$layer.work
    rm -rf --one-file-system "$work"
    mkdir -p "$work"
    if "$SELF" __enter "$suite" "$gen" base "$layer" "$work" -- apt-get -q update >"$layer.log" 2>&1; then
        touch "$layer.done"
    else
        say "WARNING: apt-get update in the $suite dev layer failed; keeping its lists ($layer.log)"
    fi
    rm -rf --one-file-system "$work"
    exec 8>&-
}

# ensure SUITE LAYER DEPS: make what is missing or too old; print the
# generation's directory. Holds SUITE/build.lock while it makes anything.
ensure() {
    local suite=$1 layer=$2 deps=$3 gen layerdir=""
    case $suite in
    "" | */* | .*) die "'$suite' is not a suite name" ;;
    esac
    mkdir -p "$STACKS/$suite" "$STACKS/apt/$suite" "$STACKS/.run"
    exec 9>"$STACKS/$suite/build.lock"
    if ! flock -n 9; then
        say "waiting for another run making the $suite root"
        flock 9
    fi
    gen=$(current_gen "$suite")
    if [ -z "$gen" ] || [ "$(gen_age "$gen")" -gt $MAX_AGE ]; then
        build_base "$suite"
        gen=$(current_gen "$suite")
    fi
    if [ "$layer" = dev ]; then
        [ -f "$deps" ] || die "no install-deps script at $deps"
        layerdir=$gen/dev-$(deps_hash "$deps")
        if [ -f "$layerdir.done" ]; then
            refresh_lists "$suite" "$gen" "$layerdir"
        else
            build_dev "$suite" "$gen" "$deps"
        fi
        touch "$layerdir.used"
    fi
    gc "$suite" "$layerdir"
    exec 9>&-
    echo "$gen"
}

# --- Entering a root ---------------------------------------------------

# kill_inside ROOT: kill every process whose root directory is ROOT (they
# were all started by this run) and wait for them to go.
kill_inside() {
    local root=$1 p pids tries=0
    while :; do
        pids=""
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids="$pids ${p#/proc/}"
        done
        [ -n "$pids" ] || return 0
        [ $tries -lt 50 ] || {
            say "WARNING: processes still in $root:$pids"
            return 0
        }
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        tries=$((tries + 1))
        sleep 0.1
    done
}

# enter SUITE GEN LAYER UPPER WORK [--bind...] -- COMMAND...: in a new mount
# namespace (see __enter), mount the root and run COMMAND in it.
enter_inner() {
    local suite=$1 gen=$2 layer=$3 upper=$4 work=$5
    shift 5
    local binds=() cd=/ envs=() lower=() rc
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in
        --bind | --bind-ro) binds+=("$1" "$2") && shift ;;
        --cd) cd=$2 && shift ;;
        --env) envs+=("$2") && shift ;;
        --dev-layer) lower+=("$2") && shift ;;
        *) die "internal: unknown option $1" ;;
        esac
        shift
    done
    shift
    [ $# -gt 0 ] || die "no command to run"

    # Globals: the EXIT trap needs them after this function returned.
    scratch=$STACKS/.run/$suite.$$
    root=$scratch/root
    mkdir -p "$root"
    leave() {
        kill_inside "$root"
        umount -R "$root" 2>/dev/null || umount -R -l "$root" 2>/dev/null || true
        if mounted_under "$scratch"; then
            say "WARNING: $scratch is still mounted; left in place"
        else
            rm -rf --one-file-system "$scratch"
        fi
    }
    trap leave EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    if [ "$upper" = tmpfs ] || [ "$upper" = scratch ]; then
        mkdir -p "$scratch/rw"
        [ "$upper" = tmpfs ] && mount -t tmpfs -o mode=0755 tmpfs "$scratch/rw"
        upper=$scratch/rw/upper
        work=$scratch/rw/work
        mkdir -p "$upper" "$work"
    fi
    mount_overlay "${lower[@]}" "$gen/base" -- "$upper" "$work" "$root"
    [ -x "$root/bin/sh" ] || die "$root has no /bin/sh"

    mount -t proc proc "$root/proc"
    mount --rbind /sys "$root/sys"
    mount --make-rslave "$root/sys"
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
    mkdir -p "$root/run/lock" "$root/run/vmrun" /run/lock /run/vmrun
    chmod 1777 "$root/run/lock"
    mount --bind /run/lock "$root/run/lock"
    mount --bind /run/vmrun "$root/run/vmrun"
    mkdir -p "$STACKS/apt/$suite" /var/cache/vmrun/debs "$root/var/cache/apt/archives" "$root/var/cache/vmrun/debs"
    mount --bind "$STACKS/apt/$suite" "$root/var/cache/apt/archives"
    mount --bind /var/cache/vmrun/debs "$root/var/cache/vmrun/debs"
    # The host's name and resolver: the root shares its network.
    cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    cp -L /etc/hosts "$root/etc/hosts" 2>/dev/null || true

    local i src dest
    for ((i = 0; i < ${#binds[@]}; i += 2)); do
        src=${binds[i + 1]%%:*}
        dest=${binds[i + 1]#*:}
        [ -e "$src" ] || die "cannot bind $src: it does not exist"
        if [ -d "$src" ]; then
            mkdir -p "$root$dest"
        else
            mkdir -p "$(dirname "$root$dest")"
            [ -e "$root$dest" ] || : >"$root$dest"
        fi
        mount --bind "$src" "$root$dest"
        if [ "${binds[i]}" = --bind-ro ]; then
            mount -o remount,bind,ro "$root$dest"
        fi
    done

    # In the foreground: a background command would start with SIGINT
    # ignored, which tests of signal handling would inherit.
    set +e
    chroot "$root" /usr/bin/env -i PATH=$ROOT_PATH HOME=/root LANG=C.UTF-8 \
        TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive "${envs[@]}" \
        /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$cd" "$@"
    rc=$?
    set -e
    return $rc
}

# run_cmd OPTIONS SUITE [-- COMMAND...]
run_cmd() {
    local layer=dev deps=$HERE/install-deps.sh upper=scratch pass=() suite="" gen
    while [ $# -gt 0 ]; do
        case $1 in
        --layer) layer=$2 && shift ;;
        --deps) deps=$2 && shift ;;
        --upper) upper=$2 && shift ;;
        --tmpfs) upper=tmpfs ;;
        --bind | --bind-ro | --env | --cd)
            [ $# -ge 2 ] || die "$1 needs a value"
            pass+=("$1" "$2") && shift
            ;;
        --) break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *)
            [ -z "$suite" ] || die "one suite, please"
            suite=$1
            ;;
        esac
        shift
    done
    [ -n "$suite" ] || die "which suite?"
    [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || die "no command to run (run SUITE -- COMMAND)"
    case $layer in base | dev) ;; *) die "--layer is base or dev" ;; esac
    deps=$(realpath "$deps")
    gen=$(ensure "$suite" "$layer" "$deps")
    local work=""
    if [ "$upper" != scratch ] && [ "$upper" != tmpfs ]; then
        mkdir -p "$upper"
        upper=$(realpath "$upper")
        work=$STACKS/.run/$suite.work.$$
        rm -rf --one-file-system "$work"
        mkdir -p "$work"
    fi
    [ "$layer" = dev ] && pass=(--dev-layer "$gen/dev-$(deps_hash "$deps")" "${pass[@]}")
    # The generation stays while this run uses it: flock holds the lock
    # itself (-o), so no process in the root inherits it.
    set +e
    flock -s -o "$gen/use.lock" "$SELF" __enter "$suite" "$gen" "$layer" "$upper" "${work:-none}" \
        "${pass[@]}" -- "$@"
    local rc=$?
    set -e
    [ -z "$work" ] || rm -rf --one-file-system "$work"
    return $rc
}

[ $# -gt 0 ] || {
    usage
    exit 2
}
cmd=$1
shift
case $cmd in
-h | --help | help)
    usage
    exit 0
    ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root"

case $cmd in
__enter)
    # Internal: re-executed in a mount namespace of its own. The layer
    # argument is informational; a dev layer comes as --dev-layer.
    if [ "${VMRUN_STACK_IN_NS:-}" != 1 ]; then
        exec env VMRUN_STACK_IN_NS=1 unshare --mount --propagation private -- "$SELF" __enter "$@"
    fi
    unset VMRUN_STACK_IN_NS
    suite=$1 gen=$2 upper=$4 work=$5
    shift 5
    [ -f "$gen/base.done" ] || [ -d "$gen/base" ] || die "$gen is gone (a rebuild removed it): run again"
    enter_inner "$suite" "$gen" base "$upper" "$work" "$@"
    ;;
ensure | path)
    layer=dev deps=$HERE/install-deps.sh suite=""
    while [ $# -gt 0 ]; do
        case $1 in
        --layer) layer=$2 && shift ;;
        --deps) deps=$2 && shift ;;
        -*) die "unknown option $1" ;;
        *) suite=$1 ;;
        esac
        shift
    done
    case $layer in base | dev) ;; *) die "--layer is base or dev" ;; esac
    gen=$(ensure "$suite" "$layer" "$(realpath "$deps")")
    if [ "$cmd" = path ] && [ "$layer" = dev ]; then
        echo "$gen/dev-$(deps_hash "$(realpath "$deps")")"
    elif [ "$cmd" = path ]; then
        echo "$gen/base"
    else
        echo "$gen"
    fi
    ;;
run) run_cmd "$@" ;;
shell) run_cmd "$@" -- /bin/bash -l ;;
rebuild)
    [ $# -eq 1 ] || die "rebuild SUITE"
    mkdir -p "$STACKS/$1"
    exec 9>"$STACKS/$1/build.lock"
    flock 9
    build_base "$1"
    gc "$1" ""
    ;;
*) die "unknown command '$cmd' (see --help)" ;;
esac
