"""What OPTIONS answers on the REST API.

DRF's SimpleMetadata describes each write's body by instantiating the view's serializer;
the views here validate with small per-operation input serializers and have no
`serializer_class`, so it failed with a 500. Bodies are described by the OpenAPI schema
(/api/schema/); OPTIONS says only what the endpoint is, which methods it allows (the
`Allow` header) and what it reads and writes.
"""

from typing import TYPE_CHECKING, Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


class EndpointMetadata(SimpleMetadata):
    def determine_metadata(self, request: Request, view: "APIView") -> dict[str, Any]:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": "/api/schema/",
        }
