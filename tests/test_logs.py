"""Every line on stderr is one event: libraries' stdlib-logging warnings included."""

from __future__ import annotations

import json
import logging

from ingest import logs


def test_a_library_warning_is_one_json_event_with_its_logger_and_traceback(capsys):
    logs.configure("info", json=True)
    logging.getLogger("apscheduler.scheduler").warning('Run time of job "%s" was missed', "beat")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("psycopg.pool").exception("connection failed")
    logging.getLogger("apscheduler.scheduler").info("Added job")  # below WARNING: libraries' chatter stays out
    lines = capsys.readouterr().err.splitlines()
    events = [json.loads(line) for line in lines]  # each line parses: no bare text, no multi-line traceback
    assert [(e["event"], e["logger"], e["level"]) for e in events] == [
        ("library_log", "apscheduler.scheduler", "warning"), ("library_log", "psycopg.pool", "error")]
    assert events[0]["message"] == 'Run time of job "beat" was missed'
    assert "ValueError: boom" in events[1]["error"]


def test_configuring_twice_does_not_double_the_lines(capsys):
    logs.configure("info", json=True)
    logs.configure("warning", json=True)
    logging.getLogger("somelib").warning("once")
    assert len(capsys.readouterr().err.splitlines()) == 1
