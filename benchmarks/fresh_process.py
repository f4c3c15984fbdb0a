"""Run a benchmark's measured part in a fresh Python process.

Peak RSS (``ru_maxrss``) is per process, so each repetition runs alone in a new interpreter
and reports its figures as one JSON line on standard output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_child(code: str, *args: object) -> dict[str, Any]:
    """Run ``code`` with ``args`` as ``sys.argv[1:]``; returns its last line parsed as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return json.loads(done.stdout.strip().splitlines()[-1])
