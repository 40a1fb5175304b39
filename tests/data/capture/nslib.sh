#!/bin/bash
# Shared helpers for the capture scripts. Sourced, not run.
# ns_setup ROOT: called INSIDE `unshare --mount --uts --net --pid --fork --mount-proc`.
# Gives the namespace a private /dev, /run, /var/log, hostname and loopback only,
# so the daemons started here change nothing on the machine and cannot reach any network.
set -euo pipefail

ns_setup() {
  local root="$1"
  hostname raspberrypi
  ip link set lo up
  mount --make-rprivate /
  # private /dev with the few nodes daemons need
  mount -t tmpfs -o mode=755 nsdev /dev
  mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5
  mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
  mknod -m 666 /dev/tty c 5 0
  mkdir -p /dev/shm /dev/pts
  mount -t tmpfs -o mode=1777 nsshm /dev/shm
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts
  ln -s pts/ptmx /dev/ptmx
  ln -s /proc/self/fd /dev/fd
  mount -t tmpfs -o mode=755 nsrun /run
  mkdir -p "$root/log" "$root/spool_rsyslog"
  mount --bind "$root/log" /var/log
  mount --bind "$root/spool_rsyslog" /var/spool/rsyslog 2>/dev/null || true
}

# bind_over SRC DST: bind-mount a private file/dir over an existing path
bind_over() { mount --bind "$1" "$2"; }

# add_pi_user ROOT: private passwd/group/shadow with a user 'pi' (uid 1000) like Raspberry Pi OS
add_pi_user() {
  local root="$1" f
  for f in passwd group shadow; do cp -a "/etc/$f" "$root/$f"; done
  grep -q '^pi:' "$root/passwd" || echo 'pi:x:1000:1000:,,,:/home/pi:/bin/bash' >> "$root/passwd"
  grep -q '^pi:' "$root/group" || echo 'pi:x:1000:' >> "$root/group"
  grep -q '^pi:' "$root/shadow" || echo 'pi:*:18500:0:99999:7:::' >> "$root/shadow"
  for f in passwd group shadow; do mount --bind "$root/$f" "/etc/$f"; done
}

# write_rsyslog_conf FILE: Debian-like rules; traditional format in syslog/auth.log/cron.log,
# bookworm's default RFC3339 in syslog.rfc3339. Lines get rsyslog's (faked) clock, not the kernel's.
write_rsyslog_conf() {
  cat > "$1" <<'RS'
module(load="imuxsock" SysSock.UseSysTimeStamp="off" SysSock.RateLimit.Interval="0")
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$DirCreateMode 0755
$Umask 0022
$WorkDirectory /var/spool/rsyslog
*.*;auth,authpriv.none		-/var/log/syslog;RSYSLOG_TraditionalFileFormat
auth,authpriv.*			/var/log/auth.log;RSYSLOG_TraditionalFileFormat
cron.*				-/var/log/cron.log;RSYSLOG_TraditionalFileFormat
*.*;auth,authpriv.none		-/var/log/syslog.rfc3339;RSYSLOG_FileFormat
RS
}

start_rsyslog() {  # start_rsyslog CONF
  rsyslogd -f "$1" -i /run/rsyslogd.pid
  for _ in $(seq 50); do [ -S /dev/log ] && return 0; sleep 0.1; done
  echo "rsyslog did not create /dev/log" >&2; return 1
}

stop_pidfile() {  # stop_pidfile FILE: TERM the daemon in FILE and wait for it
  local p; p=$(cat "$1" 2>/dev/null) || return 0
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
