# sourced on the fake clock by cron_run.sh; $CRON is cron's pid
# 1) late drift: short SIGSTOPs (2-4 min) spanning slots, so runs start minutes late
stopcont() { wait_until "$1"; kill -STOP "$CRON"; note "SIGSTOP cron"; wait_until "$2"; kill -CONT "$CRON"; note "SIGCONT cron"; }
stopcont 030930 031140
stopcont 031430 031740
stopcont 031930 032240
stopcont 032430 032840
stopcont 033430 033640
stopcont 033930 034340
# 2) pile-up: hold the lock the logger waits on from 04:03 to 04:32:30; cron starts the jobs on
#    schedule (CMD lines on time) but all blocked instances write their rows together
wait_until 040300
exec 9>/var/local/logger/hold.lock; flock 9
note "lock taken"
wait_until 043230; flock -u 9; exec 9>&-; note "lock released"
wait_until 045030
