"""API tokens limited to hub channel patterns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 07:05:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("channel_patterns", postgresql.ARRAY(sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("api_tokens", "channel_patterns")
