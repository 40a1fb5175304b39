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
flock /var/local/logger/hold.lock sleep 100000 & HOLD=$!
note "lock taken (pid $HOLD)"
wait_until 043230; kill "$HOLD"; wait "$HOLD" 2>/dev/null || true; note "lock released"
wait_until 045030
