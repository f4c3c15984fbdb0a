"""The real Evidently UI over a published workspace: its API serves every panel's points,
writes need the secret, and a headless Chromium renders the charts.

Nothing is mocked: ``python -m monitoring.ui`` runs as a subprocess on a free loopback port
(secret in its environment), is queried over HTTP, opened in ``/usr/bin/chromium`` and stopped
with SIGTERM. A missing Chromium is a failure that says to run the setup, never a skip. The
screenshot, the rendered DOM and the timings are kept under ``tests/artifacts/`` (git-ignored)
or ``$EWS_TEST_ARTIFACTS``.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from evidently.errors import EvidentlyError

from monitoring.dashboard import (
    DASHBOARD_PANELS,
    FIGURE_METRIC,
    ensure_project,
    month_snapshot,
    open_workspace,
    publish_figures,
)
from monitoring.ui import SECRET_HEADER, UiError, ui_command, ui_environment, wait_ready
from tests.monitoring.figures_factory import figures_table
from tests.postgres import free_port, log_tail

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MONTHS = 5
READY_TIMEOUT_S = 120.0
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,3000",
    "--virtual-time-budget=15000",
)


def artifacts_dir() -> Path:
    path = Path(os.environ.get("EWS_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class RunningUi:
    url: str
    project_id: str
    secret: str
    ready_s: float
    log: Path
    workdir: Path
    process: subprocess.Popen


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
    if process.poll() is None:  # did not stop on SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def ui(tmp_path_factory) -> Iterator[RunningUi]:
    workdir = tmp_path_factory.mktemp("evidently_ui")
    workspace = workdir / "workspace"
    ws = open_workspace(workspace, create=True)
    project = ensure_project(ws)
    publish_figures(ws, project, figures_table(months=MONTHS))

    secret = secrets.token_hex(16)
    env = ui_environment(secret)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    log = workdir / "ui.log"
    process: subprocess.Popen | None = None
    problem = None
    for _attempt in range(3):
        port = free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                ui_command(workspace, port),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            ready_s = wait_ready(url, READY_TIMEOUT_S, process=process)
        except UiError as exc:
            _stop(process)
            problem = f"{exc}; log {log}:\n{log_tail(log)}"
            if "address already in use" in log_tail(log, 20).lower():
                continue
            break
        problem = None
        break
    if problem is not None or process is None:
        pytest.fail(problem or "the UI did not start", pytrace=False)
    running = RunningUi(url, str(project.id), secret, ready_s, log, workdir, process)
    try:
        yield running
    finally:
        _stop(process)
    (artifacts_dir() / "evidently-ui-timings.json").write_text(
        json.dumps({"ui_ready_s": round(ready_s, 2), "stopped_rc": process.returncode})
    )


def api(ui: RunningUi, path: str, body: dict | None = None, headers: dict | None = None):
    request = urllib.request.Request(
        f"{ui.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def status_of(ui: RunningUi, method: str, path: str, body: dict | None, headers: dict) -> int:
    request = urllib.request.Request(
        f"{ui.url}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json", **headers},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def panel_series(ui: RunningUi, project_id: str, panel: dict) -> dict:
    """What the dashboard page asks for one panel (index-dashboard-main JS: one batch per
    panel, one filter per panel value)."""
    filters = [
        {
            "tags": v["tags"],
            "metadata": v["metadata"],
            "metric": v["metric"],
            "metric_labels": v["metric_labels"],
        }
        for v in panel["values"]
    ]
    return api(ui, f"/api/v2/snapshots/{project_id}/data_series_batch", {"series_filter": filters})


def test_every_panel_gets_points_through_the_ui_api(ui):
    dashboard = api(ui, f"/api/v2/dashboards/{ui.project_id}")
    panels = dashboard["panels"]
    assert [p["title"] for p in panels] == [p.title for p in DASHBOARD_PANELS]
    figures = figures_table(months=MONTHS)
    for panel in panels:
        if panel["plot_params"]["plot_type"] == "text":
            assert panel["subtitle"], "the reading guide is empty"
            continue
        answer = panel_series(ui, ui.project_id, panel)
        assert answer["series"], f"panel {panel['title']!r} would be an empty chart"
        served = {s["filter_index"] for s in answer["series"]}
        assert served == set(range(len(panel["values"]))), (
            f"panel {panel['title']!r}: some of its lines have no data"
        )
        for series in answer["series"]:
            points = [v for v in series["values"] if v is not None]
            assert points, f"panel {panel['title']!r}: series {series['params']} has no point"
            assert len(answer["sources"]) >= len(points)
        if panel["plot_params"]["plot_type"] == "counter":
            latest = figures[figures.figure == "drifted_input_share"].sort_values("as_of")
            assert answer["series"][0]["values"][-1] == pytest.approx(latest["value"].iloc[-1])
    grades = next(p for p in panels if p["title"] == "Grade mix")
    answer = panel_series(ui, ui.project_id, grades)
    assert len(answer["series"]) == 5
    assert len(answer["sources"]) == MONTHS


def test_writes_need_the_secret_and_reads_do_not(ui):
    new_project = {"name": "written-over-http"}
    assert status_of(ui, "POST", "/api/v2/projects", new_project, {}) == 403
    wrong = {SECRET_HEADER: ui.secret + "x"}
    assert status_of(ui, "POST", "/api/v2/projects", new_project, wrong) == 403
    assert status_of(ui, "DELETE", f"/api/v2/projects/{ui.project_id}", None, {}) == 403
    assert status_of(ui, "GET", "/api/projects", None, {}) == 200  # reads are open

    from evidently.ui.workspace import RemoteWorkspace

    anonymous = RemoteWorkspace(ui.url)
    with pytest.raises(EvidentlyError, match="Not enough permissions"):  # Evidently's 403
        anonymous.create_project("written-without-secret")
    figures = figures_table(months=1)
    snapshot = month_snapshot(figures, figures["as_of"].iloc[0])
    with pytest.raises(EvidentlyError, match="Not enough permissions"):
        anonymous.add_run(ui.project_id, snapshot)

    writer = RemoteWorkspace(ui.url, secret=ui.secret)
    project = writer.create_project("written-with-secret")
    writer.add_run(project.id, snapshot)
    names = [p["name"] for p in api(ui, "/api/projects")]
    assert "written-with-secret" in names
    assert "written-without-secret" not in names
    answer = api(
        ui,
        f"/api/v2/snapshots/{project.id}/data_series_batch",
        {
            "series_filter": [
                {
                    "tags": [],
                    "metadata": {},
                    "metric": "evidently:metric_v2:MonitoringFigure",
                    "metric_labels": {"figure": "oe_ratio"},
                }
            ]
        },
    )
    assert len(answer["series"]) == 1 and answer["series"][0]["values"][0] is not None


def chromium() -> str:
    path = os.environ.get("EWS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"no Chromium at {path}: run the project's setup (it installs Debian's chromium; "
            "or point EWS_CHROMIUM at one) - the dashboard test needs a real browser",
            pytrace=False,
        )
    return path


def run_chromium(ui: RunningUi, output: str) -> subprocess.CompletedProcess:
    profile = ui.workdir / f"chromium-profile-{time.monotonic_ns()}"
    profile.mkdir()
    command = [
        chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        output,
        f"{ui.url}/projects/{ui.project_id}",
    ]
    return subprocess.run(command, capture_output=True, timeout=180, check=False)


def test_chromium_renders_every_panel(ui):
    dom_run = run_chromium(ui, "--dump-dom")
    dom = dom_run.stdout.decode("utf-8", "replace")
    artifacts = artifacts_dir()
    (artifacts / "evidently-dashboard.dom.html").write_text(dom)
    assert dom_run.returncode == 0, dom_run.stderr.decode()[-2000:]

    # Cut the page at each panel title (panels render in dashboard order).
    starts = []
    for panel in DASHBOARD_PANELS:
        found = dom.find(f">{html.escape(panel.title, quote=False)}<")
        assert found >= 0, f"panel {panel.title!r} is not on the rendered page"
        starts.append(found)
    assert starts == sorted(starts)
    for panel, begin, end in zip(DASHBOARD_PANELS, starts, [*starts[1:], len(dom)], strict=True):
        part = dom[begin:end]
        if panel.kind == "line":
            lines = len(re.findall(r'class="MuiLineElement-root', part))
            marks = len(re.findall(r'class="MuiMarkElement-root', part))
            assert lines >= len(panel.series), f"{panel.title!r}: {lines} lines drawn"
            assert marks >= 1, f"{panel.title!r}: no point drawn"
            assert "<svg" in part
        elif panel.kind == "counter":
            latest = figures_table(months=MONTHS).query("figure == 'drifted_input_share'")
            shown = str(round(latest.sort_values("as_of")["value"].iloc[-1], 2))  # as the JS
            assert f">{shown}<" in part, f"the counter does not show {shown}"
            assert "no value" not in part
        else:
            assert html.escape(panel.description[:40], quote=False) in part

    png = artifacts / "evidently-dashboard.png"
    png.unlink(missing_ok=True)
    shot = run_chromium(ui, f"--screenshot={png}")
    assert shot.returncode == 0 and png.exists(), shot.stderr.decode()[-2000:]
    from matplotlib import image

    pixels = image.imread(png)[..., :3]
    assert pixels.shape[:2] == (3000, 1600)
    colour = pixels.max(axis=2) - pixels.min(axis=2)  # chart lines are coloured, text grey
    assert (colour > 0.3).sum() > 2000, "the screenshot shows no coloured chart lines"


def test_a_month_published_while_the_ui_runs_shows_up_once(ui):
    """The monitoring run publishes into the directory the UI serves (Evidently's watchdog
    picks files up): a new project and its months appear, a re-published month is not
    doubled. (The watcher fix itself: tests/monitoring/test_ui.py.)"""
    ws = open_workspace(ui.workdir / "workspace")
    project = ensure_project(ws, name="published-live")
    figures = figures_table(months=3)
    publish_figures(ws, project, figures.iloc[: len(figures) // 2])
    publish_figures(ws, project, figures)  # re-publishes the first months, adds the rest
    panel = {"values": [{"tags": [], "metadata": {}, "metric": FIGURE_METRIC,
                         "metric_labels": {"figure": "pd_psi", "segment": "book"}}]}  # fmt: skip
    deadline, answer = time.monotonic() + 30, None
    while True:
        with contextlib.suppress(urllib.error.HTTPError):
            answer = panel_series(ui, str(project.id), panel)
            if len(answer["sources"]) == 3 and len(answer["series"]) == 1:
                break
        assert time.monotonic() < deadline, f"the UI never showed the 3 months: {answer}"
        time.sleep(0.5)
    time.sleep(2)  # let any late file event land, then check nothing doubled
    answer = panel_series(ui, str(project.id), panel)
    assert [s["timestamp"][:10] for s in answer["sources"]] == [
        "2025-01-31", "2025-02-28", "2025-03-31",
    ]  # fmt: skip
    expected = figures.query("figure == 'pd_psi' and segment == 'book'")["value"].tolist()
    assert answer["series"][0]["values"] == pytest.approx(expected)
