"""API keys, stored hashed (see escalation/apikeys.py for the token and hash scheme).

A key is never deleted: revoking it stamps ``revoked_at``, so the timeline's attributions keep
naming a key that can still be listed. Names are unique among *active* keys only, so a revoked
name can be created again (rotation by name).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # "cli" (keys create) | "env" (seeded)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("key_id", name="uq_api_keys_key_id"),
        Index(
            "uq_api_keys_active_name",
            "name",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )
