"""The worker keeps its start-up heap out of full garbage collections (worker/main.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a child process: freezing is process-wide and would pin this test run's heap.
PROBE = """
import gc
from worker.main import FULL_COLLECTION_THRESHOLD, freeze_startup_heap
before = gc.get_freeze_count()
young, middle, _ = gc.get_threshold()
freeze_startup_heap()
assert gc.get_freeze_count() > before + 10_000, gc.get_freeze_count()
assert gc.get_threshold() == (young, middle, FULL_COLLECTION_THRESHOLD), gc.get_threshold()
garbage = []
garbage.append(garbage)  # a cycle made after the freeze is still collected
del garbage
assert gc.collect() >= 1
print("ok")
"""


def test_the_start_up_heap_is_frozen_and_full_passes_are_rarer() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
