#!/usr/bin/env bash
# The static checks CI runs before the tests, and the pre-commit hooks run locally: lint, format,
# types, import contracts. Fails on the first that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PATHS=(archive ocr web tests bench eval scripts)
echo "check.sh: ruff check" >&2
.venv/bin/ruff check "${PATHS[@]}"
echo "check.sh: ruff format --check" >&2
.venv/bin/ruff format --check "${PATHS[@]}"
echo "check.sh: mypy (strict)" >&2
.venv/bin/mypy
echo "check.sh: import contracts" >&2
.venv/bin/lint-imports --no-cache
