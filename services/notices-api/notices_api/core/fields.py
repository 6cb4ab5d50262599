from typing import Any

from rest_framework import serializers

MAX_IDS_PER_REQUEST = 1000


def id_list_field(**kwargs: Any) -> serializers.ListField:
    """A list of UUIDs resolved in one query by the view, not one query per id."""
    return serializers.ListField(
        child=serializers.UUIDField(), max_length=MAX_IDS_PER_REQUEST, **kwargs
    )
