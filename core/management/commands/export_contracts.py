"""`manage.py export_contracts`: regenerate frontend_contracts/ from the code.

openapi.yaml comes from the DRF views (drf-spectacular); the websocket documents, JSON
Schemas and TypeScript types from realtime.contracts.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

from realtime import contracts


def openapi_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


class Command(BaseCommand):
    help = "Write the OpenAPI and AsyncAPI documents, JSON Schemas and TypeScript types to frontend_contracts/."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "frontend_contracts"))

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        schema = openapi_schema()
        (out / "openapi.yaml").write_bytes(OpenApiYamlRenderer().render(schema, renderer_context={}))
        written = contracts.write_documents(out, schema)
        self.stdout.write(f"wrote {out / 'openapi.yaml'} and {len(written)} realtime contract files")
