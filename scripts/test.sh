#!/usr/bin/env bash
# The whole test suite on real components: Tesseract, a real Elasticsearch node, Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export FOI_ES_PORT="${FOI_ES_PORT:-9200}"
export FOI_ELASTICSEARCH_URL="http://127.0.0.1:${FOI_ES_PORT}"
export FOI_REQUIRE_ES=1
export FOI_REQUIRE_BROWSER=1  # Chromium is installed by setup.sh: browser tests must run, not skip
./scripts/elasticsearch.sh start
trap './scripts/elasticsearch.sh stop' EXIT
./scripts/elasticsearch.sh wait
.venv/bin/python -m pytest "$@"
