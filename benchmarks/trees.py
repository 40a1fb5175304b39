"""Make a simulated Pi's tree realistically big: a year of logger rows, MBs of logs, a month of SoftEther.

The simulated fleet (``fleetaudit.simfleet``) builds small trees (15 days of everything). These functions
grow a tree in place, through the simfleet's public generators only, after ``SimFleet.start()``: the grown
paths are directories bind-mounted into the running host, so the host sees the new files at once.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import random
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from fleetaudit.simfleet import SimHostSpec, story, system_gen
from fleetaudit.simfleet import softether_gen as vg
from fleetaudit.simfleet import syslog_gen as sg
from fleetaudit.simfleet import trees as st
from fleetaudit.simfleet.varlog import ROTATE_0, ROTATE_1

DAY = dt.timedelta(days=1)
SYSLOG_LINES_PER_DAY = 4000        # ~3 MB of syslog + syslog.1 on a healthy host
AUTH_GUESSES_PER_DAY = 500         # ~1.5 MB of auth.log: an internet-facing sshd
SOFTETHER_EXTRA_DAYS = 16          # 2020-08-16 .. 2020-08-31, plus the simfleet's 15 days: a month
BLOCK_BYTES = 1 << 20

# Real message shapes seen on Raspberry Pi OS buster (daemon chatter between the cron lines).
CHATTER: Tuple[Tuple[str, str], ...] = (
    ("dhcpcd[365]", "wlan0: Router Advertisement from fe80::1e3b:f3ff:fe2a:10c1"),
    ("dhcpcd[365]", "wlan0: adding default route via fe80::1e3b:f3ff:fe2a:10c1"),
    ("motion[512]", "[1:ml1] [NTC] [ALL] motion_detected: Motion detected - starting event {n}"),
    ("motion[512]", "[1:ml1] [NTC] [EVT] event_newfile: File of type 8 saved to: /var/lib/motion/{n:05d}.mkv"),
    ("motion[512]", "[1:ml1] [NTC] [ALL] mlp_actions: End of event {n}"),
    ("kernel", "[{n:6d}.{n:06d}] brcmfmac: brcmf_cfg80211_set_power_mgmt: power save enabled"),
    ("rngd[310]", "stats: bits received from HRNG source: {n}000"),
    ("systemd[1]", "Started Session {n} of user pi."),
    ("avahi-daemon[330]", "Joining mDNS multicast group on interface wlan0.IPv4 with address 192.168.1.{m}."),
    ("wpa_supplicant[370]", "wlan0: CTRL-EVENT-SIGNAL-CHANGE above=1 signal=-{m} noise=9999 txrate=65000"),
)


def year_rows(spec: SimHostSpec, years: int) -> List[Tuple[str, float]]:
    """Return ``years`` x 365 days of 5-minute logger rows ending with the simulated incident period."""
    sc = st.scenario(spec)
    start = story.PERIOD_END - dt.timedelta(days=365 * years)
    rng = random.Random(spec.seed + 900)
    slots = story.slots(start, story.PERIOD_START)
    older = [(t.strftime(story.STAMP_FORMAT), story.temperature(t, rng)) for t in slots]
    return older + story.logger_rows(sc.bursts, seed=spec.seed)


@lru_cache(maxsize=8)
def _template_db(profile: str, years: int, cache_dir: str) -> str:
    """Return the path of a cached logger DB of the profile and length (temperatures vary little by seed)."""
    path = Path(cache_dir) / f"logger-{profile}-{years}y.db"
    if not path.exists():
        spec = SimHostSpec("template", "127.0.0.1", "incident" if profile == "incident" else "healthy")
        st.write_logger_db(path, year_rows(spec, years))
    return str(path)


def grow_logger(spec: SimHostSpec, tree: Path, years: int, cache_dir: Path) -> int:
    """Replace the host's logger DB by ``years`` years of rows; return its size in bytes."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = tree / st.LOGGER_DB
    tmp = target.with_name(target.name + ".grow")
    shutil.copyfile(_template_db(spec.profile, years, str(cache_dir)), tmp)
    os.replace(tmp, target)
    return target.stat().st_size


def chatter_lines(seed: int, start: dt.datetime, end: dt.datetime, per_day: int) -> List[sg.Line]:
    """Return ``per_day`` lines a day of ordinary daemon chatter in [start, end), in time order."""
    rng = random.Random(seed)
    seconds = int((end - start).total_seconds())
    count = max(int(per_day * seconds / 86400), 0)
    stamps = sorted(rng.randrange(seconds) for _ in range(count))
    out = []
    for i, s in enumerate(stamps):
        tag, text = CHATTER[rng.randrange(len(CHATTER))]
        out.append(sg.Line(start + dt.timedelta(seconds=s), tag, text.format(n=i + 1, m=rng.randint(20, 90))))
    return out


def write_lines(path: Path, lines: Sequence[sg.Line], hostname: str) -> int:
    """Write rendered syslog lines to ``path`` in 1 MB pieces; return the bytes written."""
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(0, len(lines), 10000):
            text = "".join(sg.render(line, hostname) for line in lines[i:i + 10000])
            handle.write(text)
            written += len(text.encode("utf-8"))
    os.chmod(path, 0o640)
    return written


def grow_syslog(spec: SimHostSpec, tree: Path, per_day: int = SYSLOG_LINES_PER_DAY) -> int:
    """Rewrite syslog.1 and syslog with daemon chatter added (plain /var/log only); return their bytes."""
    sc = st.scenario(spec)
    lines = sg.merged(st.normal_syslog(spec, sc), chatter_lines(spec.seed + 300, ROTATE_1, story.PERIOD_END, per_day))
    logdir = tree / "var/log"
    older = [x for x in lines if ROTATE_1 <= x.at < ROTATE_0]
    newer = [x for x in lines if x.at >= ROTATE_0]
    return write_lines(logdir / "syslog.1", older, spec.name) + write_lines(logdir / "syslog", newer, spec.name)


def guess_events(seed: int, per_day: int) -> List[Tuple[dt.datetime, str]]:
    """Return sshd password-guessing events (two auth.log lines each) over the simulated period."""
    rng = random.Random(seed)
    out: List[Tuple[dt.datetime, str]] = []
    for _ in range(per_day * story.PERIOD_DAYS):
        at = story.PERIOD_START + dt.timedelta(seconds=rng.randrange(story.PERIOD_DAYS * 86400))
        pid, port, ip = rng.randint(3000, 30000), rng.randint(30000, 60000), f"203.0.113.{rng.randint(2, 250)}"
        user = rng.choice(("admin", "ubnt", "test", "oracle", "git", "user"))
        out.append((at, f"sshd[{pid}]: Invalid user {user} from {ip} port {port}"))
        out.append((at + dt.timedelta(seconds=2), f"sshd[{pid}]: Failed password for invalid user {user} from {ip} "
                                                   f"port {port} ssh2"))
    return out


def grow_auth(spec: SimHostSpec, tree: Path, per_day: int = AUTH_GUESSES_PER_DAY) -> int:
    """Rewrite auth.log with the simfleet's logins plus a steady password-guessing flood; return its bytes."""
    events = sorted(system_gen.auth_lines(spec.seed + 50, story.PERIOD_END) + guess_events(spec.seed, per_day),
                    key=lambda e: e[0])
    path = tree / "var/log/auth.log"
    path.write_text(system_gen.render_auth(events, spec.name), encoding="utf-8")
    os.chmod(path, 0o640)
    return path.stat().st_size


def softether_month(seed: int, days: int = SOFTETHER_EXTRA_DAYS) -> List[vg.VpnLine]:
    """Return SoftEther server-log sessions for the ``days`` days before the simulated period."""
    rng = random.Random(seed)
    out: List[vg.VpnLine] = []
    for day in range(days, 0, -1):
        base = story.PERIOD_START - day * DAY
        for cid in range(rng.randint(2, 4)):
            at = base + dt.timedelta(seconds=rng.randint(7 * 3600, 22 * 3600), milliseconds=rng.randint(0, 999))
            out += vg.session_lines(at, 1000 * day + cid, rng.choice(("alice", "bob")),
                                    f"192.168.1.{rng.randint(20, 60)}", rng.randint(40000, 60000), rng.randint(5, 90))
    return sorted(out, key=lambda line: line.at)


def grow_softether(spec: SimHostSpec, tree: Path) -> int:
    """Add the month's older SoftEther day files; return how many files were written."""
    lines = softether_month(spec.seed + 400)
    files: Dict[str, str] = {}
    for name, text in vg.by_day(lines, "vpn").items():
        files[f"{st.VPN_DIR}/server_log/{name}"] = text
    for name, text in vg.by_day(vg.security_lines(lines), "sec").items():
        files[f"{st.VPN_DIR}/security_log/DEFAULT/{name}"] = text
    for rel, text in files.items():
        st.write_file(tree, rel, text)
    return len(files)


def grow_host(spec: SimHostSpec, tree: Path, cache_dir: Path, years: int = 1) -> Dict[str, int]:
    """Grow one host's tree into a realistic Pi; the incident's full /var/log tmpfs is left as the fleet filled it."""
    sizes = {"logger_db": grow_logger(spec, tree, years, cache_dir), "softether_files": grow_softether(spec, tree)}
    if not os.path.ismount(tree / "var/log"):
        sizes["syslog"] = grow_syslog(spec, tree)
        sizes["auth_log"] = grow_auth(spec, tree)
    return sizes


def flood_block(hostname: str) -> Tuple[bytes, int]:
    """Return ~1 MB of lircd error lines with a 12-byte ``@@@@@@@@@@@@`` stamp placeholder, and its line count."""
    sample = f"@@@@@@@@@@@@:00 {hostname} {sg.LIRCD_TAG}: {sg.LIRCD_ERROR}\n"
    count = BLOCK_BYTES // len(sample)
    lines = [f"@@@@@@@@@@@@:{i * 60 // count:02d} {hostname} {sg.LIRCD_TAG}: {sg.LIRCD_ERROR}\n" for i in range(count)]
    return "".join(lines).encode("ascii"), count


def fill_with_flood(path: Path, hostname: str, start: dt.datetime, limit: int) -> Dict[str, int]:
    """Append lircd lines (one minute per 1 MB block) to ``path`` until ``limit`` bytes or ENOSPC.

    Returns the bytes written, the exact number of complete lircd lines (``lircd_lines``) and of lircd records
    (``lircd_records``: the complete lines plus the last one if ENOSPC cut it; the cut line was written by lircd
    and is a record to ``awk`` and to any line reader, though ``wc -l`` skips it for want of a newline).
    """
    block, per_block = flood_block(hostname)
    line_len = len(block) // per_block
    written = lines = cut = 0
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        minute = 0
        while written < limit:
            stamp = f"{start + dt.timedelta(minutes=minute):%b %e %H:%M}".encode("ascii")
            data = block.replace(b"@@@@@@@@@@@@", stamp)[: limit - written]
            n, full = _write_some(fd, data)
            written += n
            lines += n // line_len
            cut = 1 if n % line_len else 0
            minute += 1
            if full or n < len(data):
                break
    finally:
        os.close(fd)
    return {"bytes": written, "lircd_lines": lines, "lircd_records": lines + cut}


def _write_some(fd: int, data: bytes) -> Tuple[int, bool]:
    """Write as much of ``data`` as fits; return (bytes written, disk full)."""
    view, done = memoryview(data), 0
    while done < len(data):
        try:
            done += os.write(fd, view[done:])
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                return done, True
            raise
    return done, False
