"""Dependencies run one way: an app imports only from the layers below it.

The layers are the import-linter contract in pyproject.toml (`make check` runs
`lint-imports` on it too); docs/architecture.md says what each layer holds.
"""

import tomllib
from pathlib import Path

import grimp
import pytest
from django.apps import apps
from django.conf import settings

CONFIG = tomllib.loads((Path(settings.BASE_DIR) / "pyproject.toml").read_text())["tool"]["importlinter"]
LAYERS = [grimp.Layer(*(name.strip() for name in layer.split("|"))) for layer in CONFIG["contracts"][0]["layers"]]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*CONFIG["root_packages"])


def _illegal(graph: grimp.ImportGraph) -> list[str]:
    found = graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    return sorted(
        f"{route.heads} -> {route.tails} (via {dependency.importer} -> {dependency.imported})"
        for dependency in found
        for route in dependency.routes
    )


def test_no_app_imports_a_layer_above_it(graph):
    assert _illegal(graph) == []


def test_every_project_app_has_a_layer():
    project = {config.name for config in apps.get_app_configs() if (Path(settings.BASE_DIR) / config.name).is_dir()}
    layered = {name for layer in LAYERS for name in layer.module_tails}
    assert project <= layered, f"add to [tool.importlinter] in pyproject.toml: {sorted(project - layered)}"


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("core.errors", "audit.services"),
        ("audit.services", "accounts.models"),
        ("accounts.services", "clinic.registry"),
        ("clinic.registry", "realtime.publish"),
        ("realtime.publish", "scheduling.models"),
        ("scheduling.services.booking", "notifications.services"),
        ("records.services", "billing.models"),
        ("notifications.services", "reviews.models"),
        ("scheduling.selectors", "fhir_facade.resources"),
    ],
)
def test_an_import_against_the_direction_is_caught(graph, importer, imported):
    # The real graph with one import added against the direction (or between siblings).
    graph.add_import(importer=importer, imported=imported)
    try:
        assert _illegal(graph), f"{importer} -> {imported} should break the layers"
    finally:
        graph.remove_import(importer=importer, imported=imported)
