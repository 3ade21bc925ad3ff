from __future__ import annotations

import pytest

from escalation.triggers import VaderScorer


@pytest.fixture(scope="session")
def vader() -> VaderScorer:
    """The VADER analyzer reads its lexicon once per test session."""
    return VaderScorer()
