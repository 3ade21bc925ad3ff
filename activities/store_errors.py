"""How activities tell a store that is down from input the store refuses.

A store that is down (connection refused, restarted mid-transaction) is worth waiting for:
the same write succeeds once it is back. Input the database refuses (a `DataError`, e.g. a NUL
character in text, which PostgreSQL text cannot hold) fails on every attempt, so retrying it
only stalls the workflow that waits for it: it is raised as a non-retryable ApplicationError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from temporalio.exceptions import ApplicationError

from escalation import activity_names as names

# The ApplicationError type workflows can match on (`ActivityError.cause.type`).
STORE_REFUSED_INPUT: Final = names.STORE_REFUSED_INPUT


def store_unavailable(err: BaseException) -> bool:
    """True for errors that mean the database could not be reached or lost the connection."""
    if isinstance(err, OperationalError | InterfaceError):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


def refused_input(err: DataError, what: str) -> ApplicationError:
    """The non-retryable error an activity raises when the store refuses its input."""
    # str(err.orig) is the driver's message (e.g. "PostgreSQL text fields cannot contain
    # NUL (0x00) bytes"), without the SQL statement and its parameters.
    reason = str(err.orig) if err.orig is not None else type(err).__name__
    return ApplicationError(
        f"the store refused {what}: {reason}"[:500],
        type=STORE_REFUSED_INPUT,
        non_retryable=True,
    )


@contextmanager
def poison_input_not_retried(what: str) -> Iterator[None]:
    """Around an activity's store writes: a `DataError` becomes a non-retryable failure."""
    try:
        yield
    except DataError as err:
        raise refused_input(err, what) from err
