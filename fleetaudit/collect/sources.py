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


# Host-side summary of the system log (source ``log_summary``), for a log over its cap. Decision: when ANY file
# of the family the parser reads (syslog and its rotations, else messages and its rotations; compressed size
# for a .gz, as the files source compares) is larger than the cap, EVERY file of that family is summarised,
# so the counts describe exactly the files the syslog source pulled and the workstation never mixes host
# counts with tail counts; when none is over the cap the host prints one ``N`` line and counts nothing (one
# ``find`` over /var/log answers that first in the common case; any candidate found goes through the full rules).
# Files are filtered as the files source does (regular, readable, not a symlink, no tab/newline in the name,
# each inode once, inside the tree on a directory host) and fed oldest first in the parser's rotation order
# to ONE awk, so its stamp cache and Dec->Jan year tracker run over the same line sequence as
# ``parse.stamps.LineDater``: a plain file up to the size in its header (``head -c``), a gzip file (by magic,
# as the parser decides) through ``gzip -dc``. Each file is preceded by a marker line holding a random nonce
# (passed in the environment, not on the command line; a log line cannot forge it); nothing is written.
# The awk is POSIX (no regex intervals, no gawk extensions; tested with mawk, Raspberry Pi OS's awk). It runs
# under the engine's command timeout (--command-timeout, 60 s): 2 GB of one repeated line took 6 s here
# (a run of identical lines is counted on a fast path), varied lines about 3 s per million; a Pi is slower.
# On a timeout the output has no T row and the workstation falls back to the tail, saying so. Output:
#   N  reason                                       no file over the cap: nothing summarised
#   F  path  size  inode                            a file begins
#   P  program lines bytes firstroll first lastroll last sample       one per program of that file
#   T  lines bytes dated undated overflow_lines overflow_bytes last_naive last_naive_roll
# ``roll`` is the provisional year offset (Dec->Jan rollovers, ``stamps.YearTracker``) of a traditional stamp;
# ``last_naive`` the file's last stamp without an offset (what ``parse.syslog`` infers the year from).
# Bytes are raw line sizes with the newline (a last line without one counts without); the sample is clipped
# to 200 bytes with tabs made spaces; a file is complete only with its T row; at most 1000 programs per file
# (the lines of more are counted in the totals as overflow).
SUMMARY_AWK = r"""function flush() {
	if (cq) { n[cp] += cn; b[cp] += cb; lk[cp] = ck; ly[cp] = cr }
	cn = 0; cb = 0
}
function yr(m) {
	if (pm && pm - m >= 6) { yo++; bu = 1 } else if (pm && m - pm >= 6 && bu) { yo--; bu = 0 }
	pm = m
}
function pint(x) {
	if (x ~ /^[0-9][0-9]*$/) return x + 0
	sub(/^[ \t\r\f\v]+/, "", x); sub(/[ \t\r\f\v]+$/, "", x)
	if (x !~ /^[+-]?[0-9][0-9]*$/) return ""
	return x + 0
}
function okd(y, m, d, h, i, s) {
	if (m == "" || d == "" || h == "" || i == "" || s == "") return 0
	if (m < 1 || m > 12 || d < 1 || d > md[m] || h < 0 || h > 23 || i < 0 || i > 59 || s < 0 || s > 59) return 0
	if (y >= 0 && (y < 1 || (m == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))) return 0
	return 1
}
function trad(k,   m, d, h, i, s) {
	m = substr(k, 1, 3)
	if (!(m in mo) || substr(k, 13, 1) != ":") return 0
	d = pint(substr(k, 5, 2)); h = pint(substr(k, 8, 2)); i = pint(substr(k, 11, 2)); s = pint(substr(k, 14, 2))
	if (d == "" || h == "" || i == "" || s == "") return 0
	yr(mo[m])
	return okd(-1, mo[m], d, h, i, s)
}
function tz(x,   d) {
	if (x == "" || x == "Z") return 1
	if (x !~ /^[+-]/) return 0
	d = substr(x, 2); gsub(/:/, "", d)
	return d ~ /^[0-9][0-9][0-9][0-9]$/ && substr(d, 1, 2) * 60 + substr(d, 3, 2) < 1440
}
function iso(k,   x) {
	if (substr(k, 5, 1) != "-" || substr(k, 8, 1) != "-" || substr(k, 11, 1) != "T") return 0
	if (substr(k, 14, 1) != ":" || substr(k, 17, 1) != ":") return 0
	x = substr(k, 20)
	if (match(x, /^[.,][0-9]*/)) x = substr(x, RLENGTH + 1)
	if (!tz(x)) return 0
	return okd(pint(substr(k, 1, 4)), pint(substr(k, 6, 2)), pint(substr(k, 9, 2)), pint(substr(k, 12, 2)),
		pint(substr(k, 15, 2)), pint(substr(k, 18, 2)))
}
function tag(r,   x, y) {
	p = ""
	if (match(r, /^[^ \t\r\f\v]+ /)) {
		x = substr(r, RLENGTH + 1)
		if (match(x, /^[^:[ \t\r\f\v]+/)) {
			p = substr(x, 1, RLENGTH)
			y = substr(x, RLENGTH + 1)
			if (substr(y, 1, 1) == ":") { ms = substr(y, 2) }
			else if (match(y, /^\[[0-9][0-9]*\]:/)) { ms = substr(y, RLENGTH + 1) }
			else p = ""
		}
	}
	if (p == "") { ms = r; sub(/^[^ ]* ?/, "", ms) } else if (substr(ms, 1, 1) == " ") ms = substr(ms, 2)
}
function endfile(   q) {
	if (pe) { tl--; tb-- } else { tb--; if (lw == 1) cb--; else if (lw == 2) ob-- }
	flush()
	for (q in n) printf "P\t%s\t%.0f\t%.0f\t%d\t%s\t%d\t%s\t%s\n", q, n[q], b[q], fy[q], fk[q], ly[q], lk[q], sm[q]
	printf "T\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\t%d\n", tl, tb, dl, bad, on, ob, lt, lty
}
function reset() {
	split("", n); split("", b); split("", fk); split("", fy); split("", lk); split("", ly); split("", sm)
	tl = 0; tb = 0; dl = 0; bad = 0; on = 0; ob = 0; np = 0; cq = 0; lt = "-"; lty = 0; lw = 0; pl = "\n"
}
BEGIN {
	split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", a, " ")
	for (i = 1; i <= 12; i++) mo[a[i]] = i
	split("31 29 31 30 31 30 31 31 30 31 30 31", md, " ")
	M = ENVIRON["M"]; pk = "\n"; pr = "\n"; pl = "\n"; lt = "-"; ml = length(M)
}
substr($0, 1, ml) == M {
	if (open) endfile()
	reset()
	open = length($0) > ml
	if (open) print "F" substr($0, ml + 1)
	next
}
$0 == pl && lw == 1 { tb += z; tl++; dl++; cn++; cb += z; next }
{
	z = length($0) + 1; tb += z; tl++; l = $0; pl = $0; lw = 0; pe = z == 1
	if (substr(l, z - 1) == "\r") sub(/[\r]+$/, "", l)
	if (length(l) > 15 && substr(l, 4, 1) == " " && substr(l, 10, 1) == ":" && substr(l, 16, 1) == " ") {
		k = substr(l, 1, 15); r = substr(l, 17); t = 1
	} else {
		e = index(l, " ")
		if (e < 20) { if (l ~ /[^ \t\r\f\v]/) bad++; next }
		k = substr(l, 1, e - 1); r = substr(l, e + 1); t = 0
	}
	if (k != pk) {
		pk = k; nv = t || substr(k, 20) !~ /[Z+-]/
		if (k in kc) { ok = 1; ro = kc[k] } else {
			ok = t ? trad(k) : iso(k); ro = yo
			if (ok) { if (nc > 4096 || yo != cy) { split("", kc); nc = 0; cy = yo }; kc[k] = yo; nc++ }
		}
	}
	if (!ok) { bad++; next }
	dl++
	if (nv) { lt = k; lty = ro }
	if (r != pr) { pr = r; tag(r) }
	if (!cq || p != cp) {
		if (!(p in n)) {
			if (np >= 1000) { flush(); cq = 0; on++; ob += z; lw = 2; next }
			np++; n[p] = 0; b[p] = 0; fk[p] = k; fy[p] = ro; s = substr(ms, 1, 200); gsub(/\t/, " ", s); sm[p] = s
		}
		flush(); cp = p; cq = 1
	}
	cn++; cb += z; ck = k; cr = ro; lw = 1
}
"""

SUMMARY_SH = r"""summary_cap=%(cap)s r=${FA_ROOT:-} T=$(printf '\t') N='
'
A=%(awk)s
if [ -z "$(find "$r/var/log/" -maxdepth 1 -type f \( -name 'syslog*' -o -name 'messages*' \) -size +"$summary_cap"c \
	-print -quit 2>/dev/null)" ]; then
	printf 'N\tno system log file is over %%s bytes\n' "$summary_cap"
	exit 0
fi
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
fa_list() {
	seen=' '
	for f in "$r/var/log/$1" "$r/var/log/$1".*; do
		fa_ok "$f" || continue
		t=${f##*/}
		t=${t#"$1"}
		x=${t#"${t%%%%[!.]*}"}
		x=${x%%%%.*}
		case $t:$x in
		:*) printf '2\t0\t\t%%s\t%%s\t%%s\n' "$s" "$i" "$f";;
		.*:[0-9]*) case $x in *[!0-9]*) printf '0\t0\t%%s\t%%s\t%%s\t%%s\n' "$t" "$s" "$i" "$f";;
			*) printf '1\t%%s\t\t%%s\t%%s\t%%s\n' "$x" "$s" "$i" "$f";; esac;;
		*) printf '0\t0\t%%s\t%%s\t%%s\t%%s\n' "$t" "$s" "$i" "$f";;
		esac
	done | sort -t "$T" -k1,1n -k2,2nr -k3,3 | cut -f 4-
}
L=$(fa_list syslog)
[ -n "$L" ] || L=$(fa_list messages)
big=
while IFS=$T read -r s i f; do [ -n "$s" ] && [ "$s" -gt "$summary_cap" ] && big=1; done <<EOF
$L
EOF
if [ -z "$big" ]; then printf 'N\tno system log file is over %%s bytes\n' "$summary_cap"; exit 0; fi
M=@FA-SUMMARY-$(od -An -N8 -tx1 /dev/urandom 2>/dev/null | tr -d ' \n')-$$
{
	while IFS=$T read -r s i f; do
		printf '\n%%s\t%%s\t%%s\t%%s\n' "$M" "${f#"$r"}" "$s" "$i"
		if [ "$(head -c 2 -- "$f" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; then
			gzip -dc -- "$f" 2>/dev/null
		else
			head -c "$s" -- "$f"
		fi
	done <<EOF
$L
EOF
	printf '\n%%s\n' "$M"
} | M=$M LC_ALL=C awk "$A"
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
