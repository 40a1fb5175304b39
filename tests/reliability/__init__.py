"""Helpers for the reliability, security and hostile-input tests (issue 6)."""
