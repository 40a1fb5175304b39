#!/bin/bash
# The exact commands fleetaudit runs (fleetaudit/collect/sources.py) for processes, df and log files:
#  - on this machine as it is (df only: a normal filesystem), and
#  - inside a pid/mount/net namespace where rsyslogd, cron, lircd (+ irexec), softether vpnserver and sshd
#    run, so the process list is a real one with those daemons (real clock; nothing faked).
# Output: tests/data/procs/
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
stage="${1:-outer}"
if [ "$stage" = outer ]; then
  OUT="$HERE/../procs"; rm -rf "$OUT"; mkdir -p "$OUT"
  df -P /var/log / > "$OUT/df.host.txt"
  df -P -i /var/log / > "$OUT/df_inodes.host.txt"
  T=$(mktemp -d /tmp/fa-procs.XXXXXX)
  unshare --mount --uts --net --pid --fork --mount-proc "$0" ns "$T"
  cp "$T"/out/* "$OUT/"; chmod 644 "$OUT"/*
  rm -rf "$T"; echo "wrote $OUT"; exit 0
fi
. "$HERE/nslib.sh"
T="$2"; O="$T/out"; mkdir -p "$O"
ns_setup "$T"
add_pi_user "$T"
write_rsyslog_conf "$T/rs.conf"
start_rsyslog "$T/rs.conf"
cron                                   # Debian's cron daemonizes without -f (as init scripts ran it)
mkdir -p /run/lirc; lircd --nodaemon 2>/dev/null &
for _ in $(seq 100); do [ -S /run/lirc/lircd ] && break; sleep 0.1; done
irexec /etc/lirc/irexec.lircrc >/dev/null 2>&1 &
mkdir -p "$T/up" "$T/work"
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$T/up,workdir=$T/work" /var/lib
mkdir -p /run/softether /var/lib/softether /var/log/softether
sed -n '/^declare root/,$p' "$HERE/../softether/vpn_server.config.initial" > /var/lib/softether/vpn_server.config
/usr/libexec/softether/vpnserver/vpnserver start >/dev/null
mkdir -p /run/sshd; ssh-keygen -q -t ed25519 -N '' -f "$T/hk"
/usr/sbin/sshd -o "HostKey=$T/hk" -o PidFile=/run/sshd.pid -o ListenAddress=127.0.0.1
sleep 3
hostname > "$O/hostname.txt"
uname -srvm > "$O/kernel.txt"
date '+%Y-%m-%dT%H:%M:%S%z' > "$O/clock.txt"
ps -e -o pid=,user:32=,lstart=,comm=,args= > "$O/ps.txt"
df -P /var/log / > "$O/df.ns.txt"
df -P -i /var/log / > "$O/df_inodes.ns.txt"
find /var/log -xdev -type f -printf '%s\t%p\n' > "$O/log_files.txt" 2>/dev/null || true
/usr/libexec/softether/vpnserver/vpnserver stop >/dev/null
stop_pidfile /run/sshd.pid; stop_pidfile /run/crond.pid
kill %2 %1 2>/dev/null || true; sleep 1
stop_pidfile /run/rsyslogd.pid
