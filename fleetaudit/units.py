"""Human-readable sizes, shared by the progress lines and the twin comparison."""

from __future__ import annotations


def human_bytes(count: int, binary: bool = False) -> str:
    """Return a byte count as a short string: "1.2 MB", or "1.2 MiB" with ``binary``."""
    step = 1024 if binary else 1000
    units = ("B", "KiB", "MiB", "GiB") if binary else ("B", "kB", "MB", "GB")
    size = float(count)
    for unit in units[:-1]:
        if size < step:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= step
    return f"{size:.1f} {units[-1]}"
