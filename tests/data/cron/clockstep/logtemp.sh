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
