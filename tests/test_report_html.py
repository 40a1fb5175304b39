"""The HTML report: escaping of hostile input, self-containedness, and a real headless Chromium look."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import List

import pytest
from test_report_fixture import fleet_report, pi_findings

from fleetaudit.model import Finding, FleetReport, Host, Inventory
from fleetaudit.report.html import environment, render_html

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--enable-logging=stderr", "--v=0",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,2400"]
HOSTILE_LINE = "lircd[612]: <script>alert(1)</script> & more"
HOSTILE_HOST = 'pi-"<>&'


def hostile_report() -> str:
    sample = Finding(HOSTILE_HOST, "logs.noisy_program", "warning", f"noisy: {HOSTILE_LINE}", "2020-08-01T14:05:00",
                     "2020-08-12T05:00:00", {"program": "lircd", "sample": HOSTILE_LINE, "lines": [HOSTILE_LINE]})
    return render_html(fleet_report(pi_name=HOSTILE_HOST, pi_findings_=pi_findings() + (sample,)))


def test_autoescape_is_on() -> None:
    assert environment().autoescape is True


def test_hostile_log_line_and_hostname_are_escaped_verbatim() -> None:
    html = hostile_report()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "pi-&#34;&lt;&gt;&amp;" in html
    assert "<script>alert" not in html and "<script" not in html.lower()
    assert 'pi-"<>&' not in html


def test_bidi_and_control_characters_are_shown_not_obeyed() -> None:
    finding = replace(pi_findings()[0], summary="ok \u202etxt.exe\x1b[31m")
    html = render_html(fleet_report(pi_findings_=(finding,)))
    assert "\u202e" not in html and "\x1b" not in html and "&lt;U+202E&gt;txt.exe" in html


def external_references(html: str) -> List[str]:
    return re.findall(r"""(?:src|href|action)\s*=\s*["']?\s*(?!data:|#)[a-z][a-z0-9+.-]*:""", html, re.I) + \
        re.findall(r"url\(\s*['\"]?(?!data:)[a-z]+:", html, re.I) + re.findall(r"@import", html)


def test_self_contained() -> None:
    html = render_html(fleet_report())
    assert external_references(html) == []
    assert "http://" not in html and "https://" not in html
    assert html.count('class="incident"') == 2 and 'id="matrix"' in html
    assert 'class="chart" src="data:image/png;base64,' in html


def test_unreachable_host_and_unavailable_sources_are_visible() -> None:
    html = render_html(fleet_report())
    assert "connection refused (127.0.0.9:22)" in html and "Not audited: unreachable." in html
    assert "permission denied (no sudo)" in html


def test_finding_status_badges_and_resolved() -> None:
    report = fleet_report()
    gone = replace(pi_findings()[1], status="resolved", fingerprint="gone", summary="an old burst")
    html = render_html(replace(report, resolved=(gone,)))
    assert 'class="badge status-new"' in html and 'class="badge status-ongoing"' in html
    assert "an old burst" in html and "<details><summary>evidence</summary>" in html


# Chromium's own background traffic (update checks, account probes) shows up in its net log even with the
# flags above; it never leaves the machine (every host name resolves to NOTFOUND) and is not the page's.
BROWSER_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(:\d+)?/")


def page_requests(net_log: Path) -> List[str]:
    """Return every non-file, non-data URL in a Chromium net log that is not Chromium's own background traffic."""
    events = json.loads(net_log.read_text(encoding="utf-8")).get("events", [])
    urls = {str(e.get("params", {}).get(k)) for e in events for k in ("url", "original_url")
            if k in e.get("params", {})}
    return sorted(u for u in urls if not u.startswith(("file:", "data:")) and not BROWSER_HOSTS.match(u))


def _chromium(args: List[str], profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_net_log_reader_sees_page_requests(tmp_path: Path) -> None:
    page = tmp_path / "remote.html"
    page.write_text('<img src="http://example.invalid/x.png">', encoding="utf-8")
    net_log = tmp_path / "net.json"
    _chromium([f"--log-net-log={net_log}", "--dump-dom", page.as_uri()], tmp_path / "profile")
    assert page_requests(net_log) == ["http://example.invalid/x.png"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_headless_chromium_opens_the_report(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(hostile_report(), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        net_log = Path(profile) / "net.json"
        dom = _chromium([f"--log-net-log={net_log}", "--dump-dom", page.as_uri()], Path(profile) / "a")
        requests = page_requests(net_log)
        png = _chromium([f"--screenshot={shot}", page.as_uri()], Path(profile) / "b")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert requests == []
    assert 'id="matrix"' in dom.stdout and 'class="incident"' in dom.stdout and 'class="chart"' in dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout and "<script>alert" not in dom.stdout
    for run in (dom, png):
        assert "CONSOLE" not in run.stderr, run.stderr[-2000:]
        assert not re.search(r"net::ERR_|Failed to load resource|Uncaught", run.stderr), run.stderr[-2000:]
    assert png.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000


def _simulated_fleet_report(work: Path) -> FleetReport:
    """Build the incident Pi and its twin as directory trees, collect them locally, analyze (plus a dead host)."""
    spec_mod = pytest.importorskip("fleetaudit.simfleet.spec")
    trees = pytest.importorskip("fleetaudit.simfleet.trees")
    from fleetaudit.collect.engine import CollectOptions, collect
    from fleetaudit.pipeline import analyze

    hosts = []
    for spec in (s for s in spec_mod.default_fleet() if s.kind in ("incident", "healthy")):
        trees.build_tree(spec, work / spec.name, log_budget=2_000_000)
        hosts.append(Host(name=spec.name, path=str(work / spec.name), groups=spec.groups))
    hosts.append(Host(name="deadhost", address="127.0.0.1", port=1))
    groups = {g: tuple(h.name for h in hosts if g in h.groups) for h in hosts for g in h.groups}
    inventory = Inventory(path=str(work / "inventory.yaml"), hosts=tuple(hosts), groups=groups)
    run = collect(inventory, inventory.hosts, str(work / "reports"), CollectOptions(run_id="e2e", host_deadline=60))
    return analyze(run, inventory, generated_at="2020-09-15T06:00:00+00:00")


def test_end_to_end_simulated_fleet_through_local_transport(tmp_path: Path) -> None:
    report = _simulated_fleet_report(tmp_path)
    assert report.exit_status == 2 and report.hosts[-1].status == "unreachable"
    incident_pi = report.hosts[0]
    assert incident_pi.incidents and all(not h.incidents for h in report.hosts[1:])
    assert "runs landed at 05:04" in incident_pi.incidents[0].story
    lirc = [t for t in report.comparison.twins if t.item in ("lirc", "lircd.service")]
    assert lirc and all(t.odd_ones_out == (incident_pi.name,) for t in lirc)
    html = render_html(report)
    assert external_references(html) == [] and 'class="chart"' in html
    if CHROMIUM is not None:
        page = tmp_path / "report.html"
        page.write_text(html, encoding="utf-8")
        ARTIFACTS.mkdir(exist_ok=True)
        shot = _chromium([f"--screenshot={ARTIFACTS / 'simulated_fleet.png'}", page.as_uri()], tmp_path / "p")
        assert shot.returncode == 0 and "CONSOLE" not in shot.stderr
