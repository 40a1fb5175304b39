#!/bin/bash
# Capture 3: clock steps under real cron -L 15 at REAL speed (fake date 2020-09-01 from 03:56:40):
# +60 min at 03:58:30 and -28 min at 05:01:30, by rewriting libfaketime's FAKETIME_TIMESTAMP_FILE
# (an offset in seconds, re-read every second by every process, jobs included via /etc/environment).
# A fixed-time and a */5 job. Takes ~12 real minutes.  Output: tests/data/cron/clockstep/
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
START="2020-09-01 03:56:40" OUTNAME=clockstep CRON_ARGS="-L 15" CLOCKSTEP=1 \
CRONTAB_SYS="$HERE/cron_inputs/clockstep.cron.d" CRONTAB_PI="$HERE/cron_inputs/clockstep.crontab_pi" \
CONTROLLER="$HERE/cron_inputs/clockstep.controller.sh" exec "$HERE/cron_run.sh"
