"""Fixtures for tests on the real Elasticsearch node started by `scripts/elasticsearch.sh`.

Import them into a test module (`from es_fixtures import es_url, es_index  # noqa: F401`).

`es_url` is FOI_ELASTICSEARCH_URL (default http://127.0.0.1:9200) when a node answers there. When
none does, the test FAILS if CI or FOI_REQUIRE_ES=1 is set (CI must never silently skip the
engine), and is skipped with the command to run otherwise. `es_index` is a fresh index name per
test, deleted afterwards with every versioned index behind it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

DEFAULT_URL = "http://127.0.0.1:9200"
INDEX_PREFIX = "foi-test"


def _required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("FOI_REQUIRE_ES") == "1"


def _reachable(url: str) -> str | None:
    """None when the node answers with a usable health status, else why not."""
    from archive.search.elastic import ElasticBackend

    backend = ElasticBackend(url, "unused", request_timeout=5, max_retries=0)
    try:
        health = backend.es.cluster.health(wait_for_status="yellow", timeout="10s")
    except Exception as exc:  # any failure means "not usable": say which
        return f"{type(exc).__name__}: {exc}"
    finally:
        backend.close()
    if health.get("status") not in {"yellow", "green"}:
        return f"cluster health is {health.get('status')}"
    return None


@pytest.fixture(scope="session")
def es_url() -> str:
    url = os.environ.get("FOI_ELASTICSEARCH_URL", DEFAULT_URL)
    problem = _reachable(url)
    if problem is None:
        return url
    message = (
        f"no Elasticsearch node at {url} ({problem}). Start one with "
        "`scripts/elasticsearch.sh start && scripts/elasticsearch.sh wait` "
        "(FOI_ES_PORT sets the port; export FOI_ELASTICSEARCH_URL to match)"
    )
    if _required():
        pytest.fail(message + " -- required because CI or FOI_REQUIRE_ES=1 is set", pytrace=False)
    pytest.skip(message)


def new_index_name(tag: str = "") -> str:
    return f"{INDEX_PREFIX}-{tag + '-' if tag else ''}{uuid.uuid4().hex[:10]}"


def drop_index(url: str, name: str) -> None:
    from archive.search.elastic import ElasticBackend

    backend = ElasticBackend(url, name)
    try:
        backend.drop()
    finally:
        backend.close()


@pytest.fixture
def es_index(es_url: str) -> Iterator[str]:
    name = new_index_name()
    yield name
    drop_index(es_url, name)
