"""Everything the commands create under EWS_HOME is readable by its owner only.

``ledger.db`` and ``mlflow.db`` were created world-readable (0644) and ``secrets/`` 0755 by the
default umask. The commands run here as a user's shell would start them, with umask 022.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from features.settings import TELEMETRY_OFF

BIN = Path(sys.executable).parent


def _run(home: Path, *args: str) -> None:
    env = {**os.environ, **TELEMETRY_OFF, "EWS_HOME": str(home)}
    env.pop("EWS_TRACKING_URI", None)
    env.pop("EWS_LEDGER_URL", None)
    done = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_state_under_ews_home_is_private(tmp_path):
    home = tmp_path / "home"
    book = home / "data" / "portfolio"
    _run(home, "ews-data", "simulate", "-n", "400", "-m", "30", "--seed", "3", "--out", str(book))
    _run(home, "ews-train", "fit", "--data", str(book), "--n-estimators", "10", "--promote")
    _run(
        home,
        *("ews-serve", "score-portfolio", "--data", str(book), "--as-of", "2025-03"),
        *("--out", str(home / "reports" / "2025-03")),
    )
    for name in ("mlflow.db", "ledger.db", "secrets/pseudonym.key"):
        assert (home / name).exists(), name
    public = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        if mode & 0o077:
            public.append(f"{path.relative_to(tmp_path)} {mode:o}")
    assert public == []
