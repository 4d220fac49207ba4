"""The real CLI in a subprocess, over a config written for loopback sites."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ingest.cli import main


def write_config(tmp_path: Path, sources: list[tuple[str, str]], every: str = "15m", db_url: str | None = None) -> Path:
    src = "".join(f'[[sources]]\nname = "{n}"\nurl = "{u}"\nevery = "{every}"\n\n' for n, u in sources)
    db = db_url or "sqlite:///ingest.db"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{db}"\n\n[fetch]\nallow_private_networks = true\ntimeout = 10\n\n{src}'
        '[[watchlists]]\nname = "csto"\nterms = ["CSTO", "Collective Security Treaty Organization"]\n\n'
        '[[watchlists]]\nname = "article-2"\nterms = ["Article 2"]\n',
        encoding="utf-8",
    )
    return path


def ingest(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "ingest", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"ingest {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def items(config: Path, *args: str) -> list[dict]:
    return json.loads(ingest(config, "query", "--format", "json", *args).stdout or "[]")


def sources_config(tmp_path: Path, sources: str = "", db_url: str = "sqlite:///ingest.db", fetch: str = "") -> Path:
    """A config with comments and layout of its own (for the edits that must keep them), in feed-only mode."""
    path = tmp_path / "config.toml"
    path.write_text(f'# my sources\n[database]\nurl = "{db_url}"\n\n[fetch]\nallow_private_networks = true\n'
                    f'timeout = 10\nprocesses = 0\npages = false\n{fetch}\n{sources}'
                    '[[watchlists]]  # kept as written\nname = "csto"\nterms = ["CSTO"]\n', encoding="utf-8")
    return path


def invoke(config: Path, *args: str):
    """The CLI in this process (click's runner): faster than a subprocess where exit codes and output suffice."""
    return CliRunner().invoke(main, ["--config", str(config), *args])
