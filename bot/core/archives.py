"""Which archive a digest takes next: archive names in the order people mean (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"([0-9]+)")


def archive_order(name: str) -> tuple[list[str | int], str]:
    """Sort key for archive names: runs of digits compare as numbers (``run-9`` < ``run-10``,
    ``2025-11-9`` < ``2025-11-10``), the rest as text; the name itself breaks ties (``run-09``).

    Plain string order would put ``run-10`` before ``run-9``, and a subscription whose newest
    digested archive is ``run-9`` would never see anything new again.
    """
    parts = _DIGITS.split(name)  # text, digits, text, …: the same kind at the same position
    return [int(p) if i % 2 else p for i, p in enumerate(parts)], name


def pick_archive(names: Iterable[str], digested: Iterable[str]) -> tuple[str | None, list[str]]:
    """(the archive to digest, the other new archives it supersedes), by `archive_order`.

    Only names after the newest one ever claimed count as new, so an old archive that was never
    digested (skipped, or there before the subscription) is not dug out later.
    """
    last = max(digested, key=archive_order, default=None)
    fresh = sorted((n for n in set(names) if last is None or archive_order(n) > archive_order(last)),
                   key=archive_order)
    if not fresh:
        return None, []
    return fresh[-1], fresh[:-1]
