# Shared by scripts/demo.sh and scripts/test.sh (sourced, not run).

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# Configure and build one tree: build_tree DIR [cmake options...]
# The compiler's output is kept in DIR/build.log and shown when it fails.
build_tree() {
    dir=$1
    shift
    echo "building in $dir"
    mkdir -p "$dir"
    if ! { cmake -S "$VMRUN_TOP" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" &&
        cmake --build "$dir" -j"$(nproc)"; } >"$dir/build.log" 2>&1; then
        tail -n 60 "$dir/build.log" >&2
        echo "build failed in $dir (full log: $dir/build.log)" >&2
        return 1
    fi
}

VMRUN_TOP=$(cd "$(dirname "$0")/.." && pwd)
export VMRUN_TOP
