"""Citizens' ratings of answers (好差评) on the national five-level scale, stored for analytics."""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import CursorResult, DateTime, Integer, String, Text, func, or_, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.database import open_engine
from core.privacy import mask
from core.schema import upgrade_schema

# The five levels, from best to worst, with their names in Chinese and English.
LEVELS: dict[int, tuple[str, str]] = {
    5: ("非常满意", "very satisfied"),
    4: ("满意", "satisfied"),
    3: ("基本满意", "basically satisfied"),
    2: ("不满意", "dissatisfied"),
    1: ("非常不满意", "very dissatisfied"),
}
GOOD_LEVEL, BAD_LEVEL = 4, 2  # what a quick 👍 / 👎 means on the scale
# The lowest level that is not a bad rating: below it (不满意, 非常不满意) the bot offers a person.
WORST_GOOD_ENOUGH = 3


def level_name(level: int, language: str) -> str:
    """The level's name in the language ("满意", "satisfied")."""
    zh, en = LEVELS[level]
    return zh if language == "zh" else en


def is_bad(level: int) -> bool:
    """Whether the level is a bad rating (不满意 or 非常不满意)."""
    return level < WORST_GOOD_ENOUGH


class _Base(DeclarativeBase):
    pass


class RatingRow(_Base):
    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[Optional[str]] = mapped_column(String(50))
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[Optional[str]] = mapped_column(Text)
    item: Mapped[Optional[str]] = mapped_column(String(80), index=True)
    decision: Mapped[Optional[str]] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Rating:
    """One rating: who rated which answer (question, item, search decision), how, and when."""

    sender_id: str
    level: int
    language: str
    question: Optional[str] = None
    item: Optional[str] = None
    decision: Optional[str] = None
    channel: Optional[str] = None
    created_at: Optional[datetime] = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"rating level must be 1 to 5, got {self.level!r}")


class RatingStore:
    """Ratings in the application database (one transaction per rating)."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        upgrade_schema(self.engine)  # the table comes from core/migrations (revision 0001), like every other

    def add(self, rating: Rating) -> int:
        """Store the rating (the question with personal numbers masked); return its id."""
        row = RatingRow(created_at=rating.created_at or datetime.now(timezone.utc), sender_id=rating.sender_id,
                        channel=rating.channel, language=rating.language,
                        question=mask(rating.question) if rating.question else None,
                        item=rating.item, decision=rating.decision, level=rating.level)
        with Session(self.engine) as session, session.begin():
            session.add(row)
            session.flush()
            return row.id

    def all(self) -> list[Rating]:
        """Every stored rating, oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(RatingRow).order_by(RatingRow.id)).all()
            return [Rating(sender_id=r.sender_id, level=r.level, language=r.language, question=r.question,
                           item=r.item, decision=r.decision, channel=r.channel, created_at=r.created_at)
                    for r in rows]

    def counts(self) -> dict[int, int]:
        """How many ratings there are at each level (levels with none included)."""
        with Session(self.engine) as session:
            found = dict(session.execute(select(RatingRow.level, func.count()).group_by(RatingRow.level)).all())
        return {level: int(found.get(level, 0)) for level in LEVELS}

    def forget_text(self, before: datetime, dry_run: bool = False) -> int:
        """Drop the question and the conversation of ratings made before `before`, keeping their level, item,
        decision, language, channel and time for statistics; how many ratings had something to drop."""
        old = (RatingRow.created_at < before, or_(RatingRow.question.is_not(None), RatingRow.sender_id != ""))
        with Session(self.engine) as session, session.begin():
            if dry_run:
                return int(session.scalar(select(func.count()).select_from(RatingRow).where(*old)) or 0)
            done = session.execute(update(RatingRow).where(*old).values(question=None, sender_id=""))
            return done.rowcount if isinstance(done, CursorResult) else 0
