#!/bin/bash
# PID 1 of one simulated Raspberry Pi, run by `unshare --mount --uts --pid --fork --kill-child`.
#
# outer: set the hostname, build an overlay root (lower = the machine's /, upper = a tmpfs) so nothing the
#        host writes reaches the machine, mount a fresh /proc, bind the host's tree over the real paths,
#        then chroot into it and run the inner stage.
# inner: start the host's long-running processes (copies of cat named like the daemons, argv[0] set to
#        the daemon's command line, blocked on a FIFO) and exec sshd in the foreground as PID 1.
#
# Environment (set by fleetaudit.simfleet.fleet): SIM_HOSTNAME, SIM_TREE, SIM_STATE (this host's keys and
# sshd_config), SIM_SHARED (the fleet's state dir: this script, bin/, the FIFO), SIM_BINDS (tree-relative
# paths), SIM_DAEMONS (lines "comm=command line"), SIM_SSHD_CONFIG, SIM_HIDE (optional: a file listing absolute
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
    # A home of the simulated root's own: the workstation's ~/.bashrc (pyenv init, rehash locks...) must not run
    # on every SSH session of a simulated Pi, and nothing a session writes there reaches the workstation.
    mount -t tmpfs -o size=4m,mode=700 simfleet-home "$root/root"
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
    local root="$1"
    [ -n "${SIM_HIDE:-}" ] && [ -s "$SIM_HIDE" ] || return 0
    sed "s|^|$root|" "$SIM_HIDE" | xargs -d '\n' rm -f --
}

inner() {
    # Each stand-in is a copy of cat named like the daemon (so `ps -o comm` shows the name), blocked on a
    # FIFO; its whole command line is one argv[0] string, which `ps -o args` prints like the real one.
    cd /
    local d comm cmdline
    while IFS= read -r d; do
        [ -n "$d" ] || continue
        comm="${d%%=*}"
        cmdline="${d#*=}"
        (exec -a "$cmdline" "$SIM_SHARED/bin/$comm" <>"$SIM_SHARED/bin/block.fifo" >/dev/null 2>&1) &
    done <<< "${SIM_DAEMONS:-}"
    exec /usr/sbin/sshd -D -e -f "$SIM_SSHD_CONFIG"
}

case "${1:-outer}" in
    outer) outer ;;
    inner) inner ;;
    *) echo "usage: $0 outer|inner" >&2; exit 2 ;;
esac
