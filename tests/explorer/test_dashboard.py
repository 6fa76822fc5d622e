"""The Ray dashboard of a running `explorer search`: the way in, the job by its name, trials by their ids.

One search runs for the whole module (a subprocess on a private local Ray with token authentication); the
tests look at it while it runs, then check how it ended. The browser test drives headless Chromium through
Playwright and is skipped where either is missing (Debian: `apt-get install chromium`; `pip install playwright`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest

SPACE = """
name: dash
dataset: synthetic
model: tiny
data: {train_subset: 128, test_subset: 64}
training: {epochs: 12, batch_size: 16}  # long enough in all for 1 s heartbeats while trials run
eval: {adv_samples: 16, steps: 2}
mechanisms: [[wm]]
wm: {trigger_size: 16}
seeds: 3
baselines: false
search: {max_concurrent: 1}
"""

pytestmark = pytest.mark.ray  # a live search on a local Ray, with its dashboard


@dataclass
class LiveSearch:
    proc: subprocess.Popen
    out: Path
    token: str
    lines: list[str] = field(default_factory=list)
    url: str = ""

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            if self.proc.poll() is not None and not any(re.search(pattern, line) for line in self.lines):
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.lines[-30:]))

    def get(self, path: str, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=30) as r:
            return json.loads(r.read().decode())


@pytest.fixture(scope="module")
def search(tmp_path_factory: pytest.TempPathFactory, kill_ray) -> Iterator[LiveSearch]:  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="db", dir="/tmp"))
    token = secrets.token_hex(16)
    env = dict(os.environ, RAY_TMPDIR=str(root), RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token",
               RAY_AUTH_TOKEN=token)
    tmp = tmp_path_factory.mktemp("dash")
    (tmp / "space.yaml").write_text(SPACE)
    proc = subprocess.Popen([sys.executable, "-m", "explorer.cli", "search", str(tmp / "space.yaml"), "--out",
                             str(tmp / "out"), "--num-cpus", "2", "--progress-every", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    live = LiveSearch(proc, tmp / "out", token)
    reader = threading.Thread(target=lambda: live.lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        live.url = live.wait_for(r"\[explorer\] Ray dashboard: (http://\S+) ").group(1)
        yield live
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        kill_ray(root)
        shutil.rmtree(root, ignore_errors=True)


def _job_name(search: LiveSearch) -> str:
    return f"explorer search dash -> {search.out}"


def test_the_dashboard_shows_the_named_job_in_a_browser_with_the_token(search: LiveSearch, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.goto(search.url + "/#/jobs")
            page.get_by_placeholder("Enter your authentication token").fill(search.token)  # Ray's login dialog
            page.get_by_role("button", name="Submit").click()
            job = page.get_by_text(_job_name(search)).first
            job.wait_for(timeout=60_000)
            assert job.is_visible()  # in the Jobs table the browser renders, not only in the page's data
            assert page.get_by_placeholder("Enter your authentication token").count() == 0  # the token let us in
            row = page.locator("tr", has_text=_job_name(search)).first
            assert row.is_visible() and " search " in row.inner_text()  # its row names the search's entrypoint
            shot = Path(os.environ.get("EXPLORER_SCREENSHOTS", tmp_path)) / "dashboard-jobs.png"
            page.screenshot(path=str(shot))  # kept for a person to look at (EXPLORER_SCREENSHOTS)
        finally:
            browser.close()


def test_the_job_api_lists_the_job_by_name_and_the_trials_by_id(search: LiveSearch) -> None:
    login = search.wait_for(r"\[explorer\] dashboard login: (.*)").group(1)
    assert login == "log in with the token that is in $RAY_AUTH_TOKEN; `ray get-auth-token` prints it"
    with pytest.raises(urllib.error.HTTPError) as refused:
        search.get("/api/jobs/")
    assert refused.value.code == 401
    jobs = search.get("/api/jobs/", search.token)
    ours = [j for j in jobs if (j.get("metadata") or {}).get("job_name") == _job_name(search)]
    assert len(ours) == 1 and " search " in ours[0]["entrypoint"], jobs
    deadline, reprs = time.monotonic() + 120, set()
    while time.monotonic() < deadline and not reprs:
        actors = search.get("/api/v0/actors?detail=1&limit=100", search.token)["data"]["result"]["result"]
        reprs = {a["repr_name"] for a in actors if a["class_name"] == "ImplicitFunc" and a.get("repr_name")}
        time.sleep(1)
    assert reprs and all(re.fullmatch(r"trial [0-9a-f]+_\d{5}", r) for r in reprs), reprs


def test_the_search_ends_with_rows_heartbeats_and_no_checkpoints(search: LiveSearch) -> None:
    assert search.proc.wait(timeout=900) == 0, "\n".join(search.lines[-30:])
    rows = pd.read_parquet(search.out / "rows")
    assert len(rows) == 3 and (rows["status"] == "ok").all()
    ids = set(rows["trial_id"])
    heartbeats = [line for line in search.lines if " | running: " in line]
    # A fast machine may run all 12 epochs between two heartbeats, so a running trial shows as starting or at
    # an epoch (test_progress checks the epoch text itself).
    assert heartbeats and all(re.search(r"running: \w+_\d{5} (starting|epoch \d+/12)", line) for line in heartbeats), \
        heartbeats[-5:]
    assert {m.group(1) for line in heartbeats for m in re.finditer(r"(\w+_\d{5}) (?:epoch|starting)", line)} <= ids
    assert not list((search.out / "ray").rglob("checkpoint_*"))  # finished trials keep no checkpoint
