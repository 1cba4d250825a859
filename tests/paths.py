"""Where things are, computed once from this file's place (tests/ at the repository root), so a
test module can move between folders without counting ``parents``."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real 101-file archive lives next to the checkout; tests using it skip when it is absent.
REAL_ARCHIVE = REPO_ROOT.parent / "shared" / "data" / "chimera-reports"
