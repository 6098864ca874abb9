"""App-DB model of a template version's content blocks: named rules chosen per contact."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base


class TemplateBlock(Base):
    """A content block of one template version: shown when its rule holds for the contact."""

    __tablename__ = "message_template_block"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("message_template.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("template_id", "name"),)
