#!/bin/bash
# Copies (verbatim, no namespaces needed: read-only) this machine's real dpkg/apt records of the day lirc,
# cron, rsyslog, softether-vpnserver ... were apt-installed, plus real systemd unit files.
# Output: tests/data/dpkg/ and tests/data/systemd/
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/../dpkg"; SD="$HERE/../systemd"
rm -rf "$OUT" "$SD"; mkdir -p "$OUT" "$SD"
PKGS="lirc liblirc0 liblirc-client0 cron cron-daemon-common rsyslog softether-vpnserver softether-common openssh-server faketime sqlite3 logrotate"
# 1) dpkg status stanzas, in the file's own order, verbatim (blank-line separated)
awk -v want=" $PKGS " 'BEGIN{RS=""; ORS="\n\n"} { split($0, l, "\n"); p=l[1]; sub(/^Package: /, "", p);
  if (index(want, " " p " ")) print }' /var/lib/dpkg/status > "$OUT/status"
# 2) dpkg-query default output (binary:Package TAB Version) for the same packages
# shellcheck disable=SC2086
dpkg-query -W $PKGS > "$OUT/dpkg-query-W.txt"
# 3) apt history.log: the whole file (all stanzas, the last one installs lirc)
cp /var/log/apt/history.log "$OUT/history.log"
# 4) dpkg.log lines of the apt run that installed lirc (between its Start-Date and End-Date)
start=$(grep -B1 -A0 'Commandline: apt-get install -y -qq openssh-server faketime cron rsyslog lirc' \
  /var/log/apt/history.log | sed -n 's/^Start-Date: //p' | tr -s ' ')
end=$(awk -v s="$start" '/^Start-Date:/{x=$0; gsub(/  +/," ",x); cur=(x=="Start-Date: " s)} cur && /^End-Date:/{sub(/^End-Date: /,""); gsub(/  +/," "); print; exit}' /var/log/apt/history.log)
awk -v s="$start" -v e="$end" '{t=$1" "$2} t>=s && t<=e' /var/log/dpkg.log > "$OUT/dpkg.log.lirc-install-run"
grep -E ' (install|configure|status installed) ' "$OUT/dpkg.log.lirc-install-run" \
  | grep -E ' (lirc|liblirc0|liblirc-client0|cron|rsyslog|softether-vpnserver|openssh-server):' > "$OUT/dpkg.log.lirc-excerpt"
echo "apt run: $start .. $end" > "$OUT/README.run"
# 5) unit files
for u in apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service logrotate.timer \
         logrotate.service man-db.timer man-db.service fstrim.timer fstrim.service lircd.service lircd.socket \
         lircd-setup.service lircd-uinput.service lircmd.service irexec.service cron.service rsyslog.service \
         softether-vpnserver.service ssh.service; do
  [ -e "/lib/systemd/system/$u" ] && cp "/lib/systemd/system/$u" "$SD/$u"
done
grep -H -E '/systemd/system/[^/]+\.(service|timer|socket)$' /var/lib/dpkg/info/{lirc,cron,rsyslog,softether-vpnserver,apt,logrotate,man-db,util-linux,openssh-server}.list \
  > "$SD/unit_owners.txt" 2>/dev/null || true
find /etc/systemd/system -mindepth 1 -maxdepth 2 \( -type l -o -name '*.service' \) -printf '%p\t%l\n' \
  > "$SD/unit_links.txt" 2>/dev/null || true
chmod 644 "$OUT"/* "$SD"/*
echo "wrote $OUT $SD"
