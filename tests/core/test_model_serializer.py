"""core.serializers.ModelSerializer: fields worked out once per class, the same as DRF's each time."""

from importlib import import_module
from importlib.util import find_spec

import pytest
from django.apps import apps
from rest_framework import serializers

from core.serializers import ModelSerializer


def _every_serializer() -> list[type[ModelSerializer]]:
    """Every concrete ModelSerializer of the project's apps (those with a Meta)."""
    for app in apps.get_app_configs():
        if find_spec(f"{app.name}.serializers") is not None:
            import_module(f"{app.name}.serializers")

    def below(cls: type) -> list[type]:
        direct: list[type] = cls.__subclasses__()
        return [sub for child in direct for sub in (child, *below(child))]

    return [cls for cls in below(ModelSerializer) if hasattr(cls, "Meta")]


def _described(fields: dict[str, serializers.Field]) -> dict[str, str]:
    # DRF's repr of a field names its class and every argument it was made with.
    return {name: repr(field) for name, field in fields.items()}


@pytest.mark.parametrize("serializer_class", _every_serializer(), ids=lambda cls: cls.__qualname__)
def test_the_kept_fields_are_those_drf_would_build(serializer_class):
    kept = serializer_class().fields
    again = serializer_class().fields
    fresh = serializers.ModelSerializer.get_fields(serializer_class())

    assert _described(kept) == _described(fresh)
    assert _described(again) == _described(fresh)
    # Each instance has its own copies, bound to itself.
    assert all(kept[name] is not again[name] for name in kept)
    assert all(field.parent is not None for field in again.values())
