"""Dependencies point one way: web -> archive -> ocr; ocr is a leaf. web reaches the archive only
through its public API (the `Archive` facade, names exported by `archive` and `archive.search`):
no store, no SQL, no OCR. The same rules are import-linter contracts in pyproject.toml."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"archive": {"web"}, "ocr": {"archive", "web"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_against_the_direction(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


# Modules web must not import (a name under one of them counts too): the store and SQL stay behind
# the `Archive` facade, page images are rendered by archive through ocr.
WEB_FORBIDDEN = ("archive.store", "archive.reading", "ocr", "sqlite3")


def _imported_modules(path: Path) -> set[str]:
    """Absolute imports of a file, as dotted names; `from a import b` gives both `a` and `a.b`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _web_files() -> list[Path]:
    return sorted((ROOT / "web").rglob("*.py"))


def test_web_imports_neither_the_store_nor_sqlite3_nor_ocr():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in _imported_modules(path) if any(m == f or m.startswith(f + ".") for f in WEB_FORBIDDEN)
        )
        for path in _web_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def _store_attributes(path: Path) -> list[str]:
    return [
        f"{path.name}:{node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr in {"store", "db"}
    ]


def test_web_reaches_no_store_or_connection_through_an_attribute():
    """`archive().store.page(...)`, `a.store.db.in_transaction`: what the facade is for."""
    assert [hit for path in _web_files() for hit in _store_attributes(path)] == []


# The modules that own tables: the store (documents, pages, stages, collections...), the embedded
# search backend (search_*), the translation cache (translation_cache), the accounts (users,
# api_tokens, grants), the upload queue (uploads), the alerts' store-side module
# (saved_searches, alert_*) and the redactions' (redactions); their schemas are in store.py.
SQL_OWNERS = (
    "archive/store.py",
    "archive/search/sqlite.py",
    "archive/translate/cache.py",
    "archive/accounts.py",
    "archive/uploads.py",
    "archive/alerts/db.py",
    "archive/redactions/records.py",  # the store side of the `redactions` table (store.py's schema)
)


def _sql_uses(path: Path) -> list[str]:
    """Statements run (`.execute`, `.executemany`, `.executescript`) and connections used
    (`x.db.anything`) in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and (
            node.attr in {"execute", "executemany", "executescript"}
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "db")
        ):
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


def test_sql_lives_with_the_modules_that_own_the_tables():
    """Every statement on the store's tables is a named `Store` method (STYLE.md: "SQL lives
    with the store"); the search backend and the translation cache keep their own tables."""
    files = [
        p for p in sorted((ROOT / "archive").rglob("*.py")) if str(p.relative_to(ROOT)) not in SQL_OWNERS
    ]
    assert [hit for path in files for hit in _sql_uses(path)] == []


def test_the_checks_see_what_they_forbid(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sqlite3\nfrom ocr import render_pdf_page\nfrom archive import store\n"
        "def f(a):\n    from archive.store import Store\n    return a.store.db.in_transaction\n"
    )
    assert {"sqlite3", "ocr.render_pdf_page", "archive.store", "archive.store.Store"} <= _imported_modules(
        probe
    )
    assert _store_attributes(probe) == ["probe.py:6: .db", "probe.py:6: .store"]
    assert _sql_uses(probe) == ["probe.py:6: .in_transaction"]
    probe.write_text("def f(store):\n    return store.db.execute('SELECT 1')\n")
    assert _sql_uses(probe) == ["probe.py:2: .execute"]


def test_import_linter_contracts_are_configured_and_kept():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(config["root_packages"]) == {"archive", "ocr", "web"}
    contracts = {c["type"]: c for c in config["contracts"]}
    layers = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    assert ["web", "archive", "ocr"] in layers
    # The facade delegates to the reading room, which asks the access rules (never the reverse).
    assert ["archive.core", "archive.reading", "archive.access"] in layers
    assert set(WEB_FORBIDDEN) <= set(contracts["forbidden"]["forbidden_modules"])
    # In a subprocess from the project folder, so the packages analysed are this checkout's.
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True, no_logo=True))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_serve_reaches_the_cli_through_an_entry_point():
    from click.testing import CliRunner

    from archive.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output
