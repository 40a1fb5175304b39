"""Renderers of one FleetReport: HTML (html.py), terminal table (table.py) and JSON (jsonout.py)."""

from __future__ import annotations
