"""/var/lib/dpkg/status stanzas and ``dpkg-query`` output into ``Package``es (FORMATS.md section 6)."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

from fleetaudit.facts import Package
from fleetaudit.parse.lines import StatsBuilder, iter_lines

KEEP_STATES = ("installed", "half-installed", "unpacked", "half-configured", "triggers-awaited",
               "triggers-pending")
WANTED = frozenset(("Package", "Status", "Version", "Architecture", "Source"))


def stanzas(path: str, rel: str, stats: StatsBuilder) -> Iterator[Dict[str, str]]:
    """Yield RFC 822-style stanzas (only the fields we use; continuation lines skipped) streaming."""
    current: Dict[str, str] = {}
    for _n, line, _size in iter_lines(path, rel, stats):
        if not line.strip():
            if current:
                yield current
            current = {}
            continue
        if line[0] in " \t":
            continue
        key, sep, value = line.partition(":")
        if not sep:
            stats.bad_lines += 1
        elif key in WANTED:
            current[key] = value.strip()
    if current:
        yield current


def _package(stanza: Dict[str, str]) -> Optional[Package]:
    """Return the Package for a stanza whose state is installed or half-way, else None."""
    name, status = stanza.get("Package", ""), stanza.get("Status", "")
    if not name or status.split(" ")[-1:][0] not in KEEP_STATES:
        return None
    return Package(name, stanza.get("Version", ""), stanza.get("Architecture", ""), status,
                   stanza.get("Source", "").split(" ")[0])


def parse_status(path: str, rel: str = "files/var/lib/dpkg/status") -> Tuple[Tuple[Package, ...], StatsBuilder]:
    """Read the dpkg status file; packages in state installed or a half state are kept with their status."""
    stats = StatsBuilder("dpkg_status")
    found: List[Package] = []
    for stanza in stanzas(path, rel, stats):
        package = _package(stanza)
        if package is not None:
            found.append(package)
        elif "Package" not in stanza:
            stats.bad_lines += 1
    return tuple(found), stats


def parse_query(text: str) -> Tuple[Package, ...]:
    """Parse ``dpkg-query -W`` default output (``${binary:Package}\\t${Version}``)."""
    found: List[Package] = []
    for line in text.splitlines():
        name, sep, version = line.partition("\t")
        if sep and name.strip():
            base, _colon, arch = name.strip().partition(":")
            found.append(Package(base, version.strip(), arch, "install ok installed"))
    return tuple(found)
