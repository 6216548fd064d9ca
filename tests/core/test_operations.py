"""Deployment: check --deploy, settings that fail fast, the health check, docker-compose.yml."""

import ast
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "FIREBASE_AUTH_EMULATOR_HOST"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="clinic.example,api.clinic.example",
        SECURE_SSL_REDIRECT="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_a_secret_key_fails_fast():
    result = run_manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


# --- health ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_health_is_503_when_redis_does_not_answer(anon, settings):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    response = anon.get("/api/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "down"}


@pytest.mark.django_db
def test_health_without_redis_configured(anon, settings):
    settings.REDIS_URL = ""
    assert anon.get("/api/health/").json() == {"status": "ok", "database": "ok", "redis": "not_configured"}


# --- docker ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command(service: dict) -> str:
    value = service["command"]
    return " ".join(value) if isinstance(value, list) else value


def test_compose_has_every_service(compose):
    assert set(compose["services"]) == {
        "postgres", "redis", "migrate", "web", "sockets", "proxy", "worker", "beat", "relay", "prometheus", "grafana",
    }  # fmt: skip
    assert set(compose["volumes"]) >= {"pgdata", "media"}
    # Monitoring is opt-in; everything else starts with a plain `docker compose up`.
    for name, service in compose["services"].items():
        assert ("profiles" in service) == (name in {"prometheus", "grafana"}), name


def test_compose_scales_web_behind_the_proxy(compose):
    services = compose["services"]
    # `--scale web=3` needs web without a published host port; the proxy owns it.
    assert "ports" not in services["web"] and services["web"]["expose"] == ["8000"]
    assert services["proxy"]["ports"] == ["${PORT:-8000}:80"]
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in services["proxy"]["volumes"]}
    assert mounts == {
        "./deploy/nginx/upstream.conf": "/etc/nginx/conf.d/00-upstream.conf",
        "./deploy/nginx/clinic.conf": "/etc/nginx/conf.d/default.conf",
    }
    assert "server web:8000" in (ROOT / "deploy" / "nginx" / "upstream.conf").read_text()
    # One beat; its health check and the worker's metrics port.
    assert services["beat"]["deploy"]["replicas"] == 1
    assert "health" in services["beat"]["healthcheck"]["test"]
    assert services["worker"]["environment"]["WORKER_METRICS_PORT"] == "9808"


def test_websockets_have_web_processes_of_their_own(compose):
    """/ws/ goes to the `sockets` replicas, REST to `web`: a process fanning events out to
    thousands of sockets shares its GIL with nobody's booking (docs/benchmarks.md, --split)."""
    services = compose["services"]
    assert command(services["sockets"]) == command(services["web"])
    assert "ports" not in services["sockets"] and services["sockets"]["expose"] == ["8000"]
    assert services["proxy"]["depends_on"]["sockets"]["condition"] == "service_healthy"
    assert "server sockets:8000" in (ROOT / "deploy" / "nginx" / "upstream.conf").read_text()
    conf = (ROOT / "deploy" / "nginx" / "clinic.conf").read_text()
    ws = conf[conf.index("location /ws/") : conf.index("}", conf.index("location /ws/"))]
    assert "proxy_pass http://clinic_sockets;" in ws
    rest = conf[conf.index("location / {") :]
    assert "proxy_pass http://clinic_web;" in rest


def test_every_file_compose_mounts_exists(compose):
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_processes_of_a_container_share_a_fresh_metrics_directory(compose):
    for name in ("web", "sockets", "worker", "beat"):
        service = compose["services"][name]
        directory = service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        assert directory in service["tmpfs"], name


def test_prometheus_scrapes_every_web_replica_with_the_token():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web = jobs["clinic-web"]
    assert web["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert web["dns_sd_configs"][0]["names"] == ["web", "sockets"] and web["dns_sd_configs"][0]["port"] == 8000
    assert jobs["clinic-worker"]["dns_sd_configs"][0]["port"] == 9808


def test_compose_runs_the_documented_processes(compose):
    services = compose["services"]
    assert "daphne" in command(services["web"]) and "config.asgi:application" in command(services["web"])
    assert command(services["worker"]).startswith("celery -A config worker")
    assert command(services["beat"]).startswith("celery -A config beat")
    assert command(services["relay"]) == "python manage.py relay_events"
    assert command(services["migrate"]) == "python manage.py migrate --noinput"


def test_app_services_wait_for_healthy_databases_and_the_migration(compose):
    for name in ("web", "worker", "beat", "relay"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis", "web", "proxy", "worker", "beat"):
        assert compose["services"][name]["healthcheck"]["test"], name
    assert "/api/health/" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_app_services_share_one_configuration(compose):
    for name in ("migrate", "web", "worker", "beat", "relay"):
        service = compose["services"][name]
        assert service["build"] == "."
        environment = service["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")
        assert environment["DEBUG"] == "false"
        for variable in ("SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "THROTTLE_ENABLED"):
            assert variable in environment


def test_compose_interpolations_are_well_formed():
    text = (ROOT / "docker-compose.yml").read_text()
    for match in re.finditer(r"(?<!\$)\$\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?", match.group(1)), match.group(0)


def test_compose_secrets_have_no_default_and_compose_refuses_to_start_without_them():
    # A default in a public file is a public key: everything signed with it (sessions,
    # download links) could be forged. `${NAME:?message}` makes compose stop instead.
    text = (ROOT / "docker-compose.yml").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD"):
        uses = re.findall(r"\$\{" + name + r"(:?[-?][^}]*)?\}", text)
        assert uses, name
        for modifier in uses:
            assert modifier.startswith(":?"), f"${{{name}{modifier}}} lets compose start without {name}"


def test_dockerfile_installs_the_pinned_requirements_and_serves_daphne():
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in text
    assert "config.asgi:application" in text
    assert "collectstatic" in text
    assert re.search(r"^USER \w+", text, re.MULTILINE), "the image must not run as root"


SETTINGS_MODULES = sorted((ROOT / "config" / "settings").glob("*.py"))


def test_the_configuration_doc_documents_every_environment_variable_the_settings_read():
    settings_text = "\n".join(module.read_text() for module in SETTINGS_MODULES)
    readme = (ROOT / "docs" / "configuration.md").read_text()
    names = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_text))
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "PORT"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"docs/configuration.md does not document: {', '.join(missing)}"


def test_each_setting_is_set_in_one_settings_module():
    # config/settings/__init__.py star-imports the modules: a name set in two would quietly
    # take the later module's value.
    owners: dict[str, list[str]] = {}
    for module in SETTINGS_MODULES:
        for node in ast.walk(ast.parse(module.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    owners.setdefault(target.id, []).append(module.name)
    assert len(owners) > 100
    shared = {name: modules for name, modules in owners.items() if len(set(modules)) > 1}
    assert not shared, shared


def test_readme_lists_the_demo_accounts():
    from accounts import demo

    readme = (ROOT / "README.md").read_text()
    assert demo.DEMO_PASSWORD in readme
    for email in (demo.ADMIN["email"], demo.RECEPTION["email"], *(d["email"] for d in demo.DOCTORS)):
        assert email in readme
