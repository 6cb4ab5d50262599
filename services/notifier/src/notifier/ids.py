"""Deterministic delivery ids: the same (notice, target, channel, kind) is always the same id."""

from uuid import UUID, uuid5

DELIVERY_NAMESPACE = UUID("5b8c1f0e-4a4e-4f7a-9b7e-6a1d2c3e4f50")


def delivery_id(*, notice_id: UUID, target_id: UUID, channel: str, kind: str) -> UUID:
    return uuid5(DELIVERY_NAMESPACE, f"{notice_id}/{target_id}/{channel}/{kind}")
