"""bench-results.json, shared by every benchmark script: each replaces its own entries (those
whose names start with its prefix) and keeps the others'."""

import json


def merge(path, prefixes, measures):
    """Writes `measures` into the JSON list at `path` in place of the entries whose name starts
    with `prefixes` (a string or a tuple of them). A missing or unreadable file starts empty."""
    try:
        existing = [r for r in json.load(open(path)) if not r["name"].startswith(prefixes)]
    except (OSError, ValueError):
        existing = []
    json.dump(existing + measures, open(path, "w"), indent=2)
