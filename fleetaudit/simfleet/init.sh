#!/bin/bash
# PID 1 of one simulated Raspberry Pi, run by `unshare --mount --uts --pid --fork --kill-child`.
#
# outer: set the hostname, build an overlay root (lower = the machine's /, upper = a tmpfs) so nothing the
#        host writes reaches the machine, mount a fresh /proc, bind the host's tree over the real paths,
#        then chroot into it and run the inner stage.
# inner: start the host's long-running processes (copies of cat named like the daemons, argv[0] set to
#        the daemon's path, blocked on a FIFO) and exec sshd in the foreground as PID 1.
#
# Environment (set by fleetaudit.simfleet.fleet): SIM_HOSTNAME, SIM_TREE, SIM_STATE (this host's keys and
# sshd_config), SIM_SHARED (the fleet's state dir: this script, bin/, the FIFO), SIM_BINDS (tree-relative
# paths), SIM_DAEMONS ("comm=argv0 ..."), SIM_SSHD_CONFIG, SIM_HIDE (optional: a file listing absolute
# paths to delete from the overlay, e.g. lirc's files on the twin).
set -eu

outer() {
    hostname "$SIM_HOSTNAME"
    local root="$SIM_STATE/root" ovl="$SIM_STATE/ovl"
    mkdir -p "$root" "$ovl"
    mount -t tmpfs -o size=64m,mode=755 simfleet-upper "$ovl"
    mkdir -p "$ovl/upper" "$ovl/work"
    mount -t overlay simfleet-root -o "lowerdir=/,upperdir=$ovl/upper,workdir=$ovl/work" "$root"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount -t tmpfs -o mode=755 simfleet-run "$root/run"
    mkdir -p "$root/run/sshd" "$root/run/lirc" "$root$SIM_SHARED"
    mount --bind "$SIM_SHARED" "$root$SIM_SHARED"
    local rel
    for rel in $SIM_BINDS; do
        bind_tree_path "$root" "$rel"
    done
    hide_paths "$root"
    exec chroot "$root" /bin/bash "$SIM_SHARED/init.sh" inner
}

bind_tree_path() {
    local root="$1" rel="$2"
    local src="$SIM_TREE/$rel" dst="$root/$rel"
    [ -e "$src" ] || return 0
    if [ -d "$src" ]; then
        mkdir -p "$dst"
    elif [ ! -e "$dst" ]; then
        mkdir -p "$(dirname "$dst")"
        : > "$dst"
    fi
    mount --bind "$src" "$dst"
}

hide_paths() {
    # Delete (in the overlay only) the machine's files of packages this host does not have.
    local root="$1" path
    [ -n "${SIM_HIDE:-}" ] && [ -f "$SIM_HIDE" ] || return 0
    while IFS= read -r path; do
        if [ -f "$root$path" ] || [ -L "$root$path" ]; then
            rm -f "$root$path"
        fi
    done < "$SIM_HIDE"
}

inner() {
    cd /
    local d comm argv0
    for d in $SIM_DAEMONS; do
        comm="${d%%=*}"
        argv0="${d#*=}"
        (exec -a "$argv0" "$SIM_SHARED/bin/$comm" <>"$SIM_SHARED/bin/block.fifo" >/dev/null 2>&1) &
    done
    exec /usr/sbin/sshd -D -e -f "$SIM_SSHD_CONFIG"
}

case "${1:-outer}" in
    outer) outer ;;
    inner) inner ;;
    *) echo "usage: $0 outer|inner" >&2; exit 2 ;;
esac
