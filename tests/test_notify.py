"""Notify targets through Apprise: a real SMTP server (aiosmtpd) and a JSON receiver on 127.0.0.1."""

from __future__ import annotations

import email
import json
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from ingest import config, messages
from ingest.alerts import Alerts, Sender
from ingest.channels import Notifier, refusal
from ingest.config import Digest, FetchSettings, Outputs, Target, Webhook
from ingest.storage.outbox import Alert
from ingest.storage.store import Store
from ingest.storage.tables import AlertRow, DeliveryRow, ItemRow
from tests.helpers.items import T0, add_item, run_on_separate_stores
from tests.helpers.polling import polling
from tests.helpers.servers import LocalServer, answers

LOOPBACK = FetchSettings(allow_private_networks=True, timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """An SMTP server's handler: refuses the first `failures` messages with 451, keeps the rest."""

    def __init__(self) -> None:
        self.failures = 0
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        with self.lock:
            if self.failures:
                self.failures -= 1
                return "451 try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def mail_target(box: Mailbox, **kw) -> Target:
    url = f"mailto://127.0.0.1:{box.port}?from=ingest@example.org&to=desk@example.org&mode=insecure"
    return Target(kw.pop("name", "desk"), url, **kw)


def json_target(server: LocalServer, **kw) -> Target:
    return Target(kw.pop("name", "chat"), f"json://127.0.0.1:{server.port}/hook", **kw)


def deliveries(store: Store) -> list[DeliveryRow]:
    with Session(store.engine) as s:
        return list(s.exec(select(DeliveryRow).order_by(DeliveryRow.id)).all())


def json_titles(server: LocalServer) -> list[str]:
    return [json.loads(r.body)["title"] for r in server.requests]


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


# -- delivery ------------------------------------------------------------------------------

def test_each_alert_reaches_mail_and_json_once_through_failures_and_a_restart(store, smtp, db_url):
    smtp.failures = 2
    plan = [500, 503]
    with LocalServer() as chat:
        chat.route("/hook", handler=answers(plan))
        targets = (mail_target(smtp), json_target(chat))
        outputs = {"csto": Outputs(notify=targets)}
        notifier = Notifier(store, outputs, LOOPBACK)
        assert notifier.run(T0) == 0
        ids = [add_item(store, f"The CSTO met in city {i}.", url=f"https://e.org/{i}", at=T0) for i in range(3)]
        now = T0 + timedelta(seconds=1)
        assert notifier.run(now) == 0  # 451 from the mail server, 500 from the receiver
        now += timedelta(hours=2)
        assert notifier.run(now) == 0  # 451, 503
        failing = deliveries(store)
        assert len(failing) == 6 and all(d.state == "pending" for d in failing)
        assert {d.last_error.split(":")[0] for d in failing if d.last_error} == {"desk", "chat"}
        chat_port = chat.port
    now += timedelta(hours=2)
    assert notifier.run(now) == 3  # the mail goes; nobody listens for JSON
    first_chat = next(d for d in deliveries(store) if d.target == "chat")
    assert first_chat.last_error.startswith("chat: ") and first_chat.state == "pending"

    with LocalServer() as again:  # the receiver back (elsewhere), and a new sender on the same database
        again.route("/hook", handler=answers([]))
        restarted = Store(db_url)
        try:
            moved = (targets[0], replace(targets[1], url=targets[1].url.replace(str(chat_port), str(again.port))))
            sender = Notifier(restarted, {"csto": Outputs(notify=moved)}, LOOPBACK)
            for _ in range(10):
                now += timedelta(hours=2)
                sender.run(now)
            assert sender.run(now + timedelta(days=1)) == 0  # nothing is sent twice
        finally:
            restarted.close()
        titles = json_titles(again)
    expected = [f"[csto] Title https://e.org/{i}" for i in range(3)]
    assert sorted(titles) == expected  # exactly once each at the receiver that answered 2xx
    assert sorted(m["Subject"] for m in smtp.messages) == expected
    rows = deliveries(store)
    assert all(d.state == "sent" for d in rows) and sorted({d.alert_id for d in rows}) == sorted(
        a.id for a in _alerts(store) if a.item_id in ids)


def _alerts(store: Store) -> list[AlertRow]:
    with Session(store.engine) as s:
        return list(s.exec(select(AlertRow)).all())


def test_a_new_target_gets_the_last_hours_alerts_not_the_history(store):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        add_item(store, "CSTO old.", url="https://e.org/old", at=T0 - timedelta(hours=2))
        add_item(store, "CSTO recent.", url="https://e.org/recent", at=T0 - timedelta(minutes=10))
        assert Notifier(store, {"csto": Outputs(notify=(json_target(chat),))}, LOOPBACK).run(T0) == 1
        assert json_titles(chat) == ["[csto] Title https://e.org/recent"]


def test_the_pipeline_queues_alerts_for_a_watchlist_with_only_notify_targets(tmp_path, db_url):
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
            '<item><title>Summit</title><link>http://127.0.0.1/1</link><guid>1</guid>'
            '<description>The CSTO summit opened.</description></item></channel></rss>')
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        lists = f'[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\nnotify = ["json://127.0.0.1:{chat.port}/hook"]\n'
        with polling(tmp_path, db_url, "pages = false", lists) as (srv, store, pipeline):
            srv.route("/feed.xml", feed, headers={"Content-Type": "application/rss+xml"})
            assert pipeline.poll(config.Source("s", srv.url("/feed.xml"))).flagged == 1
            notifier = Notifier(store, pipeline.config.outputs, LOOPBACK)
            assert notifier.run() == 1 and notifier.run() == 0
        (request,) = chat.requests
    assert json.loads(request.body)["title"] == "[csto] Summit"


def test_the_daemons_alert_job_runs_the_notifier(store):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        job = Alerts(store, {"csto": Outputs(notify=(json_target(chat),))}, LOOPBACK, "https://ingest.example.org")
        assert job.active
        add_item(store, "CSTO.", url="https://e.org/1", at=datetime.now(timezone.utc))
        job.tick()
        (request,) = chat.requests
    assert "https://ingest.example.org/items/" in json.loads(request.body)["message"]


def test_concurrent_notifiers_send_each_delivery_once(store, db_url):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        outputs = {"csto": Outputs(notify=(json_target(chat),))}
        Notifier(store, outputs, LOOPBACK).run(T0)
        for i in range(8):
            add_item(store, f"CSTO {i}.", url=f"https://e.org/{i}")
        run_on_separate_stores(db_url, lambda s: Notifier(s, outputs, LOOPBACK).run(T0 + timedelta(seconds=1)))
        titles = json_titles(chat)
    assert len(titles) == 8 and len(set(titles)) == 8
    assert all(d.state == "sent" and d.attempts == 1 for d in deliveries(store))


# -- safety -----------------------------------------------------------------------------------

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> CSTO & "friends"'


def test_a_hostile_title_cannot_inject_markup_into_html_mail(store, smtp):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        notifier = Notifier(store, {"csto": Outputs(notify=(mail_target(smtp), json_target(chat)))}, LOOPBACK,
                            public_url="https://ingest.example.org")
        notifier.run(T0)
        item = add_item(store, f"Snippet {HOSTILE}.", url="https://e.org/1", title=HOSTILE)
        assert notifier.run(T0 + timedelta(seconds=1)) == 2
        (request,) = chat.requests
    (mail,) = smtp.messages
    html = html_part(mail)
    assert "<script" not in html and "<img" not in html and "onerror=alert(2)>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&amp;" in html
    assert "<mark>CSTO</mark>" in html  # the term highlighted, by our own markup only
    assert f'<a href="https://ingest.example.org/items/{item}">' in html
    assert mail["Subject"] == f"[csto] {HOSTILE}"  # a header is text: nothing to interpret
    body = json.loads(request.body)
    assert body["title"] == f"[csto] {HOSTILE}" and HOSTILE.replace("CSTO", "[[CSTO]]") in body["message"]
    assert f"https://ingest.example.org/items/{item}" in body["message"]


def test_template_renders_snippet_runs_and_outlets():
    item = ItemRow(id=7, title="A\nsplit  title", url="https://e.org/1", source="a", site_name="Outlet <b>")
    alert = Alert(AlertRow(key="k", watchlist="w", story_id=7, created_at=T0, next_attempt=T0), item,
                  ("x [[CSTO]] y [[ODKB]]",), (item,))
    text = messages.render("w", [alert], "json")
    assert text.title == "[w] A split title" and not text.html
    assert "x [[CSTO]] y [[ODKB]]" in text.body and "Outlets: Outlet <b>" in text.body
    html = messages.render("w", [alert], "mailto")
    assert html.html and "x <mark>CSTO</mark> y <mark>ODKB</mark>" in html.body and "Outlet &lt;b&gt;" in html.body
    assert messages.runs("[[a]] b") == [("a", True), (" b", False)]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.1", "192.168.1.1", "169.254.169.254", "[::1]",
                                  "::ffff:127.0.0.1", "0.0.0.0"])
def test_private_hosts_are_refused_unless_allowed(host):
    assert "non-public address" in refusal(host, allow_private=False)
    assert refusal(host, allow_private=True) is None


def test_a_hosted_services_token_is_not_taken_for_a_host():
    assert refusal("123456789", False) is None  # Telegram's bot id
    assert refusal("T1JJ3T3L2", False) is None  # a Slack token: no such DNS name
    assert refusal("", False) is None  # ntfy.sh's cloud mode has no host


def test_a_target_on_a_private_address_is_refused_before_anything_is_sent(store, smtp):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        outputs = {"csto": Outputs(notify=(mail_target(smtp), json_target(chat)))}
        refused = Notifier(store, outputs, FetchSettings(timeout=5))
        refused.run(T0)
        add_item(store, "CSTO.", url="https://e.org/1")
        assert refused.run(T0 + timedelta(seconds=1)) == 0
        assert chat.requests == [] and smtp.messages == []
        assert all("non-public address (127.0.0.1)" in d.last_error and d.state == "pending" for d in deliveries(store))
        assert Notifier(store, outputs, LOOPBACK).run(T0 + timedelta(days=1)) == 2  # allowed: delivered
        assert len(chat.requests) == 1 and len(smtp.messages) == 1


def test_secrets_from_the_environment_never_reach_errors_or_logs(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SMTP_PASSWORD", "pw-secret-9876")
    port = free_port()  # nobody listens
    path = tmp_path / "c.toml"
    path.write_text('[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n'
                    f'notify = [{{name = "desk", url = "mailto://user:${{SMTP_PASSWORD}}@127.0.0.1:{port}'
                    '?to=desk@example.org&from=i@example.org"}]\n', encoding="utf-8")
    cfg = config.load(path)
    (target,) = cfg.outputs["csto"].notify
    assert "pw-secret-9876" in target.url and "pw-secret-9876" not in repr(cfg)
    notifier = Notifier(store, cfg.outputs, LOOPBACK)
    notifier.run(T0)
    add_item(store, "CSTO.", url="https://e.org/1")
    assert notifier.run(T0 + timedelta(seconds=1)) == 0
    (row,) = deliveries(store)
    logged = "".join(capsys.readouterr())
    assert row.last_error and "notify_failed" in logged
    assert "pw-secret-9876" not in row.last_error + logged
    assert target.scrub("x pw-secret-9876 y") == "x *** y"
    assert replace(target, secrets=("p w/1",)).scrub("a p%20w%2F1 b p w/1") == "a *** b ***"  # URL-encoded too


# -- holds: digests, mute, quiet hours ----------------------------------------------------------

def test_an_hourly_digest_holds_every_alert_of_its_window_once(store):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        notifier = Notifier(store, {"csto": Outputs(notify=(json_target(chat, digest=Digest(every=3600)),))},
                            LOOPBACK)
        notifier.run(T0 - timedelta(minutes=1))
        for minutes in (0, 10, 50):
            add_item(store, f"CSTO at {minutes}.", url=f"https://e.org/{minutes}", at=T0 + timedelta(minutes=minutes))
        assert notifier.run(T0 + timedelta(minutes=30)) == 0
        assert notifier.run(T0 + timedelta(minutes=59)) == 0
        assert notifier.run(T0 + timedelta(minutes=61)) == 1
        add_item(store, "CSTO later.", url="https://e.org/70", at=T0 + timedelta(minutes=70))
        assert notifier.run(T0 + timedelta(minutes=125)) == 0  # the alert of minute 70 has not waited an hour
        assert notifier.run(T0 + timedelta(minutes=131)) == 1
        assert notifier.run(T0 + timedelta(hours=5)) == 0
        first, second = (json.loads(r.body) for r in chat.requests)
    assert first["title"] == "[csto] 3 new alerts" and second["title"] == "[csto] 1 new alert"
    for minutes in (0, 10, 50):
        assert first["message"].count(f"CSTO]] at {minutes}.") == 1
    assert "CSTO]] later." in second["message"] and "at 0." not in second["message"]


def test_a_daily_digest_goes_at_the_local_time(store):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        daily = json_target(chat, digest=Digest(at=time(8, 0)), zone="Asia/Yerevan")  # UTC+4: 04:00 UTC
        notifier = Notifier(store, {"csto": Outputs(notify=(daily,))}, LOOPBACK)
        notifier.run(T0)
        add_item(store, "CSTO one.", url="https://e.org/1", at=T0 + timedelta(hours=1))  # 13:00 UTC
        add_item(store, "CSTO two.", url="https://e.org/2", at=T0 + timedelta(hours=10))  # 22:00 UTC
        assert notifier.run(datetime(2026, 1, 2, 3, 59, tzinfo=timezone.utc)) == 0
        assert notifier.run(datetime(2026, 1, 2, 4, 1, tzinfo=timezone.utc)) == 1
        assert notifier.run(datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)) == 0
        (request,) = chat.requests
    assert json.loads(request.body)["title"] == "[csto] 2 new alerts"


def test_mute_holds_every_channel_and_releases_after(store):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        chat.route("/webhook", handler=answers([]))
        outputs = {"csto": Outputs(webhook=Webhook(chat.url("/webhook")), notify=(json_target(chat),),
                                   mute_until=T0 + timedelta(hours=1))}
        notifier, webhook = Notifier(store, outputs, LOOPBACK), Sender(store, outputs, LOOPBACK)
        notifier.run(T0 - timedelta(minutes=1))
        add_item(store, "CSTO.", url="https://e.org/1")
        at = T0 + timedelta(minutes=30)
        assert notifier.run(at) == 0 and webhook.run(at) == 0 and chat.requests == []
        at = T0 + timedelta(minutes=61)
        assert notifier.run(at) == 1 and webhook.run(at) == 1
        assert sorted(r.path for r in chat.requests) == ["/hook", "/webhook"]


def test_quiet_hours_hold_messages_until_they_end(store):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        night = json_target(chat, quiet=(time(22, 0), time(7, 0)), zone="UTC")
        notifier = Notifier(store, {"csto": Outputs(notify=(night,))}, LOOPBACK)
        evening = datetime(2026, 1, 1, 23, 0, tzinfo=timezone.utc)
        notifier.run(evening)
        add_item(store, "CSTO one.", url="https://e.org/1", at=evening)
        add_item(store, "CSTO two.", url="https://e.org/2", at=evening + timedelta(hours=2))
        assert notifier.run(evening + timedelta(minutes=30)) == 0
        assert notifier.run(evening + timedelta(hours=7, minutes=59)) == 0  # 06:59
        assert notifier.run(evening + timedelta(hours=8, minutes=1)) == 2  # 07:01: both, once each
        assert notifier.run(evening + timedelta(hours=9)) == 0
        assert len(chat.requests) == 2


# -- config and CLI -------------------------------------------------------------------------------

def test_notify_config_expands_the_environment_and_names_bad_values(tmp_path, monkeypatch):
    monkeypatch.setenv("NTFY_TOKEN", "tk-1")
    base = '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n'
    path = tmp_path / "c.toml"
    path.write_text(base + 'mute_until = 2026-12-24T08:00:00Z\nnotify = ["ntfy://ntfy.example/csto?token=${NTFY_TOKEN}", '
                    '{name = "desk", url = "mailto://smtp.example?to=a@example.org", digest = "08:00", '
                    'timezone = "Europe/Paris", quiet = "22:00-07:00"}]\n[web]\npublic_url = "https://ingest.example.org/"\n',
                    encoding="utf-8")
    cfg = config.load(path)
    out = cfg.outputs["csto"]
    ntfy, desk = out.notify
    assert ntfy.url == "ntfy://ntfy.example/csto?token=tk-1" and ntfy.name.startswith("ntfy-") and ntfy.secrets == ("tk-1",)
    assert desk.digest == Digest(at=time(8, 0)) and desk.zone == "Europe/Paris" and desk.quiet == (time(22), time(7))
    assert out.mute_until == datetime(2026, 12, 24, 8, tzinfo=timezone.utc) and out.sends
    assert cfg.public_url == "https://ingest.example.org" and "tk-1" not in repr(cfg)
    assert config.load(path).outputs["csto"].notify[0].name == ntfy.name  # stable
    for extra, message in [
        ('notify = ["json://x/${NOT_SET_ANYWHERE}"]', "NOT_SET_ANYWHERE is not set"),
        ('notify = [{url = "json://x", digest = "soon"}]', "'notify[0].digest': expected an interval"),
        ('notify = [{url = "json://x", timezone = "Mars/Base"}]', "unknown time zone 'Mars/Base'"),
        ('notify = [{url = "json://x", quiet = "22:00"}]', "'notify[0].quiet': expected 'HH:MM-HH:MM'"),
        ('notify = [{url = "json://x", tone = "loud"}]', "unknown key 'notify[0].tone'"),
        ('notify = ["json://a", {url = "json://b", name = "json-x"}, {url = "json://c", name = "json-x"}]',
         "two notify targets are named 'json-x'"),
        ('notify = ["not a url"]', "must be an Apprise URL"),
        ('mute_until = "tomorrow"\nnotify = ["json://x"]', "'mute_until' must be a date and time"),
    ]:
        path.write_text(base + extra + "\n", encoding="utf-8")
        with pytest.raises(config.ConfigError) as err:
            config.load(path)
        assert str(err.value).startswith(f"{path}: watchlist 'csto': ") and message in str(err.value), str(err.value)


def ingest(cfg, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", "--config", str(cfg), *args], capture_output=True,
                          text=True, timeout=60)


def test_alerts_command_lists_retries_and_tests(tmp_path, smtp):
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([500]))
        cfg = tmp_path / "config.toml"
        cfg.write_text('[database]\nurl = "sqlite:///ingest.db"\n[fetch]\nallow_private_networks = true\n'
                       '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n'
                       f'notify = [{{name = "chat", url = "json://127.0.0.1:{chat.port}/hook"}}, '
                       f'{{name = "desk", url = "mailto://127.0.0.1:{smtp.port}?from=i@example.org&to=d@example.org'
                       '&mode=insecure"}]\n', encoding="utf-8")
        assert ingest(cfg, "alerts").stdout == "no alerts yet\n"
        loaded = config.load(cfg)
        store = Store(loaded.database_url)
        try:
            notifier = Notifier(store, loaded.outputs, loaded.settings.fetch)
            notifier.run(T0)
            add_item(store, "CSTO.", url="https://e.org/1")
            assert notifier.run(T0 + timedelta(seconds=1)) == 1  # the mail; the JSON receiver answers 500
        finally:
            store.close()
        listed = ingest(cfg, "alerts")
        assert listed.returncode == 0
        lines = listed.stdout.splitlines()
        assert len(lines) == 2 and all(line.endswith("Title https://e.org/1") for line in lines)
        failing = next(line for line in lines if "-> chat" in line)
        assert failing.split()[1] == "failing" and "error=500" in failing
        assert "delivered" in next(line for line in lines if "-> desk" in line)
        ident = failing.split()[0]
        retried = ingest(cfg, "alerts", "retry", ident)
        assert retried.returncode == 0 and retried.stdout.startswith(f"{ident}: due now")
        delivered = next(line for line in lines if "-> desk" in line).split()[0]
        assert ingest(cfg, "alerts", "retry", delivered).returncode == 1
        unknown = ingest(cfg, "alerts", "retry", "n999")
        assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
        tested = ingest(cfg, "alerts", "test", "csto")
        assert tested.returncode == 0 and tested.stdout == "chat: sent\ndesk: sent\n", tested.stderr
        assert json.loads(chat.requests[-1].body)["title"].startswith("[csto] Sample alert")
        assert smtp.messages[-1]["Subject"].startswith("[csto] Sample alert")
        assert ingest(cfg, "alerts", "test", "nato").returncode == 2


# -- template folders -----------------------------------------------------------------------------

def template_folder(tmp_path, **files: str):
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return folder


def test_a_template_folder_replaces_title_and_text_body_and_mail_falls_back_to_the_default_html(
        store, smtp, tmp_path):
    folder = template_folder(tmp_path, title_txt="ALERT {{ watchlist | upper }}: {{ alerts[0].title }}",
                             body_txt="{% for a in alerts %}* {{ a.title }} <{{ a.url }}> via "
                                      "{{ a.outlets | map(attribute='name') | join('+') }}\n{% endfor %}")
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        targets = (json_target(chat, template=folder), mail_target(smtp, template=folder))
        notifier = Notifier(store, {"csto": Outputs(notify=targets)}, LOOPBACK)
        notifier.run(T0)
        add_item(store, "The CSTO met.", url="https://e.org/1", title="Summit")
        assert notifier.run(T0 + timedelta(seconds=1)) == 2
        (request,) = chat.requests
    body = json.loads(request.body)
    assert body["title"] == "ALERT CSTO: Summit" and body["message"].strip() == "* Summit <https://e.org/1> via Site a"
    (mail,) = smtp.messages
    assert mail["Subject"] == "ALERT CSTO: Summit"  # the folder's title for every channel
    html = html_part(mail)
    assert "Watchlist <strong>csto</strong>" in html and "<mark>CSTO</mark>" in html  # the packaged body.html


def test_a_custom_html_template_still_escapes_hostile_titles(store, smtp, tmp_path):
    folder = template_folder(tmp_path, body_html="<ul>{% for a in alerts %}<li title=\"{{ a.title }}\">{{ a.title }}"
                                                 "{% for s in a.snippets %}{% for text, marked in s %}"
                                                 "{% if marked %}<b>{{ text }}</b>{% else %}{{ text }}{% endif %}"
                                                 "{% endfor %}{% endfor %}</li>{% endfor %}</ul>")
    notifier = Notifier(store, {"csto": Outputs(notify=(mail_target(smtp, template=folder),))}, LOOPBACK)
    notifier.run(T0)
    add_item(store, f"Snippet {HOSTILE}.", url="https://e.org/1", title=HOSTILE)
    assert notifier.run(T0 + timedelta(seconds=1)) == 1
    html = html_part(smtp.messages[0])
    assert html.startswith("<ul><li title=") and "<b>CSTO</b>" in html  # the folder's markup
    assert "<script" not in html and "<img" not in html and '"friends"' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&#34;friends&#34;" in html


@pytest.mark.parametrize("template, message", [
    ("{{ alerts[0].title }} {{ no_such_name }}", "chat: template body.txt line 2: 'no_such_name' is undefined"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}",
     "chat: template body.txt line 2: access to attribute '__class__' of 'str' object is unsafe."),
])
def test_a_template_failing_at_render_fails_its_delivery_only(store, smtp, tmp_path, template, message):
    folder = template_folder(tmp_path, body_txt="{{ watchlist }}\n" + template)
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        targets = (json_target(chat, template=folder), mail_target(smtp))
        notifier = Notifier(store, {"csto": Outputs(notify=targets)}, LOOPBACK)
        notifier.run(T0)
        add_item(store, "The CSTO met.", url="https://e.org/1")
        assert notifier.run(T0 + timedelta(seconds=1)) == 1  # the mail; the chat's template failed
        assert notifier.run(T0 + timedelta(hours=5)) == 0  # retried with backoff, failing again
        assert chat.requests == []
        assert [(o.target, o.error) for o in notifier.test("csto", T0)] == [("chat", message), ("desk", None)]
    assert [m["Subject"] for m in smtp.messages] == ["[csto] Title https://e.org/1", "[csto] Sample alert from "
                                                     "ingest for watchlist csto"]
    chat_row, desk_row = sorted(deliveries(store), key=lambda d: d.target)
    assert desk_row.state == "sent"
    assert chat_row.state == "pending" and chat_row.attempts == 2 and chat_row.last_error == message
    assert "<class" not in chat_row.last_error  # nothing of Python's internals reached the error


def test_template_folders_are_checked_when_the_config_loads(tmp_path):
    base = '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\nnotify = ["json://a", {url = "json://b", template = "%s"}]\n'
    path = tmp_path / "config.toml"
    folder = template_folder(tmp_path, title_txt="[{{ watchlist }}]")
    path.write_text(base % "templates", encoding="utf-8")
    assert config.load(path).outputs["csto"].notify[1].template == folder.resolve()  # relative to the config
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for value, files, expected in [
        ("nowhere", {}, "'nowhere' is missing"),
        ("file.txt", {}, "'file.txt' is not a folder"),
        ("empty", {}, "holds none of title.txt, body.txt, body.html"),
        ("templates", {"body.html": "<p>\n{{ watchlist }}\n{% if digest }}</p>"}, "body.html line 3: unexpected '}'"),
        ("templates", {"body.html": "ok", "body.txt": "{% for a in alerts %}"},
         "body.txt line 1: Unexpected end of template."),
    ]:
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        path.write_text(base % value, encoding="utf-8")
        with pytest.raises(config.ConfigError) as err:
            config.load(path)
        line = str(err.value)
        assert line.startswith(f"{path}: watchlist 'csto': 'notify[1].template': ") and expected in line, line
        assert "\n" not in line


def test_alerts_test_sends_the_targets_templates(tmp_path):
    template_folder(tmp_path, title_txt="Custom {{ watchlist }}", body_txt="{{ alerts | length }} sample\n")
    with LocalServer() as chat:
        chat.route("/hook", handler=answers([]))
        cfg = tmp_path / "config.toml"
        cfg.write_text('[database]\nurl = "sqlite:///ingest.db"\n[fetch]\nallow_private_networks = true\n'
                       '[[watchlists]]\nname = "csto"\nterms = ["CSTO"]\n'
                       f'notify = [{{name = "chat", url = "json://127.0.0.1:{chat.port}/hook", template = "templates"}}]\n',
                       encoding="utf-8")
        tested = ingest(cfg, "alerts", "test", "csto")
        assert tested.returncode == 0 and tested.stdout == "chat: sent\n", tested.stderr
        (request,) = chat.requests
    assert json.loads(request.body)["title"] == "Custom csto" and json.loads(request.body)["message"].strip() == "1 sample"
