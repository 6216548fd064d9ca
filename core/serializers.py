"""The project's ModelSerializer: DRF's, with the fields worked out from the model once per class."""

import copy

from rest_framework import serializers


# DRF's ModelSerializer, building its fields from the model once per class.
#
# DRF works a ModelSerializer's fields out of the model's `_meta` for every instance it
# makes: for an appointment in a booking's response that is ~0.26 ms of a 0.34 ms
# serialisation (docs/benchmarks.md, "Booking throughput"). What it works out depends
# only on the class (its `Meta` and declared fields), so the first instance keeps it and
# every instance gets a deep copy, as DRF gives each its own copy of the declared fields.
# A subclass whose fields depend on the instance (its context, its data) overrides
# `get_fields` and does not call this one.
# (A comment, not a docstring: the API schema takes a serializer's docstring, inherited
# ones included, as the description of its shape.)
class ModelSerializer(serializers.ModelSerializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        built = cls.__dict__.get("_fields_built")
        if built is None:
            built = super().get_fields()
            cls._fields_built = built  # type: ignore[attr-defined]
        return copy.deepcopy(built)
