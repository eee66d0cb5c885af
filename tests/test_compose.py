"""docker-compose.yml and Dockerfile: no Docker engine runs here, so check their structure (and
`docker compose config` when the client has the compose plugin)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    """`environment` as a mapping, whether written as a mapping or as a list of KEY=VALUE."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _default(value: str) -> str:
    """`${VAR:-default}` -> default (what compose uses when VAR is unset)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_services_and_named_volumes(compose):
    assert set(compose["services"]) == {"elasticsearch", "app", "scheduler", "worker"}
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount["source"]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"
    es_mounts = compose["services"]["elasticsearch"]["volumes"]
    assert any(str(m).endswith(":/usr/share/elasticsearch/data") for m in es_mounts)
    assert any(str(m).endswith(":/data") for m in compose["services"]["app"]["volumes"])


def test_elasticsearch_is_a_healthchecked_single_node_of_the_tested_version(compose):
    es = compose["services"]["elasticsearch"]
    env = _env(es)
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "false"  # the app talks plain HTTP without credentials
    image = _default(es["image"])
    assert image.startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    script = (ROOT / "scripts" / "elasticsearch.sh").read_text(encoding="utf-8")
    tested = re.search(r'VERSION="\$\{FOI_ES_VERSION:-([^}]+)\}"', script)
    assert tested and image.rsplit(":", 1)[1] == tested.group(1)
    check = es["healthcheck"]
    test = check["test"] if isinstance(check["test"], str) else " ".join(check["test"])
    assert "_cluster/health" in test
    assert check.get("retries", 0) >= 3
    # If the node is published at all, then only on the loopback interface.
    for port in es.get("ports") or []:
        assert str(port).startswith("127.0.0.1:")


def test_the_app_waits_for_a_healthy_node_and_uses_it(compose):
    app = compose["services"]["app"]
    assert app["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    env = _env(app)
    assert env["FOI_SEARCH"] == "elasticsearch"
    assert env["FOI_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
    assert env["FOI_ARCHIVE"] == "/data"
    assert app.get("build") in (".", {"context": "."}) or app["build"].get("context") == "."
    ports = [_default(str(p)) for p in app["ports"]]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    assert ports[0].rsplit(":", 1)[1] == "5000"
    assert "--host" in app["command"] and "0.0.0.0" in app["command"]  # reachable via the mapping
    assert "--workers" in app["command"]  # gunicorn, not the development server


def test_cluster_services_scheduler_and_scalable_workers(compose):
    services = compose["services"]
    scheduler, worker, app = services["scheduler"], services["worker"], services["app"]
    assert scheduler["command"][:2] == ["dask", "scheduler"] and "8786" in scheduler["command"]
    assert worker["command"][:3] == ["foi", "worker", "tcp://scheduler:8786"]
    assert "--nthreads" in worker["command"]
    assert "scheduler" in worker["depends_on"]
    # Workers only compute: no archive volume, no fixed name or port (`--scale worker=N`).
    assert not worker.get("volumes") and not worker.get("ports") and "container_name" not in worker
    assert not scheduler.get("ports")  # inside the compose network only, unless published on purpose
    assert (
        _default(_env(app)["FOI_CLUSTER"].replace("${FOI_CLUSTER-", "${FOI_CLUSTER:-"))
        == "tcp://scheduler:8786"
    )
    for service in (scheduler, worker):
        assert service["image"] == app["image"]  # the same image: foi's tasks importable on the workers


def test_dockerfile_has_debian_slim_and_the_ocr_languages():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM\s+(\S+)", text, re.M)
    assert base and "slim" in base.group(1)
    for package in ("tesseract-ocr-eng", "tesseract-ocr-chi-sim", "tesseract-ocr-chi-tra", "poppler-utils"):
        assert package in text
    # What the formats and the OCR word counts need at run time (scripts/setup.sh installs the same).
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    for package in (
        "libreoffice-writer-nogui",
        "libreoffice-calc-nogui",
        "libreoffice-impress-nogui",
        "pst-utils",
        "p7zip-full",
        "unar",
        "libarchive-tools",
        "djvulibre-bin",
        "mdbtools",
        "wbritish",
        "python3-uno",  # the long-lived LibreOffice's bridge runs on the system Python
    ):
        assert package in text and package in setup, package
    assert re.search(r"^USER\s+(?!root)\S+", text, re.M)  # not run as root


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file():
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose plugin or docker-compose here")
    result = subprocess.run(
        [*client, "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_the_installed_package_holds_every_subpackage():
    """`pip install .` (the image) installs only the packages pyproject lists: each folder with an
    __init__.py must be there, or the image lacks it (office, data, alerts, redactions were)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("archive", "ocr", "web")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
    assert (ROOT / "archive" / "extractors" / "office" / "uno_bridge.py").is_file()  # shipped, run by path
