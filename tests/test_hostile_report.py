"""Every string from a host is data: hostile HTML/JS, ANSI escapes, huge lines and bidi overrides in reports.

The hostile strings travel the real way: a hand-built snapshot (auth.log, syslog, hostname command, a
source's reason, the host name in the manifest) through build_facts, the checks and ``pipeline.analyze``,
then through ``render_html``, ``render_table`` and ``render_json``.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import List, Tuple

import pytest
from reliability.snapdir import host_dir, run_of, snapshot_of

from fleetaudit.model import FleetReport, Host, Inventory, LoggerSpec, SourceResult
from fleetaudit.pipeline import analyze
from fleetaudit.report.html import render_html
from fleetaudit.report.jsonout import render_json
from fleetaudit.report.sanitize import CLIP_MARKER
from fleetaudit.report.table import COLORS, RESET, UNAUDITED_COLOR, render_table

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
ANSI = "\x1b[2J\x1b[31mRED\x1b]0;pwned-title\x07\x1b[0m"
RTL = "\u202egnp.exe\u202c"
HOSTILE = f"{SCRIPT}{IMG}{ANSI}{RTL}"
HOST_NAME = f"pi-<b onmouseover=alert(3)>{RTL}"
LONG = "L" * 50_000


def _auth_log() -> bytes:
    lines = [f"Sep  1 0{i}:00:01 raspberrypi sshd[10{i}]: Failed password for invalid user {HOSTILE}x{i} from "
             f"203.0.113.9 port 4000{i} ssh2" for i in range(8)]
    return ("\n".join(lines) + "\n").encode()


def _syslog() -> bytes:
    noisy = [f"Sep  1 04:{m:02d}:{s:02d} raspberrypi lircd[480]: {HOSTILE} {LONG}"
             for m in range(60) for s in range(20)]
    return ("\n".join(noisy) + "\n").encode()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> FleetReport:
    """Analyse one host whose every host-originated string is hostile."""
    root = tmp_path_factory.mktemp("hostile") / "run"
    directory = host_dir(root, name="pi", files={"/var/log/auth.log": _auth_log(), "/var/log/syslog": _syslog()},
                         cmds={"hostname": HOSTILE + "\n", "kernel": HOSTILE + LONG})
    bad = directory.rename(root / HOST_NAME)
    reason = f"cat: {HOSTILE}{LONG}"
    snap = snapshot_of(bad, status="partial", sources=(SourceResult("softether", "error", reason=reason),))
    host = Host(name=snap.host, logger=LoggerSpec(table="temperatures"))
    inventory = Inventory(path="inventory.yaml", hosts=(host,), groups={})
    result = analyze(run_of(root, [snap]), inventory, "warning")
    assert result.hosts[0].name == HOST_NAME
    assert any(f.check == "auth.failed_logins" for f in result.hosts[0].findings), "hostile text reached a finding"
    assert any(f.check == "logs.noisy_program" for f in result.hosts[0].findings)
    return result


class _Tags(HTMLParser):
    """Collect every start tag and attribute of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: List[Tuple[str, List[Tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_html_has_no_active_content(report: FleetReport) -> None:
    """No script tag, no event handler attribute, no javascript: URL, no hostile img: all escaped text."""
    html = render_html(report)
    parser = _Tags()
    parser.feed(html)
    assert "script" not in {tag for tag, _ in parser.tags}
    assert not [(t, a) for t, attrs in parser.tags for a, _v in attrs if a.lower().startswith("on")]
    assert not [v for _t, attrs in parser.tags for _a, v in attrs if v and v.strip().lower().startswith("javascript")]
    assert [t for t, attrs in parser.tags if t == "img" and all(v and v.startswith("data:") for a, v in attrs
                                                                  if a == "src")] == [t for t, _ in parser.tags
                                                                                     if t == "img"]
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_html_neutralises_control_and_bidi(report: FleetReport) -> None:
    """No raw ESC, no raw bidi override: they are shown as visible escapes."""
    html = render_html(report)
    assert "\x1b" not in html and "\x07" not in html
    assert "\u202e" not in html and "\u202c" not in html
    assert "&lt;U+202E&gt;" in html


def test_html_clips_long_lines(report: FleetReport) -> None:
    """A 50 000-character line is clipped with the marker; the report stays small."""
    html = render_html(report)
    assert CLIP_MARKER in html
    assert LONG not in html
    assert len(html) < 2_000_000


def test_table_strips_ansi_and_bidi(report: FleetReport) -> None:
    """Without colour: no ESC at all. With colour: only fleetaudit's own colour codes."""
    plain = render_table(report, color=False)
    assert "\x1b" not in plain and "\x07" not in plain and "\u202e" not in plain
    colored = render_table(report, color=True)
    for code in (*COLORS.values(), UNAUDITED_COLOR, RESET):
        colored = colored.replace(code, "")
    assert "\x1b" not in colored
    assert "pwned-title" not in plain, "the OSC title sequence is removed, not just its ESC"


def test_table_clips_long_lines(report: FleetReport) -> None:
    """Long host strings in the terminal table end with the clip marker."""
    table = render_table(report, color=False)
    assert CLIP_MARKER in table and LONG not in table
    assert max(len(line) for line in table.splitlines()) < 5_000


def test_json_is_valid_ascii_and_verbatim(report: FleetReport) -> None:
    """JSON keeps the strings verbatim but escaped: ASCII only, parses back, the host name intact."""
    text = render_json(report)
    assert text.isascii() and "\x1b" not in text
    data = json.loads(text)
    assert data["hosts"][0]["name"] == HOST_NAME
    users = [u for f in data["hosts"][0]["findings"] if f["check"] == "auth.failed_logins"
             for u in f["evidence"]["users"]]
    assert any(SCRIPT in u for u in users)
