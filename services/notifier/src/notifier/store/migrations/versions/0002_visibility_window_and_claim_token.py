"""notices: visibility window; deliveries: claim token

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Nullable columns, so existing rows need nothing: a notice known before this revision
has no visibility window (messages to people due at once, as before), and no
delivery is under a fenced claim until the next claim writes a token.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.Uuid(), nullable=True))

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visible_from", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("visible_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("visible_until")
        batch_op.drop_column("visible_from")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
