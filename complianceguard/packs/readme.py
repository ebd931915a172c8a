"""Generated sections of the packs README: a table between its own start and end markers.

The check-kind table (`kinds/docs.py`) and the coverage table (`coverage.py`) are made from the
registry and the packs; this puts one in place of its old copy, and tests compare the two.
"""

from __future__ import annotations


def with_generated(readme: str, table: str) -> str:
    """`readme` with the section between `table`'s first and last lines (its markers) replaced by it."""
    start, end = table.splitlines()[0], table.splitlines()[-1]
    before, found, rest = readme.partition(start)
    if not found:
        raise ValueError(f"the README has no {start} marker")
    _, _, after = rest.partition(end)
    return before + table + after
