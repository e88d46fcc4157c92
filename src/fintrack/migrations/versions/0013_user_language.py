"""Each user's web UI language (pt-BR or en); empty means the browser's.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(10), nullable=True))
    op.create_check_constraint("users_language_known", "users", "language IN ('pt-BR', 'en')")


def downgrade() -> None:
    op.drop_constraint("users_language_known", "users", type_="check")
    op.drop_column("users", "language")
