"""The layers' import rule, checked on the source (AST): the folders are the layers.

- ``bot.core`` and ``bot.render`` are pure: no flows, adapters, handlers, settings or vendor SDK.
  ``bot.core`` does not import ``bot.render`` either (presentation depends on the core, not back).
- ``bot.flows`` calls ports: no adapters, handlers or vendor SDK.
- ``bot.adapters`` never imports flows' callers (``bot.app``, ``bot.cli``, ``bot.serve``) or handlers.
- ``handlers`` is Bolt wiring: it may use flows and adapters; nothing but ``bot.app`` imports it.
Imports under ``if TYPE_CHECKING:`` count: a type-only import still couples the layers' meaning.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
VENDOR = ("slack_sdk", "slack_bolt", "ollama", "sqlalchemy", "alembic", "apscheduler", "fsspec", "httpx",
          "waitress", "pydantic", "pydantic_settings", "psycopg", "websockets")
APP_LEVEL = ("bot.app", "bot.pipeline_app", "bot.cli", "bot.serve")

RULES: dict[str, tuple[str, ...]] = {
    "bot/core": ("bot.render", "bot.flows", "bot.adapters", "bot.settings", "handlers", *APP_LEVEL, *VENDOR),
    "bot/render": ("bot.flows", "bot.adapters", "bot.settings", "handlers", *APP_LEVEL, *VENDOR),
    "bot/flows": ("bot.adapters", "handlers", *APP_LEVEL, *VENDOR),
    "bot/adapters": ("handlers", *APP_LEVEL),
    # errors may name core's plain data types (LLMCallFailed carries an LLMCallMetrics)
    "bot/errors.py": ("bot.render", "bot.flows", "bot.adapters", "handlers", *APP_LEVEL, *VENDOR),
    "bot/settings.py": ("bot.core", "bot.render", "bot.flows", "bot.adapters", "handlers", *APP_LEVEL),
    "handlers": (*APP_LEVEL,),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(rules: dict[str, tuple[str, ...]] = RULES) -> list[str]:
    """One line per offending import statement (the first forbidden name it brings in)."""
    out: dict[tuple[str, int], str] = {}
    for scope, forbidden in rules.items():
        target = ROOT / scope
        files = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
        for path in files:
            rel = str(path.relative_to(ROOT))
            for line, module in imported_modules(path):
                banned = next((b for b in forbidden if module == b or module.startswith(b + ".")), None)
                if banned is not None and (rel, line) not in out:
                    out[(rel, line)] = f"{rel}:{line} imports {module} ({scope} must not import {banned})"
    return [out[key] for key in sorted(out)]


def handler_importers() -> list[str]:
    """Modules under bot/ other than the composition root that import handlers."""
    out = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path == ROOT / "bot" / "app.py":
            continue
        out += [f"{path.relative_to(ROOT)}:{line}" for line, module in imported_modules(path)
                if module == "handlers" or module.startswith("handlers.")]
    return out


def test_every_layer_keeps_to_its_imports() -> None:
    assert violations() == []


def test_only_the_composition_root_imports_handlers() -> None:
    assert handler_importers() == []


def test_the_rule_catches_a_vendor_sdk_in_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself can fail: a core module importing slack_sdk is reported."""
    fake_root = tmp_path / "repo"
    (fake_root / "bot" / "core").mkdir(parents=True)
    (fake_root / "bot" / "core" / "leaky.py").write_text("import pandas\nfrom slack_sdk import WebClient\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake_root)
    found = violations({"bot/core": RULES["bot/core"]})
    assert found == ["bot/core/leaky.py:2 imports slack_sdk (bot/core must not import slack_sdk)"]
