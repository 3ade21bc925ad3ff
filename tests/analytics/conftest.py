"""Analytics run on PostgreSQL (production, tests) and SQLite (the dev default): every test
here runs on both, against the same hand-built data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from tests.analytics import dataset


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    if request.param == "postgresql":
        url: str = request.getfixturevalue("database_url")
    else:
        path: Path = tmp_path_factory.mktemp("sqlite") / "analytics.db"
        url = f"sqlite:///{path}"
        upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        dataset.load(session)
    yield sessions
    engine.dispose()
