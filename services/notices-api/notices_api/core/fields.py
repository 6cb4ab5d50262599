"""Request fields that take values as the schema states them.

DRF converts loosely (``5`` into ``"5"`` for a string, ``"5"`` into ``5`` for an
integer, ``"yes"`` into ``True``). A request that breaks the documented schema is a
client bug, so these fields reject it with a 400 instead of guessing. Query
parameters are strings by nature: string ones take any string up to their length,
booleans the two spellings the OpenAPI document gives them.
"""

from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

MAX_IDS_PER_REQUEST = 1000


class SentLengthCharField(serializers.CharField):
    """A string whose ``max_length`` counts what was sent, as the schema's maxLength does.

    DRF trims surrounding whitespace first and measures after, so it would take a
    value one space longer than the documented limit.
    """

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictCharField(SentLengthCharField):
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


class QueryBooleanField(serializers.BooleanField):
    """A boolean query parameter: ``true`` or ``false``, as OpenAPI serialises a boolean."""

    default_error_messages = {"invalid": 'Must be "true" or "false".'}
    # BooleanField reads an absent key as an unticked HTML checkbox (False); here absent
    # means "use the default", like every other optional parameter.
    default_empty_html = empty
    spellings = {"true": True, "false": False}

    def get_value(self, dictionary: Any) -> Any:
        # DRF reads a bare ``?flag=`` as an absent optional field; it is a malformed value.
        if dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> bool:
        if data not in self.spellings:
            self.fail("invalid")
        return self.spellings[data]


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_list_field(**kwargs: Any) -> serializers.ListField:
    """A list of UUIDs resolved in one query by the view, not one query per id."""
    return serializers.ListField(child=StrictUUIDField(), max_length=MAX_IDS_PER_REQUEST, **kwargs)
