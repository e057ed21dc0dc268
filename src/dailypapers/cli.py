"""The `dailypapers` command."""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import click
from rich.console import Console

from .cli_common import console, open_store, parse_day
from .config import SECRETS, SETTINGS, WILDCARD_HOSTS, Config, as_toml

SETTING_NAMES = {s.name for s in SETTINGS}


class _Commands(click.Group):
    """Every command: a database that cannot store anything now (disk full, failing storage, locked too
    long: store/errors.py) ends it with one line and exit status 1, not a traceback quoting the SQL with
    its rows. What was committed stays committed, so the same command run again resumes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from .store.errors import storage_unavailable

            problem = storage_unavailable(exc)
            if problem is None:
                raise
            raise click.ClickException(problem.command_message) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", help="Database path or URL (env DAILYPAPERS_DB; default dailypapers.db).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), help="A TOML settings file.")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="Any setting of `dailypapers settings` (repeatable), e.g. --set site_name='Lab papers'.")
@click.version_option(package_name="dailypapers")
@click.pass_context
def main(ctx: click.Context, db: str | None, config_file: str | None, assignments: tuple[str, ...]) -> None:
    """dailypapers: trending arXiv papers, feeds and a Hugging Face-compatible API, self-hosted."""
    overrides = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or name.strip() not in SETTING_NAMES:
            raise click.BadParameter(f"{assignment!r} is not NAME=VALUE with a NAME of `dailypapers settings`", param_hint="--set")
        overrides[name.strip()] = value
    try:
        ctx.obj = Config({**overrides, "db": db or overrides.get("db")}, file=config_file)
    except (ValueError, OSError) as exc:
        raise click.UsageError(str(exc)) from None


# -- serving ------------------------------------------------------------------------------------------


def _serve(config: Config) -> None:
    import uvicorn

    from .web.server import server_options
    from .web.metrics import worker_metrics_folder

    log_config = _configure_logging(config)  # first: before the digest and sync schedules, whose messages go to the log too
    worker_metrics_folder()  # before the workers start: each counts its requests there, /metrics adds them up
    if config.host in WILDCARD_HOSTS and not config.public_url:
        console.print(f"[yellow]Warning:[/] listening on every address without public_url: links in feeds and mails "
                      f"will say {config.site_url}. Set public_url to the address readers use.")  # fmt: skip
    os.environ.update(config.environment())  # worker processes rebuild the same configuration from it
    if config.digest_schedule:
        _start_digest_schedule(config)
    if config.sync_schedule:
        _start_sync_schedule(config)
    console.print(f"Serving {config.db} on [bold]http://{config.host}:{config.port}[/] as {config.site_url} (Ctrl-C to stop)")
    uvicorn.run("dailypapers.cli:_worker_app", factory=True, host=config.host, port=config.port, workers=config.workers,
                **server_options(config),
                log_config=log_config, access_log=False)  # fmt: skip


def _worker_app():
    """The site, built in each of uvicorn's worker processes (or in this one, with one worker). A worker
    ends with the server's process: after a `kill -9` of `serve` it would otherwise go on serving the
    port, so that the next `serve` finds it taken. SIGTERM: uvicorn's graceful shutdown."""
    import multiprocessing
    import signal

    from .web.app import create_app

    parent = multiprocessing.parent_process()  # None in the server's own process
    if parent is not None:
        from .processes import end_with_parent

        end_with_parent(parent.pid, signal.SIGTERM)
    return create_app()


def _configure_logging(config: Config) -> dict:
    """Logging from log_level and log_format (see logs.py); the configuration, for uvicorn's workers. uvicorn's
    own access log stays off: web/metrics.py writes one with each request's duration."""
    from . import logs

    try:
        return logs.configure(config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _check_port_free(host: str, port: int) -> None:
    """One clear line, rather than uvicorn's log and traceback, when another program has the port."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.ClickException(f"port {port} on {host} is already in use: stop what uses it, or choose "
                                           f"another with --port") from None  # fmt: skip
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _start_sync_schedule(config: Config) -> None:
    """Sync rounds from this process (not from the web workers), every sync_schedule."""
    import threading

    from .ingest.sync import run_on_schedule, schedule_seconds

    try:
        interval = schedule_seconds(config.sync_schedule)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    threading.Thread(target=run_on_schedule, args=(config, interval, threading.Event()), daemon=True, name="sync").start()
    console.print(f"A sync round runs every {config.sync_schedule}")


def _start_digest_schedule(config: Config) -> None:
    """Digests sent from this process (not from the web workers), at the configured time."""
    from . import digest
    from .digest.schedule import Scheduler
    from .search import Search

    def send(frequency: str) -> None:
        store = open_store(config)
        try:
            search = Search(store, config.index_dir or None, encoder=None)
            runs, report = digest.send(store, search, config, digest.parse_periods(frequency, store.latest_day()))
            logging.getLogger("dailypapers.digest").info("%s digests: %d queued, %d mails sent, %d failed", frequency,
                                                         sum(r.queued for r in runs), report.sent, report.failed)  # fmt: skip
        finally:
            store.close()

    try:
        scheduler = Scheduler(config, send)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    scheduler.start()
    console.print(f"Digests go out at {config.digest_time} ({config.digest_timezone}): daily on weekdays, "
                  f"weekly on {config.digest_weekday.capitalize()}s")  # fmt: skip


def _server_options(command):
    """--host, --port, --workers and --forwarded-allow-ips: the settings of the same names, for this run."""
    for option in reversed((
        click.option("--host", help="Address to listen on (default 127.0.0.1; 0.0.0.0: every address)."),
        click.option("--port", type=int, help="Port to listen on (default 8000)."),
        click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 1)."),
        click.option("--forwarded-allow-ips", help="Reverse proxies whose X-Forwarded-For is believed, e.g. 127.0.0.1."),
    )):  # fmt: skip
        command = option(command)
    return command


@main.command()
@_server_options
@click.pass_obj
def serve(config: Config, **options) -> None:
    """Serve an existing database: web pages, JSON API, RSS/Atom feeds."""
    config = config.with_overrides(**options)
    _check_port_free(config.host, config.port)
    if "://" not in config.db and not Path(config.db).exists():
        raise click.ClickException(f"no database at {config.db}; create one with `dailypapers ingest ...` or `dailypapers demo`")
    _serving = serving_lock(config.db)  # noqa: F841  (held until this process ends: `restore` checks it)
    from .ingest.runner import refresh_index_with_progress
    from .search import Search

    store = open_store(config)  # migrates it if needed, before workers start
    refresh_index_with_progress(Search(store, config.index_dir or None), console)  # e.g. after an upgrade
    store.close()
    _serve(config)


@main.command()
@_server_options
@click.option("--no-serve", is_flag=True, help="Only build the demo database.")
@click.pass_obj
def demo(config: Config, no_serve: bool, **options) -> None:
    """Build a database from the bundled sample of real Daily Papers (if missing), then serve it."""
    config = config.with_overrides(**options)
    if not no_serve:
        _check_port_free(config.host, config.port)
    from .ingest import demo as sample
    from .ingest.runner import refresh_index_with_progress
    from .search import Search

    store = open_store(config)
    if store.count_papers() == 0:
        console.print(f"Building {config.db} from the bundled sample")
        loaded = sample.load(store, console, index_dir=config.index_dir)  # the index once, below, with the vectors
        for report in (loaded.daily, loaded.arxiv):
            report.print(console)
        encoder, embeddings = _import_demo_vectors(store)
        refresh_index_with_progress(Search(store, config.index_dir or None, encoder=encoder), console)
        console.print(loaded.summary(embeddings if encoder else None), highlight=False, soft_wrap=True)
    else:
        console.print(f"{config.db} already holds {store.count_papers():,} papers: using it as it is", soft_wrap=True)
    store.close()
    if not no_serve:
        _serving = serving_lock(config.db)  # noqa: F841  (held while this process serves)
        _serve(config)


def _import_demo_vectors(store):
    """The sample's precomputed embeddings, so semantic search works without a long `embed` first.
    Returns the model's encoder (None when it is not installed) and how many embeddings were loaded."""
    from .ingest.demo import VECTORS
    from .search.embed import import_vectors, model_key
    from .search.encoder import ModelUnavailable, load_encoder

    try:
        encoder = load_encoder()
    except ModelUnavailable as exc:
        console.print(f"[yellow]Semantic search is off:[/] {exc}")
        return None, 0
    with resources.as_file(resources.files("dailypapers.data") / VECTORS) as vectors:
        count = import_vectors(store, model_key(encoder), vectors)
    pending = store.count_papers() - count
    console.print(f"{count:,} bundled embeddings loaded"
                  + (f"; {pending:,} papers wait for `dailypapers embed`" if pending else ""))  # fmt: skip
    return encoder, count


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

    store = open_store(config)
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
        first = parse_day(day or since, "--date" if day else "--since")
        last = first if day else (parse_day(until, "--until") or today)
        if last < first:
            raise click.BadParameter("must not be before --since", param_hint="--until")
        if first > today:
            raise click.BadParameter(f"{first} is in the future", param_hint="--date/--since")
        days = hf_daily.days_between(first, last)
        base = base_url or config.hf_base_url
        store = open_store(config)
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

    first, last = parse_day(from_day, "--from"), parse_day(until_day, "--until")
    if last and last < first:
        raise click.BadParameter("must not be before --from", param_hint="--until")
    base = base_url or config.oai_base_url
    store = open_store(config)
    runner = Runner(store, "arxiv-oai", f"{base}|{set_spec}|{first}|{last or ''}", console=console,
                    index_dir=config.index_dir)  # fmt: skip
    client = PoliteClient(min_interval=config.arxiv_min_interval, max_retries=config.http_retries, log=console.print)
    items = arxiv_oai.harvest(client, base, set_spec=set_spec, from_day=first, until_day=last,
                              resume=runner.resume_state(), log=console.print)  # fmt: skip
    _finish(runner, items, f"set {set_spec} from {first} at {base}")


@main.group(invoke_without_command=True)
@click.option("--since", help="First day to fetch (default: where the last round got to).")
@click.option("--until", help="Last day to fetch (default: today, UTC).")
@click.pass_context
def sync(ctx: click.Context, since: str | None, until: str | None) -> None:
    """One round of what a live site needs: new Hugging Face daily papers (and the last days' counters
    again), arXiv OAI-PMH for the sync_sets, then embedding and indexing. Idempotent and resumable."""
    if ctx.invoked_subcommand is not None:
        return
    from .ingest.sync import sync_round
    from .store.sync import SyncRunning

    config: Config = ctx.obj
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    if first and last and last < first:
        raise click.BadParameter("must not be before --since", param_hint="--until")
    try:
        round_ = sync_round(open_store(config), config, until=last, since=first, console=console)
    except SyncRunning as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]; what was fetched is kept: run `dailypapers sync` again to resume.")
        sys.exit(130)
    click.echo(round_.summary())
    if round_.failed:
        sys.exit(1)


@sync.command("status")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Rounds to show.")
@click.pass_obj
def sync_status(config: Config, limit: int) -> None:
    """The last rounds: when, what each source added, what failed and why."""
    rounds = open_store(config).sync_rounds(limit)
    if not rounds:
        click.echo("no sync round yet: run `dailypapers sync`")
    for round_ in rounds:
        click.echo(f"round {round_['id']}  {round_['status']:<11}  started {round_['started_at']}  "
                   f"finished {round_['finished_at'] or '-'}")  # fmt: skip
        for name, done in round_["sources"].items():
            if done.get("status") == "failed":
                click.echo(f"    {name:<16} failed: {done.get('error')}")
            elif "summary" in done:  # the thumbnails step (sync_thumbnails)
                click.echo(f"    {name:<16} {done.get('note') or done['summary']}")
            elif "since" in done:
                click.echo(f"    {name:<16} {done['since']}..{done['through']}  {done['new']:,} new, "
                           f"{done['updated']:,} updated, {done.get('skipped', 0):,} skipped")  # fmt: skip
            else:
                click.echo(f"    {name:<16} {done.get('embedded', 0):,} embedded, {done.get('indexed', 0):,} indexed"
                           + (f" ({done['note']})" if done.get("note") else ""))  # fmt: skip


# -- the rest -----------------------------------------------------------------------------------------


@main.command()
@click.pass_obj
def index(config: Config) -> None:
    """Bring the keyword index up to date with the catalog (ingest does this itself)."""
    from .ingest.runner import refresh_index_with_progress
    from .search import Search

    try:
        indexed = refresh_index_with_progress(Search(open_store(config), config.index_dir or None), console)
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
    _embed(open_store(config), config.index_dir or None, batch)


def _embed(store, index_dir: str | None, batch: int = 256) -> None:
    from .ingest.runner import embed_with_progress
    from .search import Search
    from .search.embed import model_key
    from .search.encoder import ModelUnavailable, load_encoder

    try:
        encoder = load_encoder()
    except ModelUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    try:
        embedded = embed_with_progress(store, encoder, console, batch)
        search = Search(store, index_dir, encoder=encoder)
        indexed = search.vectors.refresh(store)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]; what was embedded is kept: run `dailypapers embed` again to finish.")
        sys.exit(130)
    console.print(f"{embedded:,} papers embedded with {model_key(encoder)}; {indexed:,} vectors indexed "
                  f"({len(search.vectors):,} in all)")  # fmt: skip


@main.command()
@click.option("--limit", type=click.IntRange(min=1), help="Make at most this many thumbnails (and as many logos).")
@click.option("--retry-failed", is_flag=True, help="Try again the papers and logos that failed before (a 404, a damaged PDF).")
@click.option("--ids", "id_lists", multiple=True, metavar="IDS",
              help="Only these papers (arXiv ids, comma- or space-separated; repeatable), featured or not.")
@click.option("--logos/--no-logos", default=True, show_default=True, help="Also fetch the organizations' missing logos.")
@click.pass_obj
def thumbnails(config: Config, limit: int | None, retry_failed: bool, id_lists: tuple[str, ...], logos: bool) -> None:
    """Make the missing thumbnails of featured papers' first pages, newest first, from their arXiv PDFs (one
    request every arxiv_min_interval seconds), and fetch organizations' logos. Resumable: rerun after Ctrl-C."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .ingest.http import FetchError
    from .ingest.thumbnails import MissingLibraries, check_libraries, make_media, media_dir
    from .records import InvalidRecord, normalize_id

    try:
        check_libraries()
    except MissingLibraries as exc:
        raise click.ClickException(str(exc)) from None
    store, ids = open_store(config), None
    if id_lists:
        try:
            ids = list(dict.fromkeys(normalize_id(i) for text in id_lists for i in text.replace(",", " ").split()))
        except InvalidRecord as exc:
            raise click.BadParameter(str(exc), param_hint="--ids") from None
        unknown = sorted(set(ids) - {p["id"] for p in store.papers_by_ids(ids)}) if ids else []
        if not ids or unknown:
            raise click.BadParameter(f"not in the catalog: {', '.join(unknown)}" if unknown else "no id given", param_hint="--ids")
    console.print(f"Thumbnails and logos in {media_dir(config, store.url)}/", soft_wrap=True)
    bars = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console)  # fmt: skip

    def progress(what: str, total: int):
        task = bars.add_task(what, total=total)
        return lambda: bars.advance(task)

    reports = []  # filled as it goes: what was done is said however it ends
    try:
        with bars:
            make_media(store, config, ids=ids, limit=limit, retry_failed=retry_failed, logos=logos, progress=progress,
                       log=console.print, reports=reports)  # fmt: skip
    except (FetchError, OSError) as exc:  # a server away; a folder that cannot be written (full disk, permissions)
        raise click.ClickException(f"{exc} (what was made is kept: rerun to resume)") from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]; what was made is kept: run `dailypapers thumbnails` again to resume.")
        sys.exit(130)
    finally:
        click.echo("; ".join(r.line() for r in reports))


@main.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(1, 120), default=10, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid", show_default=True,
              help="Words (lexical), meaning (semantic), or both fused.")
@click.pass_obj
def search(config: Config, query: str, limit: int, mode: str) -> None:
    """Search titles, authors and abstracts by words and meaning (search syntax: see the README)."""
    from .search import Search
    from .search.query import MAX_CHARS

    if len(query) > MAX_CHARS:
        raise click.BadParameter(f"at most {MAX_CHARS:,} characters", param_hint="QUERY")

    engine = Search(open_store(config), config.index_dir or None, query_budget=config.query_embed_timeout,
                    encoder=None if mode == "lexical" else "auto")  # fmt: skip
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
@click.option("--max-docs", type=click.IntRange(min=1), default=None,
              help="Score on a subset of the corpus of this many documents: every one judged in the split's qrels, "
                   "the rest chosen by a hash of their id (the same subset every run). Default: the whole corpus.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def evaluate(folder: Path, split: str, modes: tuple[str, ...], cache: Path, max_docs: int | None, as_json: bool) -> None:
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
        from .search.encoder import ModelUnavailable, load_encoder

        try:
            encoder = load_encoder()
        except ModelUnavailable as exc:
            raise click.ClickException(f"{exc} (or score only --mode lexical)") from None
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("embedding the corpus", total=None)
            results = run_evaluation(folder, split, modes, encoder, cache, lambda n: progress.advance(task, n),
                                     max_docs)
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


@main.command("eval-recs")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--without-authors", is_flag=True, help="Hide every author name (measure the content signal alone).")
@click.option("--no-vectors", is_flag=True, help="Rank without the papers' sentence embeddings (nothing is embedded).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=Path.home() / ".cache" / "dailypapers",
              show_default=True, help="Where the papers' embeddings are kept between runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def evaluate_recs(folder: Path, without_authors: bool, no_vectors: bool, cache: Path, as_json: bool) -> None:
    """Score personal recommendations on a benchmark FOLDER (papers.jsonl[.gz], users.jsonl, tests.jsonl):
    MRR and nDCG@3/5/10 for the reader model and, in the same run, random order, the TF-IDF centroid and
    arxiv-sanity's SVM (scikit-learn, if installed)."""
    import json

    from rich.progress import Progress
    from rich.table import Table

    from .rank.evaluate_recs import BenchmarkError, embed_papers, evaluate as run_evaluation, load

    vectors = None
    try:
        if not no_vectors:
            from .search.encoder import ModelUnavailable, load_encoder

            try:
                encoder = load_encoder()
            except ModelUnavailable as exc:
                raise click.ClickException(f"{exc} (or rank --no-vectors)") from None
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("embedding the papers", total=None)

                def advance(n: int, total: int | None) -> None:
                    progress.update(task, advance=n, **({"total": total} if total else {}))

                vectors = embed_papers(load(folder), encoder, cache, advance)
        results = run_evaluation(folder, hide_authors=without_authors, vectors=vectors)
    except BenchmarkError as exc:
        raise click.ClickException(f"cannot read {folder} as a recommendation benchmark: {exc}") from None
    if as_json:
        click.echo(json.dumps(results))
        return
    mode = "without authors" if without_authors else "with authors"
    table = Table("ranking", "MRR", "nDCG@3", "nDCG@5", "nDCG@10",
                  title=f"{folder.name}: {results['tests']} tests, {mode}, {'no vectors' if no_vectors else 'vectors'}")
    for name, figures in results.items():
        if name == "tests":
            continue
        if figures is None:
            table.add_row(name, "scikit-learn not installed", "", "", "")
        else:
            table.add_row(name, *(f"{figures[k]:.4f}" for k in ("mrr", "ndcg@3", "ndcg@5", "ndcg@10")))
    Console().print(table)


@main.command()
@click.pass_obj
def stats(config: Config) -> None:
    """What the database holds."""
    for key, value in open_store(config).stats().items():
        click.echo(f"{key:>16}: {value}")


@main.command()
@click.option("--toml", "as_file", is_flag=True, help="Print them as a settings file instead (secrets left out).")
@click.pass_obj
def settings(config: Config, as_file: bool) -> None:
    """Every setting, its value, where the value came from, and what it does."""
    if as_file:
        click.echo(as_toml(config), nl=False)
        return
    for setting in SETTINGS:
        value = config.values[setting.name]
        shown = "(hidden)" if setting.name in SECRETS and value else repr(value)
        click.echo(f"{setting.name} = {shown}  [{config.sources[setting.name]}]")
        click.echo(f"    {setting.help}  (env {setting.env})")


from .digest.commands import digest as _digest_commands  # noqa: E402  (registered here, written beside the digests)

main.add_command(_digest_commands)

from .backup_commands import backup as _backup_command, restore as _restore_command, serving_lock  # noqa: E402

main.add_command(_backup_command)
main.add_command(_restore_command)


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
        user = open_store(config).create_user(name, accounts.check_account_email(email),
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
    if not open_store(config).set_role(username.strip().lower(), role):
        raise click.ClickException(f"no account named {username!r}")
    console.print(f"{username.strip().lower()} is now {'an' if role == 'admin' else 'a'} {role}")
