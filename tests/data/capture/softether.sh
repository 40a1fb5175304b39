#!/bin/bash
# Real softether-vpnserver (Debian 5.01) in private namespaces with only lo, on a fake clock
# (libfaketime, constant offset so the log is dated 2020-09-14 ~04:39; real speed).
# Config written BEFORE the first start: DDnsClient Disabled, UseKeepConnect false, DisableNatTraversal true.
# Sequence: start (first ever) -> set admin password -> hub DEFAULT created/ user alice -> wrong admin password
# -> right admin password -> `vpnserver stop` (clean) -> start -> kill -9 worker (execsvc restarts it:
# unclean start) -> admin login -> `vpnserver stop`.
# Output: tests/data/softether/  (server_log/, security_log/, events.log, vpn_server.config.initial)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VS=/usr/libexec/softether/vpnserver/vpnserver
stage="${1:-outer}"
if [ "$stage" = outer ]; then
  T=$(mktemp -d /tmp/fa-se.XXXXXX)
  unshare --mount --uts --net --pid --fork --mount-proc "$0" ns "$T"
  OUT="$HERE/../softether"; rm -rf "$OUT"; mkdir -p "$OUT"
  cp -r "$T/log/softether/server_log" "$T/log/softether/security_log" "$OUT/"
  [ -d "$T/log/softether/packet_log" ] && find "$T/log/softether/packet_log" -type f | head -1 | grep -q . \
    && cp -r "$T/log/softether/packet_log" "$OUT/"
  cp "$T/vpn_server.config.initial" "$T/events.log" "$OUT/"
  find "$OUT" -type f -exec chmod 644 {} +
  rm -rf "$T"; echo "wrote $OUT"; exit 0
fi
. "$HERE/nslib.sh"
T="$2"
ns_setup "$T"
mkdir -p "$T/up" "$T/work"
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$T/up,workdir=$T/work" /var/lib
mkdir -p /run/softether /var/lib/softether /var/log/softether
cat > "$T/vpn_server.config.initial" <<'CFG'
# Software Configuration File
# ---------------------------
# written by fleetaudit tests/data/capture/softether.sh before the first start
declare root
{
	uint ConfigRevision 0
	bool IPsecMessageDisplayed true
	string Region $
	bool VgsMessageDisplayed true

	declare DDnsClient
	{
		bool Disabled true
	}
	declare ListenerList
	{
		declare Listener0
		{
			bool DisableDos false
			bool Enabled true
			uint Port 443
		}
		declare Listener1
		{
			bool DisableDos false
			bool Enabled true
			uint Port 5555
		}
	}
	declare ServerConfiguration
	{
		bool DisableNatTraversal true
		bool EnableVpnAzure false
		bool UseKeepConnect false
		string KeepConnectHost 127.0.0.1
		uint ServerLogSwitchType 4
	}
}
CFG
cp "$T/vpn_server.config.initial" /var/lib/softether/vpn_server.config
# constant clock offset: real seconds now -> 2020-09-14 04:39:20
off=$(( $(date -d '2020-09-14 04:39:20' +%s) - $(date +%s) ))
export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 FAKETIME="$off"
EV="$T/events.log"
ev() { echo "$(date '+%F %T') $*" >> "$EV"; }
cmd() { # cmd PASSWORD-ARGS... : run vpncmd against the local server, log the command and its last lines
  ev "vpncmd $*"
  # a wrong password makes vpncmd prompt again forever: cut it off
  timeout -s KILL 8 vpncmd localhost:5555 /SERVER "$@" < /dev/null > "$T/vpncmd.out" 2>&1 || true
  tail -n 3 "$T/vpncmd.out" | sed 's/^/    | /' >> "$EV"
}
worker() { ps -e -o pid=,ppid=,args= | awk -v sup="$1" '$2==sup && /execsvc/ {print $1}'; }
supervisor() { ps -e -o pid=,ppid=,args= | awk '$2==1 && /vpnserver execsvc/ {print $1}'; }
wait_ready() { for _ in $(seq 100); do vpncmd localhost:5555 /SERVER /PASSWORD:secret-admin-pw /CMD About </dev/null >/dev/null 2>&1 && return 0; sleep 0.2; done; }

ev "vpnserver start (first start, config written beforehand)"; $VS start >> "$EV" 2>&1; sleep 3
cmd /CMD ServerPasswordSet secret-admin-pw
cmd /PASSWORD:secret-admin-pw /CMD HubList
cmd /PASSWORD:secret-admin-pw /CMD HubCreate DEFAULT /PASSWORD:hub-admin-pw
printf '%s\n' 'Hub DEFAULT' 'UserCreate alice /GROUP:none /REALNAME:none /NOTE:none' \
  'UserPasswordSet alice /PASSWORD:alice-pw' > "$T/hubcmds.txt"
cmd /PASSWORD:secret-admin-pw /IN:"$T/hubcmds.txt"
sleep 2
cmd /PASSWORD:wrong-password /CMD ServerInfoGet
sleep 1
cmd /PASSWORD:secret-admin-pw /CMD ServerInfoGet
cmd /HUB:DEFAULT /PASSWORD:wrong-hub-password /CMD HubStatusGet
sleep 2
ev "vpnserver stop (clean)"; $VS stop >> "$EV" 2>&1; sleep 3
ev "vpnserver start"; $VS start >> "$EV" 2>&1; sleep 2; wait_ready
ps -e -o pid=,user:32=,lstart=,comm=,args= > "$T/ps.txt"; cat "$T/ps.txt" >> "$EV"
sup=$(supervisor); w=$(worker "$sup")
sleep 5
ev "kill -9 worker $w (supervisor $sup)"; kill -9 "$w"
sleep 4; wait_ready
ev "after restart: worker $(worker "$sup")"
cmd /PASSWORD:secret-admin-pw /CMD ServerInfoGet
sleep 2
ev "vpnserver stop (clean)"; $VS stop >> "$EV" 2>&1; sleep 2
ps -e -o pid=,args= >> "$EV"
