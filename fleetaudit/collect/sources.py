"""Declarative sources: what to pull from each host. Only the engine executes them.

Snapshot layout (a contract between collect and parse), under ``reports/<run-id>/<host>/``:
  files/<absolute remote path without the leading '/'>   for ``kind="files"`` (e.g. files/var/log/syslog.2.gz)
  cmd/<source name>.txt                                  stdout of ``kind="command"``
  cmd/<source name>.err                                  its stderr, when not empty
  logger/logger.db                                       the logger DB, a consistent SQLite copy (``kind="sqlite"``)
Commands are constants; the only per-host values (paths from the inventory) are inserted with shlex.quote.

Symlinks: the host never follows a symlink that a glob matched, nor a symlinked directory below a glob's fixed
part (``security_log/<HUB>`` being a link), so ``/var/log/syslog.9 -> /etc/shadow`` is not read. It is
reported as a note in the source's reason ("skipped symlink /var/log/syslog.9 -> /etc/shadow") and does not
change the source's status (a source that matched only symlinks is ``missing``): skipping it is the audit
working, not the host failing. The fixed part of a declared path is trusted (``/lib -> usr/lib`` on merged-usr
hosts, ``/proc/device-tree -> /sys/firmware/devicetree/base`` on a Pi); ``follow_links`` lets a fixed system
file that distributions ship as a symlink (``/etc/os-release``) be read. On a directory host every path must
also resolve inside the tree.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Tuple

from fleetaudit.model import Host

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class SourceSpec:
    """One thing to pull: remote file globs, a constant command, or the logger SQLite DB."""

    name: str
    kind: str                         # "files" | "command" | "sqlite"
    description: str
    paths: Tuple[str, ...] = ()       # remote globs for kind=files (shell glob syntax, absolute)
    command: str = ""                 # for kind=command: a constant POSIX sh command
    cap_bytes: int = 4 * MB           # per file for files (newest bytes kept), total for command
    optional: bool = True             # a missing optional source is status "missing", not a host failure
    root_only: bool = False           # use `sudo -n` when the host has sudo: true
    log: bool = False                 # a growing log: pulled newest-first up to the cap, incremental later
    first_match: bool = False         # paths are alternatives: only the first glob that matches is pulled
    follow_links: bool = False        # a matched path may itself be a symlink (only for fixed system files)
    rooted: bool = False              # command paths are written under "$FA_ROOT" (empty on a real host), so it
    #                                   runs unchanged on a directory host


_BASE: Tuple[SourceSpec, ...] = (
    SourceSpec("hostname", "command", "host name", command="hostname", optional=False, cap_bytes=4 * KB),
    SourceSpec("os_release", "files", "OS release", paths=("/etc/os-release",), cap_bytes=64 * KB,
               follow_links=True),          # Debian ships /etc/os-release -> ../usr/lib/os-release
    SourceSpec("kernel", "command", "kernel", command="uname -srvm", cap_bytes=4 * KB),
    SourceSpec("model", "files", "Pi model", cap_bytes=4 * KB, first_match=True,
               paths=("/proc/device-tree/model", "/sys/firmware/devicetree/base/model")),
    SourceSpec("uptime", "files", "uptime", paths=("/proc/uptime",), cap_bytes=4 * KB),
    SourceSpec("clock", "command", "host clock and UTC offset",
               command="date '+%Y-%m-%dT%H:%M:%S%z'", cap_bytes=4 * KB),
    SourceSpec("soc_temp", "files", "SoC temperature (millidegrees C)",
               paths=("/sys/class/thermal/thermal_zone0/temp",), cap_bytes=4 * KB),
    SourceSpec("syslog", "files", "system log with rotations",
               paths=("/var/log/syslog", "/var/log/syslog.*", "/var/log/messages", "/var/log/messages.*"),
               cap_bytes=32 * MB, log=True),
    SourceSpec("log_summary", "command", "per-program syslog counts made on the host when a log is over its cap",
               command="", cap_bytes=4 * MB, rooted=True),     # command set per host by sources_for
    SourceSpec("auth", "files", "auth.log with rotations", paths=("/var/log/auth.log", "/var/log/auth.log.*"),
               cap_bytes=16 * MB, root_only=True, log=True),
    SourceSpec("journal", "command", "journal, for hosts whose only log is journald",
               command="if [ ! -e /var/log/syslog ] && [ ! -e /var/log/messages ] && command -v journalctl >/dev/null;"
                       " then journalctl --no-pager -o short-iso-precise --since=-45d; fi",
               cap_bytes=32 * MB, root_only=True, log=True),
    SourceSpec("dpkg_status", "files", "dpkg package database", paths=("/var/lib/dpkg/status",),
               cap_bytes=16 * MB, optional=False),
    SourceSpec("apt_history", "files", "apt history", paths=("/var/log/apt/history.log", "/var/log/apt/history.log.*"),
               cap_bytes=8 * MB, log=True),
    SourceSpec("dpkg_log", "files", "dpkg log", paths=("/var/log/dpkg.log", "/var/log/dpkg.log.*"),
               cap_bytes=8 * MB, log=True),
    SourceSpec("crontabs", "files", "system and user crontabs",
               paths=("/etc/crontab", "/etc/cron.d/*", "/var/spool/cron/crontabs/*"), cap_bytes=1 * MB,
               root_only=True),
    SourceSpec("timer_units", "files", "systemd timer unit files",
               paths=("/lib/systemd/system/*.timer", "/usr/lib/systemd/system/*.timer", "/etc/systemd/system/*.timer"),
               cap_bytes=64 * KB),
    SourceSpec("unit_links", "command", "systemd enablement (wants/ symlinks) and local unit files",
               command="find /etc/systemd/system -mindepth 1 -maxdepth 2 \\( -type l -o -name '*.service' \\)"
                       " -printf '%p\\t%l\\n' 2>/dev/null; true", cap_bytes=1 * MB),
    SourceSpec("unit_owners", "command", "which package ships which systemd unit",
               command="grep -H -E '/systemd/system/[^/]+\\.(service|timer|socket)$' /var/lib/dpkg/info/*.list"
                       " 2>/dev/null; true", cap_bytes=1 * MB),
    SourceSpec("systemctl_timers", "command", "systemctl list-timers (when systemd runs)",
               command="systemctl list-timers --all --no-pager 2>&1", cap_bytes=256 * KB),
    SourceSpec("systemctl_units", "command", "running services (when systemd runs)",
               command="systemctl list-units --type=service --all --no-pager --plain --no-legend 2>&1",
               cap_bytes=1 * MB),
    SourceSpec("df", "command", "space on / and /var/log", command="df -P /var/log /", optional=False,
               cap_bytes=16 * KB),
    SourceSpec("df_inodes", "command", "inodes on / and /var/log", command="df -P -i /var/log /",
               cap_bytes=16 * KB),
    SourceSpec("log_files", "command", "every file under /var/log with its size",
               command="find /var/log -xdev -type f -printf '%s\\t%p\\n' 2>/dev/null; true", cap_bytes=2 * MB),
    SourceSpec("processes", "command", "running processes",
               command="ps -e -o pid=,user:32=,lstart=,comm=,args= | cut -c 1-1024", cap_bytes=2 * MB),
)


# Host-side summary of the system log (source ``log_summary``), for a log over its cap. Decision: when ANY
# syslog/messages file (the syslog source's globs, compressed size for a .gz) is larger than the cap, EVERY
# such file is summarised, so the counts describe exactly the files the syslog source pulled and the
# workstation never mixes host counts with tail counts; when none is over the cap it prints one ``N`` line.
# Files are filtered like the files source does: regular, readable, not a symlink, no tab/newline in the
# name, each inode once, and inside the tree on a directory host. A plain file is read up to the size stated
# in its header (``head -c``), a gzip file (by magic, as the parser decides) through ``gzip -dc``; nothing
# is written. The awk is POSIX (mawk, busybox): per program it keeps lines, bytes (length + 1), first and
# last stamp text with the number of Dec->Jan rollovers before each (the parser's year rule), one sample
# clipped to 200 bytes. Output (TSV):
#   N  reason                                        no file over the cap: nothing summarised
#   F  path  size  inode                             a file begins
#   P  program lines bytes firstroll first lastroll last sample
#   T  lines bytes dated undated overflow_lines overflow_bytes first_month rolls bumped last_trad last_trad_roll
# A file is complete only with its T row; at most 1000 programs per file (more are counted as overflow).
SUMMARY_AWK = r"""function flush() {
	if (cq) { n[cp] += cn; b[cp] += cb; lk[cp] = ck; ly[cp] = cy }
	cn = 0; cb = 0
}
function yr(m) {
	if (pm && pm - m >= 6) { yo++; bu = 1 } else if (pm && m - pm >= 6 && bu) { yo--; bu = 0 }
	pm = m
	if (!fm) fm = m
}
function okd(y, m, d, h, i, s) {
	if (m < 1 || m > 12 || d < 1 || d > md[m] || h > 23 || i > 59 || s > 59) return 0
	if (y && m == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) return 0
	return 1
}
function trad(k,   m) {
	m = substr(k, 1, 3)
	if (!(m in mo) || k !~ /^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/) return 0
	yr(mo[m])
	return okd(0, mo[m], substr(k, 5, 2) + 0, substr(k, 8, 2) + 0, substr(k, 11, 2) + 0, substr(k, 14, 2) + 0)
}
function iso(k) {
	if (k !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) return 0
	if (substr(k, 20) !~ /^([.,][0-9]*)?(Z|[+-][0-9][0-9]:?[0-9][0-9])?$/) return 0
	return okd(substr(k, 1, 4) + 0, substr(k, 6, 2) + 0, substr(k, 9, 2) + 0, substr(k, 12, 2) + 0,
		substr(k, 15, 2) + 0, substr(k, 18, 2) + 0)
}
function tag(r,   x, y) {
	p = ""
	if (match(r, /^[^ \t\r\f\v]+ /)) {
		x = substr(r, RLENGTH + 1)
		if (match(x, /^[^:[ \t\r\f\v]+/)) {
			p = substr(x, 1, RLENGTH)
			y = substr(x, RLENGTH + 1)
			if (substr(y, 1, 1) == ":") { ms = substr(y, 2) }
			else if (match(y, /^\[[0-9]+\]:/)) { ms = substr(y, RLENGTH + 1) }
			else p = ""
		}
	}
	if (p == "") { ms = r; sub(/^[^ ]* ?/, "", ms) } else if (substr(ms, 1, 1) == " ") ms = substr(ms, 2)
}
BEGIN {
	split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", a, " ")
	for (i = 1; i <= 12; i++) mo[a[i]] = i
	split("31 29 31 30 31 30 31 31 30 31 30 31", md, " ")
	pk = "\n"; pr = "\n"; lt = "-"
}
{
	z = length($0) + 1; tb += z; tl++; l = $0; lw = 0
	if (substr(l, z - 1) == "\r") sub(/[\r]+$/, "", l)
	if (length(l) > 15 && substr(l, 4, 1) == " " && substr(l, 10, 1) == ":" && substr(l, 16, 1) == " ") {
		k = substr(l, 1, 15); r = substr(l, 17); t = 1
	} else {
		e = index(l, " ")
		if (e < 20) { if (l ~ /[^ \t\r\f\v]/) bad++; next }
		k = substr(l, 1, e - 1); r = substr(l, e + 1); t = 0
	}
	if (k != pk) { pk = k; ok = t ? trad(k) : iso(k) }
	if (!ok) { bad++; next }
	dl++
	if (t) { lt = k; lty = yo }
	if (r != pr) { pr = r; tag(r) }
	if (!cq || p != cp) {
		if (!(p in n)) {
			if (np >= 1000) { flush(); cq = 0; on++; ob += z; lw = 2; next }
			np++; n[p] = 0; b[p] = 0; fk[p] = k; fy[p] = yo; s = substr(ms, 1, 200); gsub(/\t/, " ", s); sm[p] = s
		}
		flush(); cp = p; cq = 1
	}
	cn++; cb += z; ck = k; cy = yo; lw = 1
}
END {
	if (sz >= 0 && tb == sz + 1) { tb--; if (lw == 1) cb--; else if (lw == 2) ob-- }
	flush()
	for (p in n) printf "P\t%s\t%.0f\t%.0f\t%d\t%s\t%d\t%s\t%s\n", p, n[p], b[p], fy[p], fk[p], ly[p], lk[p], sm[p]
	printf "T\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t%d\t%s\t%d\n", tl, tb, dl, bad, on, ob, fm, yo, bu, lt, lty
}
"""

SUMMARY_SH = r"""c=%(cap)s r=${FA_ROOT:-} T=$(printf '\t') N='
'
A=%(awk)s
fa_ok() {
	[ -f "$1" ] && [ ! -L "$1" ] && [ -r "$1" ] || return 1
	case $1 in *"$T"*|*"$N"*) return 1;; esac
	if [ -n "$r" ]; then case $(realpath -- "$1" 2>/dev/null) in "$r"/*) ;; *) return 1;; esac; fi
	set -- $(stat -c '%%s %%i %%d' -- "$1" 2>/dev/null)
	[ -n "$3" ] || return 1
	s=$1 i=$2
	case $seen in *" $3:$2 "*) return 1;; esac
	seen="$seen$3:$2 "
}
big= seen=' '
for f in "$r"/var/log/syslog "$r"/var/log/syslog.* "$r"/var/log/messages "$r"/var/log/messages.*; do
	fa_ok "$f" && [ "$s" -gt "$c" ] && big=1
done
if [ -z "$big" ]; then printf 'N\tno system log file is over %%s bytes\n' "$c"; exit 0; fi
seen=' '
for f in "$r"/var/log/syslog "$r"/var/log/syslog.* "$r"/var/log/messages "$r"/var/log/messages.*; do
	fa_ok "$f" || continue
	printf 'F\t%%s\t%%s\t%%s\n' "${f#"$r"}" "$s" "$i"
	if [ "$(head -c 2 -- "$f" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
		gzip -dc -- "$f" 2>/dev/null | awk -v sz=-1 "$A"
	else
		head -c "$s" -- "$f" | awk -v sz="$s" "$A"
	fi
done
"""


def log_summary_command(cap_bytes: int) -> str:
    """Return the constant command that summarises the system log on the host (the cap is its one argument)."""
    return SUMMARY_SH % {"cap": shlex.quote(str(cap_bytes)), "awk": shlex.quote(SUMMARY_AWK)}


def softether_source(dirs: Tuple[str, ...]) -> SourceSpec:
    """Return the SoftEther log source for the host's configured directories."""
    globs = []
    for d in dirs:
        q = d.rstrip("/")
        globs += [f"{q}/server_log/*.log", f"{q}/security_log/*/*.log"]
    return SourceSpec("softether", "files", "SoftEther server and security logs", paths=tuple(globs),
                      cap_bytes=4 * MB, root_only=True, log=True)


def logger_source(db_path: str) -> SourceSpec:
    """Return the logger DB source for the host's configured path."""
    return SourceSpec("logger_db", "sqlite", "periodic logger SQLite DB", paths=(db_path,), cap_bytes=512 * MB)


def sources_for(host: Host) -> Tuple[SourceSpec, ...]:
    """Return every source to pull from ``host``, with the host's overrides applied."""
    specs = list(_BASE) + [softether_source(host.softether_dirs), logger_source(host.logger.db_path)]
    return tuple(_for_host(s, host) for s in specs)


def _for_host(spec: SourceSpec, host: Host) -> SourceSpec:
    """Apply the host's log cap to the syslog source and to the host-side summary that goes with it."""
    if spec.name == "syslog":
        return replace(spec, cap_bytes=host.log_cap_bytes)
    if spec.name == "log_summary":
        return replace(spec, command=log_summary_command(host.log_cap_bytes))
    return spec


def quoted(path: str) -> str:
    """Quote one path for the remote shell, keeping a trailing glob part unquoted."""
    head, sep, tail = path.rpartition("/")
    if any(c in tail for c in "*?["):
        return shlex.quote(head + sep) + tail
    return shlex.quote(path)
