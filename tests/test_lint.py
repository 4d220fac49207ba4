"""The lint configuration in pyproject.toml ([tool.ruff]) holds for the whole repository."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.paths import REPO


def test_ruff_is_clean():
    pytest.importorskip("ruff", reason="ruff not installed (extra `test`)")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "ingest", "tests", "bench"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
