"""Docs that tests keep honest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current():
    result = subprocess.run([sys.executable, "scripts/gen_cli_docs.py", "--check"], cwd=ROOT)
    assert result.returncode == 0, "docs/cli.md is stale: run python scripts/gen_cli_docs.py"


def test_readme_has_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", setup, re.S)
    assert [c.strip() for c in commands] == ["./scripts/run.sh", "./scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test.sh" in ci


def test_environment_settings_are_documented():
    readme = (ROOT / "README.md").read_text()
    code = "\n".join(p.read_text() for p in (ROOT / "archive").rglob("*.py"))
    for name in set(re.findall(r"\"(FOI_[A-Z_]+)\"", code)):
        assert name in readme, f"{name} is read by the code but not documented in README.md"
