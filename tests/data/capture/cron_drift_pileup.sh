#!/bin/bash
# Capture 2: on 2020-09-14 from 03:00 fake: repeated 2-4 minute SIGSTOPs (late drift), then a job that
# blocks on a lock from 04:05 to 04:32:30 (pile-up). cron -L 15 (START, END, failures, [pid]).
# Output: tests/data/cron/drift_pileup/
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
START="2020-09-14 03:00:00" OUTNAME=drift_pileup CRON_ARGS="-L 15" \
CRONTAB_SYS="$HERE/cron_inputs/drift_pileup.cron.d" CRONTAB_PI="$HERE/cron_inputs/drift_pileup.crontab_pi" \
CONTROLLER="$HERE/cron_inputs/drift_pileup.controller.sh" exec "$HERE/cron_run.sh"
