#!/bin/bash
# Capture 1: cron SIGSTOPped for an hour (04:05:30 -> 05:04:05 fake, 2020-09-01), Debian's default
# log level (no -L), four 5-minute forms in /etc/cron.d + two in pi's user crontab.
# Output: tests/data/cron/catchup/
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
START="2020-09-01 03:30:00" OUTNAME=catchup CRON_ARGS="" \
CRONTAB_SYS="$HERE/cron_inputs/catchup.cron.d" CRONTAB_PI="$HERE/cron_inputs/catchup.crontab_pi" \
CONTROLLER="$HERE/cron_inputs/catchup.controller.sh" exec "$HERE/cron_run.sh"
