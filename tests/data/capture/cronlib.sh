#!/bin/bash
# Shared cron helpers (sourced). Used inside the namespace, under faketime.
set -euo pipefail

# install_logger ROOT: /usr/local/bin/logtemp.sh (private bind) + /var/local/logger (private bind).
# logtemp.sh FORM [lock]: stamps `date '+%Y-%m-%d %H:%M'` AFTER optionally waiting on a lock,
# reads the temperature from /var/local/logger/temp_c, inserts into /var/local/logger/FORM.db
# table temperatures(timestamp TEXT, temperature REAL) with `.timeout 5000`; also appends a
# line with seconds to /var/local/logger/runs.log (start second, write second, form, pid).
install_logger() {
  local root="$1"
  mkdir -p "$root/usr_local_bin" "$root/var_local/logger"
  cat > "$root/usr_local_bin/logtemp.sh" <<'SH'
#!/bin/sh
# fleetaudit capture logger: one row per run into /var/local/logger/$1.db
form="$1"; dir=/var/local/logger
started=$(date '+%Y-%m-%d %H:%M:%S')
if [ "${2:-}" = lock ]; then
  # wait until the controller releases the lock (simulates a job that blocks)
  flock "$dir/hold.lock" true
fi
ts=$(date '+%Y-%m-%d %H:%M')
t=$(cat "$dir/temp_c" 2>/dev/null || echo 47.2)
sqlite3 "$dir/$form.db" >/dev/null 2>>"$dir/errors.log" <<SQL
.timeout 5000
CREATE TABLE IF NOT EXISTS temperatures(timestamp TEXT, temperature REAL);
INSERT INTO temperatures VALUES('$ts', $t);
SQL
echo "$started $(date '+%H:%M:%S') $form $$" >> "$dir/runs.log"
SH
  chmod 755 "$root/usr_local_bin/logtemp.sh"
  echo 47.2 > "$root/var_local/logger/temp_c"
  chown -R 1000:1000 "$root/var_local/logger"
  mount --bind "$root/usr_local_bin" /usr/local/bin
  mount --bind "$root/var_local" /var/local
}

# private cron dirs: /etc/cron.d, /var/spool/cron, empty cron.daily/weekly/monthly, /etc/environment
private_cron_dirs() {
  local root="$1" d
  mkdir -p "$root/cron.d" "$root/spool/crontabs" "$root/empty"
  chmod 755 "$root/cron.d"
  chown root:crontab "$root/spool/crontabs"; chmod 1730 "$root/spool/crontabs"
  mount --bind "$root/cron.d" /etc/cron.d
  mount --bind "$root/spool" /var/spool/cron
  for d in daily weekly monthly; do mount --bind "$root/empty" "/etc/cron.$d"; done
  : > "$root/environment"
  mount --bind "$root/environment" /etc/environment
}

# faketime_env_to_etc_environment: jobs get the shared fake clock through pam_env
faketime_env_to_etc_environment() {
  local v
  {
    echo "LD_PRELOAD=$LD_PRELOAD"
    for v in FAKETIME FAKETIME_SHARED FAKETIME_DONT_RESET FAKETIME_TIMESTAMP_FILE FAKETIME_CACHE_DURATION; do
      if [ -n "${!v:-}" ]; then echo "$v=\"${!v}\""; fi
    done
  } > /etc/environment
  chmod 666 /dev/shm/*faketime* 2>/dev/null || true
}

install_user_crontab() {  # install_user_crontab USER FILE
  install -o "$1" -g crontab -m 600 "$2" "/var/spool/cron/crontabs/$1"
}

hm() { date '+%H%M%S'; }            # fake clock, HHMMSS
wait_until() {                      # wait_until HHMMSS (fake clock)
  while [ "$(hm)" -lt "$1" ]; do sleep 2; done
}
