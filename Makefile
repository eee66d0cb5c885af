.PHONY: run test test-fast check lint format bench

run:       ## ingest the sample release and serve the UI (embedded SQLite backend)
	./scripts/run.sh

test:      ## the whole suite on real Tesseract, Elasticsearch and Chromium (what CI runs after `check`)
	./scripts/test.sh

test-fast: ## the fast loop: no Elasticsearch, browser or Tesseract, nothing slow or hostile (about two minutes)
	.venv/bin/python -m pytest -q -x -m "not elasticsearch and not browser and not tesseract and not slow and not hostile"

check:     ## lint, format check, strict types and import contracts (CI runs these before the tests)
	./scripts/check.sh

lint: check

format:
	.venv/bin/ruff format archive ocr web tests bench eval scripts

bench:
	.venv/bin/python bench/bench_ocr.py
