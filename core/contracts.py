"""The generated public contracts in frontend_contracts/, one function per file.

Each exporter returns the full text of one file and must be deterministic (same code,
same bytes), because a test regenerates every file and fails when the committed copy
differs. Another app adds its own files (AsyncAPI, JSON Schemas, TypeScript types) with
`@contract("name")` in a module imported from its AppConfig.ready().
"""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

Exporter = Callable[[], str]

CONTRACTS: dict[str, Exporter] = {}


def contract(filename: str) -> Callable[[Exporter], Exporter]:
    """Register `exporter` as the producer of frontend_contracts/<filename>."""

    def register(exporter: Exporter) -> Exporter:
        CONTRACTS[filename] = exporter
        return exporter

    return register


def default_directory() -> Path:
    return Path(settings.BASE_DIR) / "frontend_contracts"


def render_all() -> dict[str, str]:
    """Every contract file's name and text, in name order."""
    return {name: CONTRACTS[name]() for name in sorted(CONTRACTS)}


@contract("openapi.yaml")
def openapi_yaml() -> str:
    """The REST API as OpenAPI 3, from the code via drf-spectacular (as /api/schema/ serves it)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiYamlRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={}).decode()
