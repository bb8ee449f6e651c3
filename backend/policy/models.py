"""Models of the policy domain: named settings with who changed them, and versioned scripts."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .. import feed
from ..common import utcnow
from ..extensions import Model, db


class PolicySetting(Model):
    """One change of one named setting in one jurisdiction profile.

    Append-only: the newest row for (jurisdiction, key) is the effective value, the older
    rows are its history. A key with no row uses the default in code (rules.py, plan_policy.py).
    """

    __tablename__ = "policy_settings"
    __table_args__ = (Index("ix_policy_settings_lookup", "jurisdiction", "key", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict | list | str | int | float | bool | None] = mapped_column(db.JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


SCRIPT_STATUSES = ("draft", "approved", "rejected", "retired")
# a script is spoken at the door and ships in the day packet; a letter is rendered to a PDF by
# the case office (the letter rung), never shipped to a device
SCRIPT_KINDS = ("script", "letter")


class ScriptTemplate(Model):
    """A version of one script or letter template in one locale (R7: only approved wording
    reaches a device or a debtor's letterbox).

    Version 1 of each built-in script lives in data/scripts.json; an admin's edit is a new
    row with the next version, a draft until approved. Only the newest approved version ships.
    """

    __tablename__ = "script_templates"
    __table_args__ = (UniqueConstraint("key", "locale", "version", name="uq_script_templates_key_locale_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="script", server_default="script")
    strategy: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    legal_wording: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]


feed.watch(PolicySetting, feed.everyone)
feed.watch(ScriptTemplate, feed.everyone)
