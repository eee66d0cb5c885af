.PHONY: run test lint format bench sample

run:      ## ingest the sample release and serve the UI (embedded SQLite backend)
	./scripts/run.sh

test:     ## the whole suite on real Tesseract, Elasticsearch and Chromium
	./scripts/test.sh

lint:
	.venv/bin/ruff check archive ocr web tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache

format:
	.venv/bin/ruff format archive ocr web tests bench

bench:
	.venv/bin/python bench/bench_ocr.py
