"""Parsing request input: the one helper every API module uses."""

from typing import Any

from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], data: object, **kwargs: Any) -> dict[str, Any]:
    """Validate `data` with an input serializer; invalid input raises (400 with `fields`)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
