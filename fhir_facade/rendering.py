"""FHIR's JSON on the wire: `application/fhir+json` in and out (plain `application/json` too).

Views hand the renderer a `fhir.resources` model; it is serialised by the library, so what
goes out is exactly what the model validated.
"""

import json
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.fhirresourcemodel import FHIRResourceModel
from rest_framework import renderers

from core.parsers import JSONParser

FHIR_JSON = "application/fhir+json"


class FhirJSONRenderer(renderers.BaseRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        if isinstance(data, FHIRResourceModel):
            return data.model_dump_json(exclude_none=True).encode()
        return json.dumps(data).encode()


class PlainJSONRenderer(FhirJSONRenderer):
    """For clients that ask for `application/json`: the same FHIR JSON."""

    media_type = "application/json"


class FhirJSONParser(JSONParser):
    media_type = FHIR_JSON
