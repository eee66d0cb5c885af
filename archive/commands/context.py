"""What every `foi` command shares: the archive it works on and one JSON output style."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..core import Archive


def dump(data: Any) -> None:
    """Print `data` as the commands' stable JSON (UTF-8, indented; dates and paths as strings)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class Context:
    """The archive folder a command was given; the archive is opened on first use."""

    def __init__(self, root: Path):
        self.root = root
        self._archive: Archive | None = None

    @property
    def archive(self) -> Archive:
        if self._archive is None:
            self._archive = Archive(self.root)
        return self._archive


pass_ctx = click.make_pass_decorator(Context)
