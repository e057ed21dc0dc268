"""GET /metrics in Prometheus' text format, and the middleware that counts and logs every request.

Requests are counted by route template (`/papers/{paper_id}`, never the raw path: the number of series
stays bounded), method and status, and timed by route; searches by the mode asked for and the mode that
ran, and their fallbacks to words by reason. The database's figures (papers, index lag, outbox, ...) are
read when Prometheus scrapes.

`serve` runs several worker processes, each with its own counters: it names a fresh folder in
PROMETHEUS_MULTIPROC_DIR before they start (`worker_metrics_folder`), each worker counts into its files
there (prometheus_client's multiprocess mode), and a scrape, whichever worker answers it, adds them all
up; the database's figures are read once, by that worker.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import time
from datetime import date, datetime, time as clock, timezone

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .health import NO_STORE, Readings, last_sync
from .models import responses

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes
# Cached pages answer in well under a millisecond; searches and first renders take tens.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # any other: "other"
UNMATCHED = "<unmatched>"
# Every series is listed whether or not it has been seen yet, so that a rate or an alert has a zero to start from.
SUBSCRIBER_STATUSES = ("pending", "confirmed", "unsubscribed")
MAIL_KINDS, MAIL_STATUSES = ("confirm", "digest", "notice"), ("pending", "sent", "failed")

access_log = logging.getLogger("dailypapers.access")
log = logging.getLogger("dailypapers.web.metrics")
router = APIRouter()
disable_created_metrics()  # no *_created series: the multiprocess mode has none either


def worker_metrics_folder() -> str:
    """A fresh folder for the worker processes' metrics, named in the environment they inherit (so set
    it before they start) and removed when this process exits."""
    folder = tempfile.mkdtemp(prefix="dailypapers-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class Metrics:
    """One site's metrics: its requests and searches, and the database's figures at scrape time."""

    def __init__(self, readings: Readings):
        folder = os.environ.get(MULTIPROC_ENV)
        if folder and values.ValueClass is values.MutexValue:
            values.ValueClass = values.get_value_class()  # prometheus_client was imported before the folder was named
        own = CollectorRegistry()
        self.requests = Counter("dailypapers_http_requests", "HTTP requests answered, by route template, method and status.",
                                ["route", "method", "status"], registry=own)  # fmt: skip
        self.latency = Histogram("dailypapers_http_request_duration_seconds", "Seconds to answer a request, by route template.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=own)  # fmt: skip
        self.searches = Counter("dailypapers_searches", "Searches run, by the mode asked for and the mode that ran.",
                                ["requested", "ran"], registry=own)  # fmt: skip
        self.fallbacks = Counter("dailypapers_search_fallbacks", "Semantic or hybrid searches answered by words alone, "
                                 "by reason (search/__init__.py FALLBACKS).", ["reason"], registry=own)  # fmt: skip
        if folder:  # every worker's files, added up
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry, path=folder)
        else:
            self.registry = own
        self.registry.register(DatabaseCollector(readings))
        self._counted: dict[tuple, object] = {}  # (route, method, status) -> its counter, looked up once
        self._timed: dict[str, object] = {}  # route -> its histogram
        self._templates: dict[int, str] = {}  # id of a route (or mounted app) -> its template

    def searched(self, requested: str, found) -> None:
        """`Search.on_find`: count a search."""
        self.searches.labels(requested, found.mode).inc()
        if found.fallback:
            self.fallbacks.labels(found.fallback).inc()

    def template(self, scope: Scope) -> str:
        """The route template the router matched, from the scope it filled in."""
        matched = scope.get("route") or scope.get("endpoint")  # a mount (/static) leaves only its app, as the endpoint
        if matched is None:
            return UNMATCHED
        template = self._templates.get(id(matched))  # routes live as long as the app (and are not all hashable)
        if template is None:
            template = self._templates[id(matched)] = _template_of(matched, scope["app"])
        return template

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counter = self._counted.get(key)
        if counter is None:
            counter = self._counted[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        histogram = self._timed.get(route)
        if histogram is None:
            histogram = self._timed[route] = self.latency.labels(route)
        histogram.observe(seconds)


def _template_of(matched, app) -> str:
    """"/api/papers/{paper_id:path}" -> "/api/papers/{paper_id}"; for an endpoint or a mounted app, its route's
    ("/static/{path}")."""
    template = getattr(matched, "path_format", None)
    if template is None:
        owners = (route for route in app.routes if matched in (getattr(route, "app", None), getattr(route, "endpoint", None)))
        template = next((route.path_format for route in owners), UNMATCHED)
    return template


class RequestMetrics:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot, cached routes): counts and times
    each request, and writes its access log line (logger `dailypapers.access`, at info)."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # if the app fails before answering, the server answers 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = self.metrics.template(scope)
            self.metrics.observe(route, method, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, route, status, seconds)


def _log_access(scope: Scope, route: str, status: int, seconds: float) -> None:
    client = scope.get("client")
    host = client[0] if client else "-"
    method, query = scope["method"], scope.get("query_string", b"").decode("latin-1")
    path = scope["path"] + (f"?{query}" if query else "")
    milliseconds = round(seconds * 1000, 2)
    fields = {"client": host, "method": method, "path": scope["path"], "query": query, "route": route, "status": status,
              "duration_ms": milliseconds}  # fmt: skip
    # The record is made here and handed on: logging's own search for the calling line was a quarter of the cost.
    access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, '%s "%s %s HTTP/%s" %d %.1f ms',
                                            (host, method, path, scope.get("http_version", "1.1"), status, milliseconds),
                                            None, extra=fields))  # fmt: skip


class DatabaseCollector:
    """The database's figures, read at each scrape. If the database does not answer, the scrape says so
    (dailypapers_database_up 0) rather than failing."""

    def __init__(self, readings: Readings):
        self.readings = readings

    def collect(self):
        up = GaugeMetricFamily("dailypapers_database_up", "1 if the database answered this scrape, else 0.")
        try:
            families = list(self._read())
        except Exception as exc:
            log.warning("metrics: the database does not answer: %s", str(getattr(exc, "orig", None) or exc).splitlines()[0])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self):
        readings, store = self.readings, self.readings.store
        yield GaugeMetricFamily("dailypapers_papers", "Papers in the catalog.", value=readings.papers())
        indexes = readings.indexes()
        lag = GaugeMetricFamily("dailypapers_index_lag", "What a search index has yet to take in: changed papers "
                                "(keyword) or saved vectors (vector; absent while the model loads or without it).",
                                labels=["index"])  # fmt: skip
        lag.add_metric(["keyword"], indexes["keyword_index"]["lag"])
        vector = indexes["vector_index"]
        if vector["lag"] is not None:
            lag.add_metric(["vector"], vector["lag"])
        yield lag
        if vector["unembedded"] is not None:
            yield GaugeMetricFamily("dailypapers_papers_unembedded", "Papers without an embedding from the model: semantic "
                                    "search misses them until `dailypapers embed` runs.", value=vector["unembedded"])  # fmt: skip
        mails = GaugeMetricFamily("dailypapers_outbox_mails", "Mails in the digest outbox, by kind and status.",
                                  labels=["kind", "status"])  # fmt: skip
        counted = store.count_mails()
        for kind, status in sorted({(k, s) for k in MAIL_KINDS for s in MAIL_STATUSES} | set(counted)):
            mails.add_metric([kind, status], counted.get((kind, status), 0))
        yield mails
        subscribers = GaugeMetricFamily("dailypapers_subscribers", "Digest subscribers, by status.", labels=["status"])
        counted = store.count_subscribers()
        for status in sorted(set(SUBSCRIBER_STATUSES) | set(counted)):
            subscribers.add_metric([status], counted.get(status, 0))
        yield subscribers
        unfinished = GaugeMetricFamily("dailypapers_ingest_unfinished", "Ingest runs holding a checkpoint, by source: "
                                       "running, or interrupted and not resumed yet.", labels=["source"])  # fmt: skip
        for source, count in sorted(store.count_checkpoints().items()):
            unfinished.add_metric([source], count)
        yield unfinished
        ingested = CounterMetricFamily("dailypapers_ingested_papers", "Papers that finished ingest runs added (new) or "
                                       "changed (updated), by source.", labels=["source", "change"])  # fmt: skip
        last_ingest = GaugeMetricFamily("dailypapers_last_ingest_timestamp_seconds", "When the last ingest run of each "
                                        "source finished.", labels=["source"])  # fmt: skip
        for source, totals in sorted(store.ingest_totals().items()):
            ingested.add_metric([source, "new"], totals["inserted"])
            ingested.add_metric([source, "updated"], totals["updated"])
            last_ingest.add_metric([source], datetime.fromisoformat(totals["last_finished_at"]).timestamp())
        yield ingested
        yield last_ingest
        latest = store.latest_day()
        if latest:
            midnight = datetime.combine(date.fromisoformat(latest), clock(), timezone.utc).timestamp()
            yield GaugeMetricFamily("dailypapers_latest_day_timestamp_seconds", "The latest day with papers on the "
                                    "daily feed (its start, UTC).", value=midnight)  # fmt: skip
        sync = last_sync(store)
        if sync and sync.get("finished_at"):
            finished = datetime.fromisoformat(sync["finished_at"]).timestamp()
            yield GaugeMetricFamily("dailypapers_last_sync_timestamp_seconds", "When the last `dailypapers sync` "
                                    "round finished.", value=finished)  # fmt: skip
            yield GaugeMetricFamily("dailypapers_last_sync_ok", "Whether every source of the last sync round "
                                    "succeeded (1) or one failed (0).", value=int(sync["status"] == "ok"))  # fmt: skip
            papers = GaugeMetricFamily("dailypapers_last_sync_papers", "Papers the last sync round added (new) or "
                                       "changed (updated), by source.", labels=["source", "change"])  # fmt: skip
            for source, done in sorted(sync["sources"].items()):
                for change in ("new", "updated"):
                    if change in done:
                        papers.add_metric([source, change], done[change])
            yield papers


@router.get("/metrics", tags=["monitoring"], summary="Metrics in Prometheus' text format", response_class=Response,
            responses=responses(None, media="text/plain", description="Prometheus' text exposition format, version 0.0.4."))
def metrics(request: Request):
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE, headers=NO_STORE)
