"""Base model every contract type shares."""

from pydantic import AwareDatetime, BaseModel, ConfigDict

__all__ = ["AwareDatetime", "ContractModel"]


class ContractModel(BaseModel):
    """Immutable, and tolerant of fields it does not know.

    Consumers must ignore unknown fields so that a producer can add an optional
    field to a published version without breaking anyone (the tolerant reader).
    Producers build these models from keyword arguments, so what they serialise
    never holds a field the schema does not know.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)
