# sourced on the fake clock by cron_run.sh; $CRON is cron's pid
wait_until 040530; kill -STOP "$CRON"; note "SIGSTOP cron"
wait_until 050405; kill -CONT "$CRON"; note "SIGCONT cron"
wait_until 053030
