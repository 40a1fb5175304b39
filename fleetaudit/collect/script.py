"""Build the one POSIX sh script that collects every source of a host in a single round trip.

The script writes one framed stream on stdout. Every record starts with a header line ``@FA<TAB>type<TAB>...``:

  S name                                  a source begins
  F name status n size inode mtime path   a file (status ok|truncated); exactly n bytes follow
  Q name status n size 0 0 path           the logger DB as SQL text (a WAL database); n bytes follow
  C name                                  command stdout follows as base64 lines, then
  E name                                  its stderr as base64 lines, then
  R name exit-code                        the command's exit code (124: timed out)
  U name ok 0 size inode mtime path prev   unchanged since the last run (stored then as ``prev``): no body
  A name ok n size inode mtime path prev   grown: the last run's copy of ``prev`` was verified on the host
                                          (sha256 of its byte range); the n new bytes that follow it come next
  G name ok 0 size inode mtime path prev   a ``.gz`` whose content is the last run's whole copy of ``prev``
  T name json                             the logger DB's row state (see ``remote_db``)
  I name ok n n 0 0 path                  only the logger DB rows added since the last run, as JSON lines
  D name path                             permission denied on this file or directory
  L name path target                      a symlink matched by a glob (or a symlinked directory below the
                                          glob's fixed part) was skipped, never read: a note, not an error
  M name                                  nothing matched (the source is missing)
  N name reason                           the source is not available for this kind of host
  X name reason                           an error for this source
  W sudo reason                           sudo -n is unavailable (root-only sources are read without it)
  Z name                                  the source ends
  END                                     the whole stream ends

A file's byte count is fixed in its header before it is read and the body is padded/cut to exactly that count,
so a file growing or shrinking while it is read cannot break the framing. Per glob, the readable regular files
matched are stat'ed by ONE ``stat`` call (size, inode, mtime, device, name; a file missing from its output is
framed as before from ``wc -c``); a file gone by the time it is read is skipped. Bodies of up to 4 MiB whose
first bytes are wanted are queued per source and, when python3 is there and 4 or more are queued, ONE python3
process writes their headers and bodies (``FA_BODIES``: read up to n bytes, pad with NUL to exactly n); otherwise
a body is one ``dd`` (a NUL-padded single block of n bytes; n zero bytes when the file can no longer be opened).
A bigger body is ``cat file /dev/zero | head -c n``, and ``tail`` gives the newest bytes of an over-cap log.
Per-process cost dominates a host's collect time
(~1 ms per fork+exec on the 2-core test machine, more on a Pi; it was 2 processes per file before),
so the script keeps processes per file and per command to a minimum. A command's stderr section is empty
(no ``base64`` run) when the command wrote nothing to stderr.
Base64 lines never start with ``@``.
Incremental runs: each files source gets the last complete run's entries (inode, size, mtime, stored byte range
and its sha256, path) as one quoted argument; the host answers U/A/G instead of a whole body when it can.
Nothing is written on the host; only coreutils, find, stat, timeout, base64, sha256sum, gzip, and python3
(or sqlite3) are used.
"""

from __future__ import annotations

import json
import shlex
from typing import Dict, List, Optional, Sequence

from fleetaudit.collect.remote_db import PY
from fleetaudit.collect.sources import SourceSpec
from fleetaudit.collect.state import HostState, known_lines
from fleetaudit.collect.status import LOCAL_NA
from fleetaudit.model import Host

LIB = r"""IFS='
'
FA_BODIES='import os, sys
r, q = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
w = sys.stdout.buffer.write
for h in q.split(b"\n"):
    if not h:
        continue
    f = h.split(b"\t", 6)
    n = int(f[2])
    w(b"@FA\tF\t" + h + b"\n")
    try:
        fd = os.open(r + f[6], os.O_RDONLY | os.O_NOCTTY | os.O_NOFOLLOW)
    except OSError:
        fd = -1
    while n > 0 and fd >= 0:
        try:
            b = os.read(fd, min(n, 1048576))
        except OSError:
            b = b""
        if not b:
            break
        w(b)
        n -= len(b)
    if fd >= 0:
        os.close(fd)
    w(bytes(n))
sys.stdout.flush()
'
FA_NL='
'
FA_TAB='	'
LC_ALL=C
export LC_ALL
exec 4>&1
fa_files() {
	_s=$1 _cap=$2 _mode=$3 _known=$4 _opt=$5
	shift 5
	_any= _seen=' ' _bq= _bn=0 _py=
	! command -v python3 >/dev/null 2>&1 || _py=1
	for _g in "$@"; do
		_pre=${_g%%[*?[]*}
		_pre=$FA_ROOT${_pre%/*}/
		_list= _rpre=
		[ -z "$FA_LOCAL" ] || _rpre=$(realpath -- "$_pre" 2>/dev/null)
		for _f in $FA_ROOT$_g; do
			if [ -e "$_f" ] || [ -L "$_f" ]; then
				_any=1
				fa_safe "$_f" && fa_pick "$_s" "$_f"
			elif fa_dirck "$_s" "$_f"; then
				_any=1
			fi
		done
		[ -z "$_list" ] || fa_batch
		case $_opt in *1*) [ -n "$_any" ] && break;; esac
	done
	fa_flush
	[ -n "$_any" ] || printf '@FA\tM\t%s\n' "$_s"
}
fa_pick() {
	_p=${2#"$FA_ROOT"}
	case $_p in
	*"$FA_TAB"*|*"$FA_NL"*) printf '@FA\tX\t%s\ta file name with a tab or newline was skipped\n' "$1"; return 0;;
	esac
	[ -f "$2" ] || return 0
	if [ ! -r "$2" ]; then
		printf '@FA\tD\t%s\t%s\n' "$1" "$_p"
		return 0
	fi
	_list=$_list$FA_NL$2
}
fa_batch() {
	set -f
	_sl=$(stat -L --printf '%s\t%i\t%Y\t%d\t%n\n' -- $_list 2>/dev/null)$FA_NL
	for _f in $_list; do
		_l=${_sl%%"$FA_NL"*}
		case $_l in
		*"$FA_TAB$_f")
			_sl=${_sl#*"$FA_NL"}
			_IFS=$IFS
			IFS=$FA_TAB
			set -f
			set -- ${_l%"$FA_TAB$_f"}
			IFS=$_IFS
			fa_file "$_s" "$_cap" "$_mode" "$_f" "$1" "$2" "$3" "$4";;
		*) fa_file "$_s" "$_cap" "$_mode" "$_f";;
		esac
	done
	set +f
}
fa_link() {
	_t=$(readlink -- "$1" 2>/dev/null | tr '\t\n' '  ')
	printf '@FA\tL\t%s\t%s\t%s\n' "$_s" "${1#"$FA_ROOT"}" "$_t"
}
fa_safe() {
	_r=${1#"$_pre"} _c=$_pre
	while :; do
		case $_r in */*) ;; *) break;; esac
		_c=$_c${_r%%/*}
		_r=${_r#*/}
		if [ -L "$_c" ]; then fa_link "$_c"; return 1; fi
		_c=$_c/
	done
	case $_opt in *L*) ;; *) if [ -L "$1" ]; then fa_link "$1"; return 1; fi;; esac
	[ -n "$FA_LOCAL" ] || return 0
	if [ ! -L "$1" ]; then case $_rpre/ in "$FA_ROOT"/*) return 0;; esac; fi
	_c=$(realpath -- "$1" 2>/dev/null)
	case $_c in "$FA_ROOT"/*) return 0;; esac
	printf '@FA\tL\t%s\t%s\t%s\n' "$_s" "${1#"$FA_ROOT"}" "a directory outside the host tree"
	return 1
}
fa_dirck() {
	_d=${2%/*}
	[ -n "$_d" ] && [ -d "$_d" ] || return 1
	if [ -r "$_d" ] && [ -x "$_d" ]; then return 1; fi
	printf '@FA\tD\t%s\t%s\n' "$1" "${_d#"$FA_ROOT"}"
}
fa_file() {
	_p=${4#"$FA_ROOT"}
	[ -f "$4" ] || return 0
	if [ -n "$8" ]; then
		case $_seen in *" $8:$6 "*) return 0;; esac
		_seen="$_seen$8:$6 "
	fi
	_sz=${5:-0}
	if [ "$_sz" -le 0 ]; then
		_sz=$(wc -c < "$4" 2>/dev/null)
		_sz=${_sz:-0}
	fi
	_m=$3 _z=
	case $_p in *.gz|*.xz|*.bz2) _m=head _z=1;; esac
	if [ -n "$_known" ] && fa_match "$_p" "$4" "$_sz" "${6:-0}" "${7:-0}" "$2" "$3" "$_z"; then return 0; fi
	_st=ok _n=$_sz
	if [ "$_sz" -gt "$2" ]; then _st=truncated _n=$2; fi
	_hd=$1$FA_TAB$_st$FA_TAB$_n$FA_TAB$_sz$FA_TAB${6:-0}$FA_TAB${7:-0}$FA_TAB$_p
	if [ -n "$_py" ] && [ "$_n" -le 4194304 ] && { [ "$_st" = ok ] || [ "$_m" = head ]; }; then
		_bq=$_bq$FA_NL$_hd _bn=$((_bn + 1))
		[ "$_bn" -lt 64 ] || fa_flush
		return 0
	fi
	fa_flush
	printf '@FA\tF\t%s\n' "$_hd"
	if [ "$_st" = truncated ] && [ "$_m" = tail ]; then
		{ tail -c "$_n" -- "$4"; cat /dev/zero; } 2>/dev/null | head -c "$_n"
	elif [ "$_n" -le 4194304 ]; then
		fa_body "$4" "$_n"
	else
		cat -- "$4" /dev/zero 2>/dev/null | head -c "$_n"
	fi
}
fa_flush() {
	[ -n "$_bq" ] || return 0
	if [ "$_bn" -ge 4 ]; then
		python3 -S -c "$FA_BODIES" "$FA_ROOT" "$_bq"
	else
		set -f
		for _b in $_bq; do
			printf '@FA\tF\t%s\n' "$_b"
			_b=${_b#*"$FA_TAB"*"$FA_TAB"}
			fa_body "$FA_ROOT${_b#*"$FA_TAB"*"$FA_TAB"*"$FA_TAB"*"$FA_TAB"}" "${_b%%"$FA_TAB"*}"
		done
		set +f
	fi
	_bq= _bn=0
}
fa_body() {
	[ "$2" -gt 0 ] || return 0
	_op=
	{ _op=1; dd bs="$2" count=1 iflag=fullblock conv=sync,noerror status=none; } < "$1" 2>/dev/null
	[ -n "$_op" ] || head -c "$2" /dev/zero
}
fa_kv() {
	_IFS=$IFS
	IFS=$FA_TAB
	set -- $1
	IFS=$_IFS
	_ki=$1 _ks=$2 _km=$3 _ko=$4 _kl=$5 _kh=$6 _kf=$7 _kp=$8
}
fa_hdr() {
	printf '@FA\t%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$_s" "$2" "$3" "$4" "$5" "$6" "$_kp"
}
fa_match() {
	case $FA_NL$_known in
	*"$FA_NL$4$FA_TAB$3$FA_TAB$5$FA_TAB"*) ;;
	*) [ "$7" = tail ] || return 1; fa_more "$@"; return;;
	esac
	set -f
	for _k in $_known; do
		fa_kv "$_k"
		[ "$_ki" = "$4" ] && [ "$_ks" = "$3" ] && [ "$_km" = "$5" ] || continue
		if [ "$_kp" = "$1" ] || [ "$7" = tail ]; then
			set +f
			fa_hdr U 0 "$3" "$4" "$5" "$1"
			return 0
		fi
	done
	set +f
	[ "$7" = tail ] || return 1
	fa_more "$@"
}
fa_more() {
	if [ -n "$8" ]; then
		case $1 in *.gz) fa_gz "$@";; *) return 1;; esac
	else
		fa_grown "$@"
	fi
}
fa_sum() {
	if [ "$2" -eq 0 ]; then head -c "$3" -- "$1"; else tail -c +$(($2 + 1)) -- "$1" | head -c "$3"; fi | sha256sum
}
fa_grown() {
	set -f
	for _k in $_known; do
		fa_kv "$_k"
		[ "$_ki" = "$4" ] || [ "$_kp" = "$1" ] || [ "$_kp" = "${1%.1}" ] || continue
		_a=$(($3 - _ko - _kl))
		[ "$_kl" -gt 0 ] && [ "$_a" -ge 0 ] && [ "$_a" -le "$6" ] || continue
		_h=$(fa_sum "$2" "$_ko" "$_kl" 2>/dev/null)
		[ "${_h%% *}" = "$_kh" ] || continue
		set +f
		fa_hdr A "$_a" "$3" "$4" "$5" "$1"
		{ tail -c +$((_ko + _kl + 1)) -- "$2"; cat /dev/zero; } 2>/dev/null | head -c "$_a"
		return 0
	done
	set +f
	return 1
}
fa_gz() {
	[ "$3" -le "$6" ] || return 1
	case $_known in *"${FA_TAB}f${FA_TAB}"*) ;; *) return 1;; esac
	_h=$(gzip -dc -- "$2" 2>/dev/null | sha256sum)
	set -f
	for _k in $_known; do
		fa_kv "$_k"
		[ "$_kf" = f ] && [ "$_kh" = "${_h%% *}" ] || continue
		set +f
		fa_hdr G 0 "$3" "$4" "$5" "$1"
		return 0
	done
	set +f
	return 1
}
fa_run() {
	if [ -n "$2" ]; then timeout "$1" sudo -n sh -c "$3"; else timeout "$1" sh -c "$3"; fi
}
fa_cmd() {
	printf '@FA\tC\t%s\n' "$1"
	_c=head
	[ "$4" != tail ] || _c=tail
	_o=$( { { fa_run "$3" "$5" "$6" 2>&3; echo "@RC$?" >&3; } | $_c -c $(($2 + 1)) | base64 >&4; } 3>&1 )
	printf '@FA\tE\t%s\n' "$1"
	_e=${_o%@RC*}
	[ -z "$_e" ] || printf '%s' "$_e" | head -c 65536 | base64
	printf '@FA\tR\t%s\t%s\n' "$1" "${_o##*@RC}"
}
fa_sqlite() {
	_db=$FA_ROOT$3
	if command -v python3 >/dev/null 2>&1; then
		if [ -e "$_db" ] && [ ! -r "$_db" ] && [ -n "$FA_SUDO" ]; then
			sudo -n python3 -S -c "$FA_PY" "$1" "$2" "$_db" "$3" "$5"
		else
			python3 -S -c "$FA_PY" "$1" "$2" "$_db" "$3" "$5"
		fi
	elif [ ! -e "$_db" ]; then
		printf '@FA\tM\t%s\n' "$1"
	elif command -v sqlite3 >/dev/null 2>&1; then
		fa_cmd "$1" "$2" "$FA_TIMEOUT" head "" "$4"
	else
		printf '@FA\tX\t%s\tneither python3 nor sqlite3 is installed on the host\n' "$1"
	fi
}
"""

_NA = LOCAL_NA

# df on a directory host: the partitions holding <root>/var/log and <root> (a mounted SD card's), with mount
# points shown as the host would see them (inside the tree: re-rooted; an ancestor of the tree: "/").
_LOCAL_DF = ("d=\"$FA_ROOT/var/log\"; [ -d \"$d\" ] || d=\"$FA_ROOT\";"
             " df -P{opt} \"$d\" \"$FA_ROOT/\" | awk -v r=\"$FA_ROOT\""
             " 'NR == 1 {{ print; next }} {{ m = $6; for (i = 7; i <= NF; i++) m = m \" \" $i;"
             " if (index(m \"/\", r \"/\") == 1) m = substr(m, length(r) + 1); else m = \"/\";"
             " if (m == \"\") m = \"/\"; print $1, $2, $3, $4, $5, m }}'")

# Commands a directory tree can still answer, run with FA_ROOT pointing at the tree.
LOCAL_COMMANDS: Dict[str, str] = {
    "df": _LOCAL_DF.format(opt=""),
    "df_inodes": _LOCAL_DF.format(opt=" -i"),
    "hostname": 'cat "$FA_ROOT/etc/hostname"',
    "log_files": "find \"$FA_ROOT/var/log\" -xdev -type f -printf '%s\\t/var/log/%P\\n' 2>/dev/null; true",
    "unit_links": "find \"$FA_ROOT/etc/systemd/system\" -mindepth 1 -maxdepth 2 \\( -type l -o -name '*.service' \\)"
                  " -printf '/etc/systemd/system/%P\\t%l\\n' 2>/dev/null; true",
    "unit_owners": "cd \"$FA_ROOT\" && grep -H -E '/systemd/system/[^/]+\\.(service|timer|socket)$'"
                   " var/lib/dpkg/info/*.list 2>/dev/null | sed 's|^|/|'; true",
}

_SUDO_CHECK = r"""if ! command -v sudo >/dev/null 2>&1; then
	printf '@FA\tW\tsudo\tsudo is not installed on the host\n'
elif FA_E=$(sudo -n true 2>&1 </dev/null); then
	FA_SUDO=1
else
	printf '@FA\tW\tsudo\tsudo -n refused: %s\n' "$(printf '%s' "$FA_E" | head -n 1 | tr '\t' ' ')"
fi"""


def _q(*args: object) -> str:
    """Return the arguments shell-quoted and joined."""
    return " ".join(shlex.quote(str(a)) for a in args)


def _mode(spec: SourceSpec) -> str:
    """Return how to cut an over-cap body: newest bytes for logs, first bytes otherwise."""
    return "tail" if spec.log else "head"


def _files_call(spec: SourceSpec, host: Host, local: bool, known: str = "") -> str:
    """Return the call that streams a files source (through sudo -n for root-only sources)."""
    opts = ("1" if spec.first_match else "") + ("L" if spec.follow_links else "")
    args = _q(spec.name, spec.cap_bytes, _mode(spec), known, opts, *spec.paths)
    if spec.root_only and host.sudo and not local:
        return (f'if [ -n "$FA_SUDO" ]; then sudo -n sh -c "$FA_LIB"\' fa_files "$@"\' fa {args}; '
                f"else fa_files {args}; fi")
    return f"fa_files {args}"


def _command_call(spec: SourceSpec, host: Host, local: bool, timeout: int) -> str:
    """Return the call that runs a command source, or marks it unavailable on a local host."""
    command = spec.command
    if local and not spec.rooted:
        if spec.name not in LOCAL_COMMANDS:
            return "printf '@FA\\tN\\t%s\\t%s\\n' " + _q(spec.name, _NA)
        command = LOCAL_COMMANDS[spec.name]
    sudo = '"$FA_SUDO"' if spec.root_only and host.sudo and not local else "''"
    return f"fa_cmd {_q(spec.name, spec.cap_bytes, timeout, _mode(spec))} {sudo} {shlex.quote(command)}"


def _sqlite_call(spec: SourceSpec, db_state: str = "") -> str:
    """Return the call that copies the logger DB consistently (python3, else ``sqlite3 .dump``)."""
    path = spec.paths[0]
    dump = "sqlite3 -readonly " + shlex.quote(f"file:{path}?mode=ro") + " .dump"
    return f"fa_sqlite {_q(spec.name, spec.cap_bytes, path, dump, db_state)}"


def _known(spec: SourceSpec, previous: Optional[HostState]) -> str:
    """Return what the last complete run stored for a files source, as the script reads it."""
    if previous is None:
        return ""
    return known_lines(previous.files.get(spec.name, ()))


def _db_state(previous: Optional[HostState]) -> str:
    """Return the logger DB state of the last complete run as JSON text ("" when there is none)."""
    if previous is None or previous.db is None:
        return ""
    return json.dumps(dict(previous.db), separators=(",", ":"))


def source_lines(spec: SourceSpec, host: Host, local: bool, timeout: int,
                 previous: Optional[HostState] = None) -> List[str]:
    """Return the script lines for one source, framed by its S and Z records."""
    if spec.kind == "files":
        call = _files_call(spec, host, local, _known(spec, previous))
    elif spec.kind == "command":
        call = _command_call(spec, host, local, timeout)
    elif spec.kind == "sqlite":
        call = _sqlite_call(spec, _db_state(previous))
    else:
        call = "printf '@FA\\tX\\t%s\\t%s\\n' " + _q(spec.name, f"unknown source kind {spec.kind!r}")
    name = shlex.quote(spec.name)
    return [f"printf '@FA\\tS\\t%s\\n' {name}", call, f"printf '@FA\\tZ\\t%s\\n' {name}"]


def build_script(host: Host, specs: Sequence[SourceSpec], local: bool = False, command_timeout: float = 60.0,
                 previous: Optional[HostState] = None) -> str:
    """Return the whole collect script for one host (local: paths under ``$FA_ROOT``, no sudo).

    ``previous`` (the host's state at its last complete run) makes the pull incremental.
    """
    timeout = max(1, int(command_timeout))
    lines = ["exec </dev/null", "FA_SUDO=", f"FA_TIMEOUT={timeout}"]
    lines += ['FA_LOCAL=1', 'export FA_ROOT'] if local else ["FA_LOCAL=", "FA_ROOT="]
    lines += ["FA_LIB=" + shlex.quote(LIB), 'eval "$FA_LIB"', "FA_PY=" + shlex.quote(PY)]
    if host.sudo and not local:
        lines.append(_SUDO_CHECK)
    for spec in specs:
        lines += source_lines(spec, host, local, timeout, previous)
    lines.append("printf '@FA\\tEND\\n'")
    return "\n".join(lines) + "\n"
