#!/bin/bash
# Real lircd 0.10.1 (Debian lirc package), unconfigured (default /etc/lirc/lirc_options.conf), run with
# --nodaemon, plus the package's irexec client connected; real rsyslogd writes /var/log/syslog
# (traditional format) into a small tmpfs (SIZE, default 1m) mounted on /var/log until it is full.
# Clock: faketime "@2020-09-14 00:00:00 x${RATE}" shared by rsyslog, lircd and irexec; lircd's
# once-a-second retry follows the fake clock, so the fill takes ~1/RATE of the real time.
# Output: tests/data/lircd/  (syslog.head, syslog.tail, df.txt, df_inodes.txt, log_files.txt, ps.txt,
# stats.txt, lircd.stderr.head)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SIZE="${SIZE:-1m}"; RATE="${RATE:-100}"; CAP="${CAP:-400}"   # CAP: max real seconds of filling
stage="${1:-outer}"
if [ "$stage" = outer ]; then
  T=$(mktemp -d /tmp/fa-lirc.XXXXXX)
  unshare --mount --uts --net --pid --fork --mount-proc "$0" ns "$T"
  OUT="$HERE/../lircd"; rm -rf "$OUT"; mkdir -p "$OUT"
  cp "$T"/out/* "$OUT/"; chmod 644 "$OUT"/*
  rm -rf "$T"; echo "wrote $OUT"; exit 0
fi
. "$HERE/nslib.sh"
T="$2"
if [ "$stage" = ns ]; then
  ns_setup "$T"
  mount -t tmpfs -o "size=$SIZE,mode=755" varlog /var/log
  cat > "$T/rs.conf" <<'RS'
module(load="imuxsock" SysSock.UseSysTimeStamp="off" SysSock.RateLimit.Interval="0")
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$Umask 0022
$WorkDirectory /var/spool/rsyslog
$ActionFileDefaultTemplate RSYSLOG_TraditionalFileFormat
*.*;auth,authpriv.none		-/var/log/syslog
auth,authpriv.*			/var/log/auth.log
RS
  export FAKETIME_DONT_RESET=1
  exec faketime -m -f "@2020-09-14 00:00:00 x$RATE" "$0" faked "$T"
fi
# stage faked
mkdir -p "$T/out" /run/lirc
O="$T/out"
start_rsyslog "$T/rs.conf"
lircd --nodaemon 2> "$T/lircd.stderr" &
LIRCD=$!
for _ in $(seq 100); do [ -S /run/lirc/lircd ] && break; LD_PRELOAD= sleep 0.1; done
LD_PRELOAD= sleep 1
irexec /etc/lirc/irexec.lircrc > "$T/irexec.out" 2>&1 &
IREXEC=$!
# fill until /var/log has no space left (or CAP real seconds): poll with the real clock
start=$(LD_PRELOAD= date +%s)
while :; do
  avail=$(df -P /var/log | awk 'NR==2 {print $4}')
  [ "$avail" -le 0 ] && break
  [ $(( $(LD_PRELOAD= date +%s) - start )) -ge "$CAP" ] && break
  LD_PRELOAD= sleep 1
done
full_at=$(date '+%F %T')
LD_PRELOAD= sleep 3   # let a few more lines be refused
size_before=$(stat -c %s /var/log/syslog)
LD_PRELOAD= sleep 3
size_after=$(stat -c %s /var/log/syslog)
df -P /var/log / > "$O/df.txt"
df -P -i /var/log / > "$O/df_inodes.txt"
find /var/log -xdev -type f -printf '%s\t%p\n' > "$O/log_files.txt" 2>/dev/null || true
ps -e -o pid=,user:32=,lstart=,comm=,args= > "$O/ps.txt"
kill "$IREXEC"; kill "$LIRCD"; wait "$LIRCD" 2>/dev/null || true
head -n 200 /var/log/syslog > "$O/syslog.head"
tail -n 200 /var/log/syslog > "$O/syslog.tail"
head -n 60 "$T/lircd.stderr" > "$O/lircd.stderr.head"
{
  echo "fake clock: @2020-09-14 00:00:00 x$RATE ; tmpfs size=$SIZE on /var/log"
  echo "partition full (avail 0) at fake time: $full_at"
  echo "syslog lines: $(wc -l < /var/log/syslog)"
  echo "syslog bytes: $(stat -c %s /var/log/syslog)"
  echo "syslog size 3s and 6s after full: $size_before $size_after"
  echo "lines by program:"; awk '{print $5}' /var/log/syslog | sed 's/\[[0-9]*\]//' | sort | uniq -c | sort -rn
  echo "lircd 'No /sys/class/rc/ devices found' lines: $(grep -c 'No /sys/class/rc/ devices found' /var/log/syslog)"
  echo "first/last of them:"; grep 'No /sys/class/rc/' /var/log/syslog | sed -n '1p;$p'
  echo "ends with newline: $(tail -c1 /var/log/syslog | od -An -c | tr -d ' ')"
  echo "lircd stderr lines: $(wc -l < "$T/lircd.stderr")"
} > "$O/stats.txt"
stop_pidfile /run/rsyslogd.pid
