"""SIGTERM on a busy daemon: in-flight polls finish (bounded by the fetch deadline), queued ones are dropped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.helpers.servers import LocalServer, stall

SOURCES = 30  # more than the daemon's poll threads ([fetch] concurrent_sources): most polls are queued at SIGTERM
TIMEOUT = 3  # seconds: every poll hangs this long on a server that never answers


def test_sigterm_does_not_run_the_backlog(tmp_path):
    with LocalServer() as srv:
        for n in range(SOURCES):
            srv.route(f"/{n}.xml", handler=stall(srv.closing))
        sources = "".join(f'[[sources]]\nname = "s{n}"\nurl = "{srv.url(f"/{n}.xml")}"\nevery = "1h"\n\n'
                          for n in range(SOURCES))
        config = tmp_path / "config.toml"
        config.write_text(f"[fetch]\nallow_private_networks = true\ntimeout = {TIMEOUT}\n\n{sources}")
        log = open(tmp_path / "daemon.log", "w+")
        daemon = subprocess.Popen([sys.executable, "-m", "ingest", "--config", str(config), "run"],
                                  stdout=log, stderr=log)
        try:
            time.sleep(6.5)  # every first poll has fired (they are spread over 5 s): 3 running, the rest queued
            daemon.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = daemon.wait(timeout=60)
            took = time.monotonic() - started
        finally:
            daemon.kill()
    log.seek(0)
    output = log.read()
    assert code == 0, output
    # Running the backlog would take about (30 / 8) * 3 s; in-flight polls alone end within one deadline.
    assert took < 2 * TIMEOUT, f"took {took:.1f} s to stop"
    assert "daemon_stopped" in output
    # A dropped poll is not an error: no traceback per queued poll (APScheduler's callback on a cancelled future).
    assert "Traceback" not in output and "CancelledError" not in output, output
