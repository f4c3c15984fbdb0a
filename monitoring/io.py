"""Writing a monitoring run's output folder: JSON documents and the folder swap (an IO edge).

Single responsibility: the two file operations drift and performance runs share. A run's
folder is built under a temporary name beside its place and takes its name in one rename, so
a reader never sees half a run; an older folder of the same months is moved aside first and
removed after.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


def to_json(document: dict[str, Any]) -> str:
    """``document`` as indented JSON text (NaN refused: summaries hold ``None`` instead)."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)


def replace_folder(staged: Path, out: Path) -> None:
    """``staged`` becomes ``out``; an older ``out`` is moved aside first and removed after."""
    os.chmod(staged, 0o700)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(staged, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
