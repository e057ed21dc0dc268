"""The `dailypapers` command."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path

import click
from rich.console import Console

from .config import SECRETS, SETTINGS, Config

console = Console(stderr=True)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", help="Database path or URL (env DAILYPAPERS_DB; default dailypapers.db).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="A TOML settings file.")
@click.version_option(package_name="dailypapers")
@click.pass_context
def main(ctx: click.Context, db: str | None, config_file: str | None) -> None:
    """dailypapers: trending arXiv papers, feeds and a Hugging Face-compatible API, self-hosted."""
    try:
        ctx.obj = Config({"db": db}, file=config_file)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None


def _store(config: Config):
    from .store import Store

    try:
        return Store(config.db)
    except Exception as exc:  # a path we cannot create, a URL we cannot reach, a file that is not a database
        raise click.ClickException(f"cannot open database {config.db!r}: {exc}") from None


# -- serving ------------------------------------------------------------------------------------------


def _serve(config: Config, host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    host = host or config.host
    port = port or config.port
    workers = workers or config.workers
    os.environ["DAILYPAPERS_DB"] = config.db  # worker processes rebuild the config from the environment
    if config.index_dir:
        os.environ["DAILYPAPERS_INDEX_DIR"] = config.index_dir
    os.environ.setdefault("DAILYPAPERS_PUBLIC_URL", config.public_url or f"http://{host}:{port}")
    if config.digest_schedule:
        _start_digest_schedule(config)
    console.print(f"Serving {config.db} on [bold]http://{host}:{port}[/] (Ctrl-C to stop)")
    uvicorn.run("dailypapers.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)  # fmt: skip


def _start_digest_schedule(config: Config) -> None:
    """Digests sent from this process (not from the web workers), at the configured time."""
    from . import digest
    from .digest.schedule import Scheduler
    from .search import Search

    def send(frequency: str) -> None:
        store = _store(config)
        try:
            search = Search(store, config.index_dir or None, encoder=None)
            runs, report = digest.send(store, search, config, digest.parse_periods(frequency, store.latest_day()))
            console.print(f"{frequency} digests: {sum(r.queued for r in runs):,} queued, {report.sent:,} mails sent, "
                          f"{report.failed:,} failed")  # fmt: skip
        finally:
            store.close()

    try:
        scheduler = Scheduler(config, send)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    scheduler.start()
    console.print(f"Digests go out at {config.digest_time} ({config.digest_timezone}): daily on weekdays, "
                  f"weekly on {config.digest_weekday.capitalize()}s")  # fmt: skip


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 1).")
@click.pass_obj
def serve(config: Config, host, port, workers) -> None:
    """Serve an existing database: web pages, JSON API, RSS/Atom feeds."""
    if "://" not in config.db and not Path(config.db).exists():
        raise click.ClickException(f"no database at {config.db}; create one with `dailypapers ingest ...` or `dailypapers demo`")
    from .ingest.runner import refresh_index_with_progress
    from .search import Search

    store = _store(config)  # migrates it if needed, before workers start
    refresh_index_with_progress(Search(store, config.index_dir or None), console)  # e.g. after an upgrade
    store.close()
    _serve(config, host, port, workers)


DEMO_SAMPLE = "demo_sample.jsonl.gz"


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 1).")
@click.option("--no-serve", is_flag=True, help="Only build the demo database.")
@click.pass_obj
def demo(config: Config, host, port, workers, no_serve) -> None:
    """Build a database from the bundled sample of real Daily Papers (if missing), then serve it."""
    from .ingest import hf_daily
    from .ingest.runner import Runner, refresh_index_with_progress
    from .search import Search

    store = _store(config)
    if store.count_papers() == 0:
        with resources.as_file(resources.files("dailypapers.data") / DEMO_SAMPLE) as sample:
            console.print(f"Building {config.db} from the bundled sample")
            runner = Runner(store, "hf-daily", f"demo|{DEMO_SAMPLE}", console=console, index_dir=config.index_dir)
            report = runner.run(hf_daily.read_file(sample), refresh_index=False)  # once, below, with the vectors
            report.print(console)
        encoder = _import_demo_vectors(store)
        refresh_index_with_progress(Search(store, config.index_dir or None, encoder=encoder), console)
    store.close()
    if not no_serve:
        _serve(config, host, port, workers)


def _import_demo_vectors(store):
    """The sample's precomputed embeddings, so semantic search works without a long `embed` first.
    Returns the model's encoder, or None when it is not installed."""
    from .search.embed import import_vectors, model_key
    from .search.encoder import Encoder, ModelUnavailable

    try:
        encoder = Encoder.load()
    except ModelUnavailable as exc:
        console.print(f"[yellow]Semantic search is off:[/] {exc}")
        return None
    with resources.as_file(resources.files("dailypapers.data") / DEMO_VECTORS) as vectors:
        count = import_vectors(store, model_key(encoder), vectors)
    console.print(f"{count:,} bundled embeddings loaded" + ("" if count else ": run `dailypapers embed` for semantic search"))
    return encoder


DEMO_VECTORS = "demo_vectors.npz"


# -- ingesting ----------------------------------------------------------------------------------------


@main.group()
@click.option("--embed", is_flag=True, help="Then embed the new and changed papers, as `dailypapers embed` does.")
@click.pass_context
def ingest(ctx, embed: bool) -> None:
    """Import papers from Hugging Face Daily Papers or arXiv (idempotent, resumable)."""
    ctx.meta["dailypapers.embed"] = embed


def _run_file(config: Config, source: str, module, path: Path) -> None:
    from .ingest.files import file_key, file_size
    from .ingest.runner import Runner

    store = _store(config)
    runner = Runner(store, source, file_key(path), console=console, index_dir=config.index_dir)
    start = (runner.resume_state() or {}).get("position", 0)
    if start:
        console.print(f"Resuming {path.name} after record {start:,}")
    _finish(runner, module.read_file(path, start=start), f"{path.name} ({file_size(path) / 1e6:.1f} MB)")


def _finish(runner, items, what: str) -> None:
    from .ingest.blocks import UnreadableFile
    from .ingest.http import FetchError

    console.print(f"Ingesting {what}")
    try:
        report = runner.run(items)
    except (FetchError, UnreadableFile) as exc:
        raise click.ClickException(
            f"{exc} (after {runner.report.read:,} records; what was committed is kept: rerun to resume)"
        ) from None
    except KeyboardInterrupt:
        console.print(f"[yellow]Interrupted[/] after {runner.report.read:,} records; run the same command again to resume.")
        sys.exit(130)
    report.print(console)
    if click.get_current_context().meta.get("dailypapers.embed"):
        _embed(runner.store, runner.index_dir)


@ingest.command("hf-daily")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", "day", help="Fetch this day's papers from the live API (YYYY-MM-DD).")
@click.option("--since", help="Fetch every day from this one (YYYY-MM-DD) to --until.")
@click.option("--until", help="Last day for --since (default: today, UTC).")
@click.option("--base-url", help="Hugging Face base URL (default https://huggingface.co).")
@click.pass_obj
def ingest_hf_daily(config: Config, files, day, since, until, base_url) -> None:
    """Hugging Face /api/daily_papers JSON: FILES (a JSON list per day, or JSON lines; .gz is fine), or live.

    A file's featured day is each item's `daily_date`, else a YYYY-MM-DD in the file name, else the
    paper's `submittedOnDailyAt`.
    """
    from .ingest import hf_daily
    from .ingest.http import PoliteClient
    from .ingest.runner import Runner

    if files and (day or since):
        raise click.UsageError("give FILES or --date/--since, not both")
    if not files and not (day or since):
        raise click.UsageError("give FILES, --date DAY or --since DAY")
    for path in files:
        _run_file(config, "hf-daily", hf_daily, path)
    if not files:
        today = datetime.now(timezone.utc).date()
        first = _day(day or since, "--date" if day else "--since")
        last = first if day else (_day(until, "--until") or today)
        if last < first:
            raise click.BadParameter("must not be before --since", param_hint="--until")
        if first > today:
            raise click.BadParameter(f"{first} is in the future", param_hint="--date/--since")
        days = hf_daily.days_between(first, last)
        base = base_url or config.hf_base_url
        store = _store(config)
        runner = Runner(store, "hf-daily", f"{base}|{first}|{last}", console=console, index_dir=config.index_dir)
        start = (runner.resume_state() or {}).get("position", 0)
        client = PoliteClient(min_interval=config.hf_min_interval, max_retries=config.http_retries, log=console.print)
        _finish(runner, hf_daily.fetch_days(client, base, days, start), f"{len(days)} day(s) from {base}")


@ingest.command("arxiv-snapshot")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def ingest_arxiv_snapshot(config: Config, file: Path) -> None:
    """The arXiv bulk metadata snapshot (JSON lines, plain or .gz), streamed in constant memory."""
    from .ingest import arxiv_snapshot

    _run_file(config, "arxiv-snapshot", arxiv_snapshot, file)


@ingest.command("arxiv-oai")
@click.option("--set", "set_spec", default="cs", show_default=True, help="OAI-PMH set, e.g. cs, math, physics:hep-th.")
@click.option("--from", "from_day", required=True, help="First datestamp to harvest (YYYY-MM-DD).")
@click.option("--until", "until_day", help="Last datestamp to harvest (YYYY-MM-DD).")
@click.option("--base-url", help="OAI-PMH endpoint (default https://oaipmh.arxiv.org/oai).")
@click.pass_obj
def ingest_arxiv_oai(config: Config, set_spec, from_day, until_day, base_url) -> None:
    """arXiv OAI-PMH ListRecords (metadataPrefix arXiv): follows resumption tokens, one request per 3 s,
    honours 503 + Retry-After, and resumes an interrupted harvest from its last token."""
    from .ingest import arxiv_oai
    from .ingest.http import PoliteClient
    from .ingest.runner import Runner

    first, last = _day(from_day, "--from"), _day(until_day, "--until")
    if last and last < first:
        raise click.BadParameter("must not be before --from", param_hint="--until")
    base = base_url or config.oai_base_url
    store = _store(config)
    runner = Runner(store, "arxiv-oai", f"{base}|{set_spec}|{first}|{last or ''}", console=console,
                    index_dir=config.index_dir)  # fmt: skip
    client = PoliteClient(min_interval=config.arxiv_min_interval, max_retries=config.http_retries, log=console.print)
    items = arxiv_oai.harvest(client, base, set_spec=set_spec, from_day=first, until_day=last,
                              resume=runner.resume_state(), log=console.print)  # fmt: skip
    _finish(runner, items, f"set {set_spec} from {first} at {base}")


# -- the rest -----------------------------------------------------------------------------------------


@main.command()
@click.pass_obj
def index(config: Config) -> None:
    """Bring the keyword index up to date with the catalog (ingest does this itself)."""
    from .ingest.runner import refresh_index_with_progress
    from .search import Search

    try:
        indexed = refresh_index_with_progress(Search(_store(config), config.index_dir or None), console)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]; what was indexed is kept: run `dailypapers index` again to finish.")
        sys.exit(130)
    console.print(f"{indexed:,} papers indexed")


@main.command()
@click.option("--batch", type=click.IntRange(1, 10_000), default=256, show_default=True, help="Papers per committed batch.")
@click.pass_obj
def embed(config: Config, batch: int) -> None:
    """Embed papers whose title or abstract is new or changed (for semantic search and related papers),
    then update the vector index. Resumable: rerun after Ctrl-C to continue."""
    _embed(_store(config), config.index_dir or None, batch)


def _embed(store, index_dir: str | None, batch: int = 256) -> None:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .search import Search
    from .search.embed import embed_pending, model_key
    from .search.encoder import Encoder, ModelUnavailable

    try:
        encoder = Encoder.load()
    except ModelUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    pending = store.count_to_embed(model_key(encoder))
    progress = Progress(TextColumn("[bold]embed"), BarColumn(), TaskProgressColumn(), TextColumn("{task.completed:,.0f} papers"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console)  # fmt: skip
    try:
        with progress:
            task = progress.add_task("embed", total=pending)
            embedded = embed_pending(store, encoder, batch=batch, progress=lambda n: progress.advance(task, n))
        search = Search(store, index_dir, encoder=encoder)
        indexed = search.vectors.refresh(store)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]; what was embedded is kept: run `dailypapers embed` again to finish.")
        sys.exit(130)
    console.print(f"{embedded:,} papers embedded with {model_key(encoder)}; {indexed:,} vectors indexed "
                  f"({len(search.vectors):,} in all)")  # fmt: skip


@main.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 120), default=10, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid", show_default=True,
              help="Words (lexical), meaning (semantic), or both fused.")
@click.pass_obj
def search(config: Config, query: str, limit: int, mode: str) -> None:
    """Search titles, authors and abstracts by words and meaning (search syntax: see the README)."""
    if len(query) > 250:
        raise click.BadParameter("at most 250 characters", param_hint="QUERY")
    from .search import Search

    engine = Search(_store(config), config.index_dir or None, query_budget=config.query_embed_timeout)
    if mode != "lexical":
        engine.load_model()
    found = engine.find(query, mode=mode, limit=limit)
    if found.note:
        console.print(f"[yellow]{found.note}[/]")
    for paper in found.papers:
        why = found.why.get(paper["pk"], {})
        score = f"{why['semantic_score']:.2f}" if "semantic_score" in why else "    "
        click.echo(f"{paper['id']:>16}  {paper['upvotes']:>4}▲  {score}  {paper['title']}")


@main.command("eval")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True, help="Which qrels/<split>.tsv to score.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["lexical", "semantic", "hybrid"]),
              help="Modes to score (repeatable; default all three).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=Path.home() / ".cache" / "dailypapers",
              show_default=True, help="Where the corpus's embeddings are kept between runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def evaluate(folder: Path, split: str, modes: tuple[str, ...], cache: Path, as_json: bool) -> None:
    """Score search on a BEIR-format FOLDER (corpus.jsonl, queries.jsonl, qrels/): nDCG@10, Recall@100,
    MRR@10 for each search mode, and for a reference BM25 (bm25s) on the same data in the same run."""
    import json

    from rich.progress import Progress
    from rich.table import Table

    from .search.evaluate import MODES
    from .search.evaluate import evaluate as run_evaluation

    modes = modes or MODES
    encoder = None
    if set(modes) & {"semantic", "hybrid"}:
        from .search.encoder import Encoder, ModelUnavailable

        try:
            encoder = Encoder.load()
        except ModelUnavailable as exc:
            raise click.ClickException(f"{exc} (or score only --mode lexical)") from None
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("embedding the corpus", total=None)
            results = run_evaluation(folder, split, modes, encoder, cache, lambda n: progress.advance(task, n))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise click.ClickException(f"cannot read {folder} as a BEIR folder: {exc}") from None
    if as_json:
        click.echo(json.dumps(results))
        return
    table = Table("mode", "nDCG@10", "Recall@100", "MRR@10", title=f"{folder.name} ({split})")
    for mode, figures in results.items():
        if figures is None:
            table.add_row(mode, "bm25s not installed", "", "")
        else:
            table.add_row(mode, *(f"{figures[k]:.4f}" for k in ("ndcg@10", "recall@100", "mrr@10")))
    Console().print(table)


@main.command()
@click.pass_obj
def stats(config: Config) -> None:
    """What the database holds."""
    for key, value in _store(config).stats().items():
        click.echo(f"{key:>16}: {value}")


@main.command()
@click.pass_obj
def settings(config: Config) -> None:
    """Every setting, its value, where the value came from, and what it does."""
    for setting in SETTINGS:
        value = config.values[setting.name]
        shown = "(hidden)" if setting.name in SECRETS and value else repr(value)
        click.echo(f"{setting.name} = {shown}  [{config.sources[setting.name]}]")
        click.echo(f"    {setting.help}  (env {setting.env})")


from .digest.commands import digest as _digest_commands  # noqa: E402  (registered here, written beside the digests)

main.add_command(_digest_commands)


@main.group()
def users() -> None:
    """Accounts: create the first administrator, or any account, from the command line."""


@users.command("create")
@click.argument("username")
@click.option("--email", required=True, help="The account's email address.")
@click.option("--admin", "role", flag_value="admin", help="An administrator (attaches organizations, moderates).")
@click.option("--moderator", "role", flag_value="moderator", help="A moderator (hides comments).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
@click.pass_obj
def users_create(config: Config, username: str, email: str, role: str | None, password_stdin: bool) -> None:
    """Create an account (asks for its password)."""
    from . import accounts
    from .store.accounts import UserExists

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        name = accounts.check_username(username)
        user = _store(config).create_user(name, accounts.check_account_email(email),
                                          accounts.hash_password(accounts.check_password(password, name)), role or "user")  # fmt: skip
    except (accounts.InvalidAccount, UserExists) as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"created {user['role']} {user['username']} <{user['email']}>")


@users.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(["user", "moderator", "admin"]))
@click.pass_obj
def users_role(config: Config, username: str, role: str) -> None:
    """Make an account a moderator or an administrator (or a plain user again)."""
    if not _store(config).set_role(username.strip().lower(), role):
        raise click.ClickException(f"no account named {username!r}")
    console.print(f"{username.strip().lower()} is now {'an' if role == 'admin' else 'a'} {role}")
