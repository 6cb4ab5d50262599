"""recipients: directory version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Nullable, so existing rows need nothing: a recipient known before this revision has no
version, and the next update of that user is ordered by its event time, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("directory_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("directory_version")
