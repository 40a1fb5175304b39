# sourced by cron_run.sh (CLOCKSTEP=1: real-speed fake clock, offset in /var/local/faketime.rc)
# 1) at 03:58:30 step FORWARD +60 min (-> 04:58:30)   2) at 05:01:30 step BACKWARD -28 min (-> 04:33:30)
step() {  # step SECONDS
  echo "$(( $(cat /var/local/faketime.rc) + $1 ))" > /var/local/faketime.rc
  LD_PRELOAD= sleep 1.2; note "clock stepped by $1 s"
}
wait_until 035830; note "before forward step"; step 3600
wait_until 050130; note "before backward step"; step -1680
wait_until 044030
