"""`ingest demo`: offline, on the bundled site served from 127.0.0.1, through the real fetch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import ingest, items


def demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", "demo", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_demo_serves_the_bundled_site_and_stores_its_articles(tmp_path):
    out = demo("--dir", str(tmp_path / "d"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "town: 2 new, 0 duplicate, 0 failed, 1 flagged" in out.stdout
    assert "nature: 1 new, 0 duplicate, 0 failed, 0 flagged" in out.stdout
    config = tmp_path / "d" / "config.toml"
    assert f"--config {config} query --watchlist flooding" in out.stdout  # what to try next
    stored = {i["title"]: i for i in items(config)}
    assert len(stored) == 3
    assert stored["Council Approves Flood Barrier for the Old Harbour"]["watchlists"] == ["flooding"]
    flagged = ingest(config, "show", str(stored["Council Approves Flood Barrier for the Old Harbour"]["id"])).stdout
    assert "Sandbags along the harbour wall" in flagged and "Most read" not in flagged  # the page, cleaned
    assert "Traceback" not in out.stderr


def test_demo_without_a_folder_makes_a_temporary_one(tmp_path):
    out = demo(env={**os.environ, "TMPDIR": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr
    [made] = list(tmp_path.glob("ingest-demo-*"))
    assert (made / "demo.db").exists() and str(Path(made)) in out.stdout
