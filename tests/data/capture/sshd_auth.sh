#!/bin/bash
# Real OpenSSH sshd (Debian 1:9.2p1) in private namespaces (only lo), private sshd_config with UsePAM yes,
# real rsyslogd writing /var/log/auth.log in the traditional format on a fake clock (constant offset,
# 2020-09-14 ~09:15; only rsyslog is faked, the timestamps come from it). Clients use paramiko:
# 1) pi with a good ed25519 key, runs a command  2) password for invalid user admin  3) bad password for pi
# 4) a second bad password for pi from the same client.  sudo is NOT installed on this machine (skipped).
# Output: tests/data/auth/  (auth.log, syslog, clients.log, sshd_config)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
stage="${1:-outer}"
if [ "$stage" = outer ]; then
  T=$(mktemp -d /tmp/fa-ssh.XXXXXX)
  unshare --mount --uts --net --pid --fork --mount-proc "$0" ns "$T"
  OUT="$HERE/../auth"; rm -rf "$OUT"; mkdir -p "$OUT"
  cp "$T/log/auth.log" "$T/log/syslog" "$T/clients.log" "$T/sshd_config" "$OUT/"; chmod 644 "$OUT"/*
  rm -rf "$T"; echo "wrote $OUT"; exit 0
fi
. "$HERE/nslib.sh"
T="$2"
ns_setup "$T"
add_pi_user "$T"
# pi gets a real password hash (password "raspberry", never used successfully here)
hash=$(openssl passwd -6 -salt fleetaudit raspberry)
sed -i "s|^pi:\*:|pi:$hash:|" "$T/shadow"
chmod 755 "$T"; mkdir -p "$T/home/pi" "$T/keys"; chmod 755 "$T/keys"; chown 1000:1000 "$T/home/pi"; mount --bind "$T/home" /home
ssh-keygen -q -t ed25519 -N '' -f "$T/keys/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C pi@laptop -f "$T/keys/client_pi"
cp "$T/keys/client_pi.pub" "$T/keys/authorized_keys_pi"
mkdir -p /run/sshd
cat > "$T/sshd_config" <<CFG
Port 22
ListenAddress 127.0.0.1
HostKey $T/keys/host_ed25519
PidFile /run/sshd.pid
UsePAM yes
KbdInteractiveAuthentication no
PasswordAuthentication yes
PubkeyAuthentication yes
AuthorizedKeysFile $T/keys/authorized_keys_%u
StrictModes no
SyslogFacility AUTH
LogLevel INFO
PrintMotd no
Subsystem sftp /usr/lib/openssh/sftp-server
CFG
write_rsyslog_conf "$T/rs.conf"
off=$(( $(date -d '2020-09-14 09:15:00' +%s) - $(date +%s) ))
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 FAKETIME="$off" \
  rsyslogd -f "$T/rs.conf" -i /run/rsyslogd.pid
for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
/usr/sbin/sshd -f "$T/sshd_config"
sleep 1
python3 - "$T" > "$T/clients.log" 2>&1 <<'PY' || true
import sys, time, paramiko
T = sys.argv[1]
def attempt(label, user, **kw):
    c = paramiko.SSHClient()
    c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        c.connect("127.0.0.1", 22, username=user, allow_agent=False, look_for_keys=False, timeout=10, **kw)
        _, out, _ = c.exec_command("id; hostname")
        print(label, "OK", out.read().decode().strip().replace("\n", " | "))
    except paramiko.AuthenticationException as e:
        print(label, "AUTH FAILED", e)
    finally:
        c.close()
    time.sleep(1.5)
attempt("1 pi good key", "pi", key_filename=T + "/keys/client_pi")
attempt("2 invalid user admin, password", "admin", password="admin123")
attempt("3 pi bad password", "pi", password="wrong-password")
attempt("4 pi bad password again", "pi", password="123456")
PY
sleep 2
stop_pidfile /run/sshd.pid
stop_pidfile /run/rsyslogd.pid
