#!/usr/bin/env bash
# The main job: install everything, ingest a generated sample release into the embedded archive
# (SQLite + FTS5, no server) and serve the UI on http://127.0.0.1:${FOI_PORT:-5000}/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export FOI_ARCHIVE="${FOI_ARCHIVE:-$PWD/foi-data}"
.venv/bin/python samples/make_sample.py .cache/sample-release >/dev/null
# Exit code 1 means some documents failed; they are recorded and shown on the status page.
.venv/bin/foi ingest .cache/sample-release --collection sample || [ $? -eq 1 ]
exec .venv/bin/foi serve --host 127.0.0.1 --port "${FOI_PORT:-5000}"
