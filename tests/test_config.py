"""Config loading: the shipped example, and one-line errors naming file and key."""

from pathlib import Path

import pytest

from ingest import config
from ingest.config import ConfigError, parse_duration

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_config_loads():
    cfg = config.load(REPO / "config.toml")
    assert [w.name for w in cfg.watchlists] == ["csto", "article-2"]
    assert cfg.sources[0].name == "azatutyun-en" and cfg.sources[0].every == 900
    assert cfg.database_url == f"sqlite:///{REPO / 'ingest.db'}"
    assert cfg.settings.fetch.allow_private_networks is False


def test_defaults_for_an_empty_file(tmp_path):
    cfg = config.load(write(tmp_path, ""))
    assert cfg.sources == () and cfg.watchlists == ()
    assert cfg.database_url == f"sqlite:///{tmp_path.resolve() / 'ingest.db'}"
    assert cfg.settings.fetch.timeout == 30 and cfg.settings.pages is True


def test_env_var_names_the_default_config(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_CONFIG", str(write(tmp_path, '[fetch]\ntimeout = 5\n')))
    assert config.load().settings.fetch.timeout == 5


@pytest.mark.parametrize(
    "body, expected",
    [
        ("[fetch]\ntimout = 5\n", "unknown key 'fetch.timout'"),
        ("[fetch]\ntimeout = 'soon'\n", "'fetch.timeout' must be of type"),
        ("[fetch]\nallow_private_networks = 1\n", "'fetch.allow_private_networks' must be of type bool"),
        ("[fetch]\nmax_bytes = true\n", "'fetch.max_bytes' must be of type int"),
        ("[fetch]\ntimeout = -1\n", "fetch.timeout must not be negative"),
        ("[fetch]\nnear_duplicate_candidates = 0\n", "fetch.near_duplicate_candidates must be at least 1, got 0"),
        ("[fetch]\nworker_tasks = 'many'\n", "'fetch.worker_tasks' must be of type int"),
        ("[database]\nurl = 5\n", "'database.url' must be of type str"),
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("[[sources]]\nname = 'a'\n", "'sources[0].url' is required"),
        ("[[sources]]\nname = 'a'\nurl = 'ftp://x/feed'\n", "must be an http(s) URL"),
        ("[[sources]]\nname = 'a'\nurl = 'https://x/feed'\nevery = 'often'\n", "source 'a': every: expected a duration"),
        ("[[sources]]\nname = 'a'\nurl = 'https://x/a'\n[[sources]]\nname = 'a'\nurl = 'https://x/b'\n",
         "two sources are named 'a'"),
        ("[[sources]]\nname = 'a'\nurl = 'https://x/a'\nextra = 1\n", "unknown key 'sources[0].extra'"),
        ("[[watchlists]]\nname = 'w'\nterms = 5\n", "w"),
        ("sources = 'x'\n", "'sources' must be an array of tables"),
        ("[fetch\n", "invalid TOML"),
    ],
)
def test_errors_are_one_line_naming_file_and_key(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


RULE = "names must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}"


@pytest.mark.parametrize("kind, name", [
    ("watchlist", "../escape"), ("watchlist", "a/b"), ("watchlist", "-opt"), ("watchlist", "x" * 65),
    ("source", ".hidden"), ("source", "with space"), ("source", "ctl\x1b[2J"), ("source", "Ереван"),
    ("source", "nl\n"),
])
def test_names_are_identifiers(tmp_path, kind, name):
    table = ("[[watchlists]]\nterms = ['x']\n" if kind == "watchlist" else "[[sources]]\nurl = 'https://x/feed'\n")
    path = write(tmp_path, table + f"name = {config._toml_str(name)}\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert f"{kind} name {name!r} is not an identifier" in message and RULE in message
    assert str(path) in message and "\n" not in message and "\x1b" not in message


def test_identifier_names_load(tmp_path):
    names = ["a", "A.b_c-9", "0day", "x" * 64]
    body = "".join(f"[[sources]]\nname = '{n}'\nurl = 'https://x/{n}'\n[[watchlists]]\nname = '{n}'\nterms = ['t']\n"
                   for n in names)
    cfg = config.load(write(tmp_path, body))
    assert [s.name for s in cfg.sources] == [w.name for w in cfg.watchlists] == names


def test_shipped_deploy_configs_load():
    for path in (REPO / "config.toml", REPO / "deploy" / "config.postgres.toml"):
        assert config.load(path).sources


def test_bad_every_names_the_source_and_auto(tmp_path):
    path = write(tmp_path, "[[sources]]\nname = 'world'\nurl = 'https://x/feed'\nevery = 'hourly'\n")
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert "source 'world': every" in str(err.value) and '"auto"' in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


@pytest.mark.parametrize("value, seconds", [(90, 90), ("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400),
                                            ("1.5h", 5400), ("1w", 604800)])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "m", "5x", "-5m", 0, True])
def test_bad_durations(value):
    with pytest.raises(ConfigError):
        parse_duration(value)


@pytest.mark.parametrize("atom, database, expected", [
    ("ingest.db", "sqlite:///ingest.db", "ingest.db' is the database file"),
    ("./data/../ingest.db-wal", "sqlite:///ingest.db", "is the database file"),
    ("/abs/store.db", "sqlite:////abs/store.db", "is the database file"),
    ("c.toml", "sqlite:///ingest.db", "c.toml' is the config file"),
    ("feeds", "sqlite:///ingest.db", "feeds' is a folder; name a file in it"),
    ("feeds/../same.xml", "sqlite:///ingest.db", "same.xml' is the 'atom' file "
                                                 "of another watchlist"),
])
def test_atom_paths_may_not_replace_the_database_the_config_a_folder_or_another_feed(tmp_path, atom, database,
                                                                                       expected):
    (tmp_path / "feeds").mkdir()
    body = (f'[database]\nurl = "{database}"\n'
            '[[watchlists]]\nname = "first"\nterms = ["x"]\natom = "same.xml"\n'
            f'[[watchlists]]\nname = "second"\nterms = ["y"]\natom = "{atom}"\n')
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert str(err.value).startswith(f"{path}: watchlist 'second': ") and expected in str(err.value)


def test_atom_paths_in_other_places_load(tmp_path):
    body = ('[[watchlists]]\nname = "first"\nterms = ["x"]\natom = "feeds/first.xml"\n'
            '[[watchlists]]\nname = "second"\nterms = ["y"]\natom = "second.xml"\n')
    cfg = config.load(write(tmp_path, body))
    assert [o.atom for o in cfg.outputs.values()] == [tmp_path / "feeds" / "first.xml", tmp_path / "second.xml"]


def test_readme_config_shows_the_defaults(tmp_path):
    """The README's configuration block sets every default as it is (retention: off unless set)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Configuration", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    shown, default = config.loads(block, tmp_path / "c.toml"), config.loads("", tmp_path / "c.toml")
    assert shown.retention == default.retention and shown.retention.keep is None
    assert (shown.settings, shown.database_url, shown.listen) == (default.settings, default.database_url, default.listen)
