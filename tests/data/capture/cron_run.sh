#!/bin/bash
# Generic runner: real Debian `cron -f` + real rsyslogd in private namespaces under an accelerated
# fake clock (faketime x60: 1 real second = 1 fake minute). Called by cron_catchup.sh and
# cron_drift_pileup.sh, which set: START, OUTNAME, CRON_ARGS, CRONTAB_SYS (file for /etc/cron.d/logtemp),
# CRONTAB_PI (file for pi's user crontab), CONTROLLER (bash file sourced on the fake clock, with $CRON
# = cron's pid; it decides when to SIGSTOP/SIGCONT and when to end).
# Output: tests/data/cron/$OUTNAME/  (see tests/data/README.md)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
START="${START:-2020-09-01 03:30:00}"
OUTNAME="${OUTNAME:-catchup}"
CONTROLLER=$(readlink -f "$CONTROLLER"); CRONTAB_SYS=$(readlink -f "$CRONTAB_SYS")
CRONTAB_PI=$(readlink -f "$CRONTAB_PI")
export START OUTNAME CONTROLLER CRONTAB_SYS CRONTAB_PI CRON_ARGS CLOCKSTEP
CRON_ARGS="${CRON_ARGS:-}"; CLOCKSTEP="${CLOCKSTEP:-0}"

stage="${1:-outer}"
if [ "$stage" = outer ]; then
  T=$(mktemp -d /tmp/fa-cron.XXXXXX)
  unshare --mount --uts --net --pid --fork --mount-proc "$0" ns "$T"
  OUT="$HERE/../cron/$OUTNAME"; rm -rf "$OUT"; mkdir -p "$OUT"
  cp "$T/log/syslog" "$T/log/syslog.rfc3339" "$T/log/auth.log" "$T/log/cron.log" "$OUT/"
  chmod 644 "$OUT"/*
  cp "$T/cron.d/logtemp" "$OUT/etc_cron.d_logtemp"
  cp "$T/spool/crontabs/pi" "$OUT/crontab_pi"; chmod 644 "$OUT/crontab_pi"
  cp "$T/usr_local_bin/logtemp.sh" "$OUT/logtemp.sh"
  cp "$T/var_local/logger/runs.log" "$OUT/runs.log"
  cp "$T/controller.log" "$OUT/controller.log"
  [ -s "$T/var_local/logger/errors.log" ] && cp "$T/var_local/logger/errors.log" "$OUT/logger_errors.log"
  for db in "$T"/var_local/logger/*.db; do
    cp "$db" "$OUT/"; sqlite3 "$db" .dump > "$OUT/$(basename "$db" .db).dump.sql"
  done
  rm -rf "$T"
  echo "wrote $OUT"; exit 0
fi

# shellcheck source=nslib.sh
. "$HERE/nslib.sh"
# shellcheck source=cronlib.sh
. "$HERE/cronlib.sh"
T="$2"

if [ "$stage" = ns ]; then
  ns_setup "$T"
  add_pi_user "$T"
  private_cron_dirs "$T"
  install_logger "$T"
  write_rsyslog_conf "$T/rsyslog.conf"
  cp "$CRONTAB_SYS" "$T/cron.d/logtemp"; chmod 644 "$T/cron.d/logtemp"
  install_user_crontab pi "$CRONTAB_PI"
  : > "$T/var_local/logger/hold.lock"; chmod 666 "$T/var_local/logger/hold.lock"
  if [ "$CLOCKSTEP" = 1 ]; then
    # real-speed clock with an offset read from a file that the controller rewrites to step the clock
    # (libfaketime re-reads FAKETIME_TIMESTAMP_FILE every second in every process)
    echo "$(( $(date -d "$START" +%s) - $(date +%s) ))" > /var/local/faketime.rc
    chmod 644 /var/local/faketime.rc
    export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
    export FAKETIME_TIMESTAMP_FILE=/var/local/faketime.rc FAKETIME_CACHE_DURATION=1
    exec "$0" faked "$T"
  fi
  export FAKETIME_DONT_RESET=1
  exec faketime -m -f "@$START x60" "$0" faked "$T"
fi

# stage faked: everything below runs on the shared fake clock
faketime_env_to_etc_environment
LOG="$T/controller.log"
note() { echo "$(date '+%F %T') $*" >> "$LOG"; }
start_rsyslog "$T/rsyslog.conf"
note "rsyslog started"
# shellcheck disable=SC2086
cron -f $CRON_ARGS &
CRON=$!
note "cron -f $CRON_ARGS started pid $CRON"
# shellcheck disable=SC1090
. "$CONTROLLER"
kill -TERM "$CRON"; wait "$CRON" || true; note "cron stopped"
sleep 5
stop_pidfile /run/rsyslogd.pid
