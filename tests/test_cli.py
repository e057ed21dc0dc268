"""The command line: help everywhere, clear errors, settings."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import on_sqlite_only

from dailypapers.cli import main

COMMANDS = [[], ["serve"], ["demo"], ["ingest"], ["ingest", "hf-daily"], ["ingest", "arxiv-snapshot"],
            ["ingest", "arxiv-oai"], ["index"], ["search"], ["eval"], ["stats"], ["settings"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output.splitlines()) > 3


@on_sqlite_only
def test_serve_refuses_a_missing_database(tmp_path):
    result = CliRunner().invoke(main, ["--db", str(tmp_path / "nope.db"), "serve"])
    assert result.exit_code == 1 and "no database" in result.output


@on_sqlite_only
def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello, I am not SQLite" * 100)
    result = CliRunner().invoke(main, ["--db", str(bogus), "stats"])
    assert result.exit_code == 1 and "cannot open database" in result.output
    assert bogus.read_text().startswith("hello")  # untouched


def test_settings_show_value_and_source(tmp_path, monkeypatch):
    config = tmp_path / "dp.toml"
    config.write_text('site_name = "lab papers"\nport = 9000\n')
    monkeypatch.setenv("DAILYPAPERS_PORT", "9100")
    result = CliRunner().invoke(main, ["--config", str(config), "settings"])
    assert result.exit_code == 0
    assert "site_name = 'lab papers'" in result.output and "port = 9100  [DAILYPAPERS_PORT]" in result.output
    config.write_text('colour = "blue"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "settings"])
    assert result.exit_code == 2 and "unknown settings" in result.output
    monkeypatch.setenv("DAILYPAPERS_PORT", "eighty")
    assert CliRunner().invoke(main, ["settings"]).exit_code == 2


def test_search_command(demo_db):
    result = CliRunner().invoke(main, ["--db", str(demo_db), "search", "diffusion video", "--limit", "3", "--mode", "lexical"])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3
    assert all("diffusion" in line.lower() or "video" in line.lower() for line in result.stdout.splitlines())
    assert CliRunner().invoke(main, ["--db", str(demo_db), "search", "x" * 1001]).exit_code == 2


def test_migrations_match_the_schema(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from dailypapers.store import Store
    from dailypapers.store.schema import metadata

    store = Store(tmp_path / "m.db")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # Alembic does not compare an index's WHERE clause: the partial indexes are checked here.
        indexes = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'").all())
        for column in ("submitter", "organization"):
            assert indexes[f"ix_papers_{column}"].endswith(f"WHERE {column} IS NOT NULL")
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN SELECT id FROM papers WHERE {column} = 'x'").all()
            assert f"ix_papers_{column}" in str(plan)


def test_ci_runs_the_readme_test_command_verbatim():
    """The README opens with exactly two commands (install and run the demo; install and run the
    tests), and .ci/run runs the second one as it is written."""
    root = Path(__file__).resolve().parents[1]
    opening = re.match(r"# dailypapers\n\n```sh\n(.+)\n```\n```sh\n(.+)\n```\n", (root / "README.md").read_text())
    assert opening, "the README must open with the two set-up commands"
    demo, tests = opening.groups()
    assert demo.endswith("dailypapers demo") and tests.endswith("python -m pytest")
    assert tests in (root / ".ci" / "run").read_text().splitlines()
