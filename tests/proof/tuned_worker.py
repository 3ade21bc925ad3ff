"""`python -m tests.proof.tuned_worker`: `escalation worker` with the Worker's slot limits
taken from PROOF_MAX_WORKFLOW_TASKS / PROOF_MAX_ACTIVITIES (an experiment aid for the chaos
test: how the worker behaves after a restart with a smaller workflow task concurrency)."""

from __future__ import annotations

import os
from typing import Any

import temporalio.worker

_original = temporalio.worker.Worker.__init__


def _tuned(self: Any, *args: Any, **kwargs: Any) -> None:
    if os.environ.get("PROOF_MAX_WORKFLOW_TASKS"):
        kwargs.setdefault(
            "max_concurrent_workflow_tasks", int(os.environ["PROOF_MAX_WORKFLOW_TASKS"])
        )
    if os.environ.get("PROOF_MAX_ACTIVITIES"):
        kwargs.setdefault("max_concurrent_activities", int(os.environ["PROOF_MAX_ACTIVITIES"]))
    _original(self, *args, **kwargs)


temporalio.worker.Worker.__init__ = _tuned  # type: ignore[method-assign]

if __name__ == "__main__":
    from escalation.cli import app

    app(["worker"])
