"""The rating store: five levels, stored with what was rated, personal numbers masked."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from core.database import database_url
from core.settings import Settings
from core.ratings import LEVELS, Rating, RatingRow, RatingStore, is_bad, level_name
from core.schema import current_revision, head_revision


def test_levels_are_the_national_five_level_scale():
    assert [LEVELS[level][0] for level in (5, 4, 3, 2, 1)] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert level_name(3, "en") == "basically satisfied"
    assert [is_bad(level) for level in (1, 2, 3)] == [True, True, False]


def test_ratings_are_stored_and_counted(tmp_path):
    store = RatingStore(f"sqlite:///{tmp_path / 'db' / 'govbot.db'}")
    when = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    first = store.add(Rating(sender_id="u1", level=5, language="zh", question="护照怎么办", item="passport-apply",
                             decision="answer", channel="rest", created_at=when))
    second = store.add(Rating(sender_id="u2", level=1, language="en"))
    assert second == first + 1
    stored = store.all()
    assert (stored[0].item, stored[0].decision, stored[0].channel, stored[0].question) == \
        ("passport-apply", "answer", "rest", "护照怎么办")
    assert stored[0].created_at.replace(tzinfo=timezone.utc) == when
    assert store.counts() == {5: 1, 4: 0, 3: 0, 2: 0, 1: 1}
    # a second store on the same file sees them (nothing kept in memory only)
    assert len(RatingStore(f"sqlite:///{tmp_path / 'db' / 'govbot.db'}").all()) == 2


def test_id_and_phone_numbers_in_the_question_are_masked(tmp_path):
    store = RatingStore(f"sqlite:///{tmp_path / 'govbot.db'}")
    store.add(Rating(sender_id="u1", level=2, language="zh", question="我的身份证110101199003071234，电话13912345678"))
    assert store.all()[0].question == "我的身份证**************1234，电话*******5678"


@pytest.mark.parametrize("level", [0, 6, "5", None])
def test_a_level_off_the_scale_is_refused(level):
    with pytest.raises(ValueError, match="rating level must be 1 to 5"):
        Rating(sender_id="u1", level=level, language="zh")


def test_database_defaults_to_sqlite_in_the_var_dir_and_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GOVBOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("GOVBOT_VAR_DIR", str(tmp_path))
    assert database_url(Settings.from_env()) == f"sqlite:///{tmp_path.resolve() / 'govbot.db'}"
    monkeypatch.setenv("GOVBOT_DATABASE_URL", "postgresql+psycopg://govbot@localhost/govbot")
    assert database_url(Settings.from_env()) == "postgresql+psycopg://govbot@localhost/govbot"


def test_the_store_brings_its_database_to_the_newest_schema_revision(tmp_path):
    url = f"sqlite:///{tmp_path / 'govbot.db'}"
    store = RatingStore(url)
    assert current_revision(store.engine) == head_revision()
    store.engine.dispose()


def test_a_ratings_file_from_before_migrations_keeps_its_ratings(tmp_path):
    url = f"sqlite:///{tmp_path / 'govbot.db'}"
    old = create_engine(url)
    RatingRow.metadata.create_all(old)  # what the store did before migrations
    with old.begin() as connection:
        connection.execute(text("INSERT INTO ratings (created_at, sender_id, language, level) "
                                "VALUES ('2025-01-02 03:04:05.000000', 'u1', 'zh', 5)"))
    old.dispose()
    store = RatingStore(url)
    assert [(r.sender_id, r.level) for r in store.all()] == [("u1", 5)]
    assert current_revision(store.engine) == head_revision()
    store.engine.dispose()
