"""Request body fields that take JSON types as the schema states them.

DRF converts loosely (``5`` into ``"5"`` for a string, ``"5"`` into ``5`` for an
integer, ``"yes"`` into ``True``). A body that breaks the documented schema is a
client bug, so these fields reject it with a 400 instead of guessing. Query
parameters are strings by nature and keep DRF's own fields.
"""

from typing import Any

from rest_framework import serializers

MAX_IDS_PER_REQUEST = 1000


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(StrictCharField, serializers.EmailField):
    """EmailField's validation, StrictCharField's refusal of non-strings."""


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_list_field(**kwargs: Any) -> serializers.ListField:
    """A list of UUIDs resolved in one query by the view, not one query per id."""
    return serializers.ListField(child=StrictUUIDField(), max_length=MAX_IDS_PER_REQUEST, **kwargs)
