"""GET /healthz: whether this site can answer, for load balancers and monitors.

200 while the database answers: status "ok", or "degraded" with the `problems` that make search answer
less well than it should (an index far behind the catalog, no semantic search). 503 with status "down"
and the `error` when the database does not answer. Cheap enough to call every few seconds: a few queries
on indexed columns; the papers are counted again only when the catalog changed.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .. import __version__
from .models import Health, HealthDown, responses

DEGRADED_LAG = 1_000  # papers or vectors an index may be behind the catalog before the site is "degraded"
NO_STORE = {"Cache-Control": "no-store"}
log = logging.getLogger("dailypapers.web.health")
router = APIRouter()


def last_sync(store) -> dict | None:
    """The last finished round of `dailypapers sync` (id, status, started_at, finished_at and what each
    source did), with `running` if a round runs now; None before the first round."""
    rounds = store.sync_rounds(2)
    running = bool(rounds) and rounds[0]["status"] == "running"
    finished = next((r for r in rounds if r["status"] != "running"), None)
    if finished is None:
        return {"running": True} if running else None
    return {**{k: finished[k] for k in ("id", "status", "started_at", "finished_at", "sources")}, "running": running}


class Readings:
    """What /healthz and /metrics read from the database and the search indexes."""

    def __init__(self, store, search):
        self.store = store
        self.search = search
        self._counts: tuple = (None, None, 0, 0)  # (catalog generation, model, papers, vectors of the model)

    def _counted(self, model: str | None) -> tuple[int, int]:
        """(papers, vectors of `model`). Counting reads a whole index, so it is done again only when the
        catalog's generation has moved (one row, read every time: it is how we know the database answers)."""
        generation = self.store.generation()
        counted_at, counted_model, papers, vectors = self._counts
        if (generation, model) != (counted_at, counted_model):
            papers = self.store.count_papers()
            vectors = self.store.count_vectors(model) if model else 0
            self._counts = (generation, model, papers, vectors)
        return papers, vectors

    def papers(self) -> int:
        return self._counted(self._model())[0]

    def _model(self) -> str | None:
        return self.search.vectors.model if self.search.load_model(timeout=0) else None  # waits for nothing

    def indexes(self) -> dict:
        """How far each search index is behind the catalog. The vector index's figures are None while
        the model loads, or without it (`problem` says which)."""
        search, store, model = self.search, self.store, self._model()
        vector = {"model": model, "lag": None, "unembedded": None, "problem": None}
        if model:
            papers, vectors = self._counted(model)
            vector.update(lag=store.count_vectors_since(model, search.vectors.indexed_seq), unembedded=max(papers - vectors, 0))
        else:
            vector["problem"] = search.model_problem or "the sentence-embedding model is still loading"
        return {"keyword_index": {"lag": search.lag()}, "vector_index": vector}

    def problems(self, indexes: dict) -> list[str]:
        """What makes the site "degraded", in words; none when it is "ok"."""
        found = []
        keyword, vector = indexes["keyword_index"], indexes["vector_index"]
        if keyword["lag"] >= DEGRADED_LAG:
            found.append(f"the keyword index is {keyword['lag']:,} papers behind the catalog (run `dailypapers index`)")
        if (vector["lag"] or 0) >= DEGRADED_LAG:
            found.append(f"the vector index is {vector['lag']:,} vectors behind the catalog (run `dailypapers index`)")
        if (vector["unembedded"] or 0) >= DEGRADED_LAG:
            found.append(f"{vector['unembedded']:,} papers have no embedding: semantic search misses them (run `dailypapers embed`)")
        if self.search.model_problem:
            found.append(f"semantic search is unavailable: {self.search.model_problem}")
        return found


@router.get("/healthz", tags=["monitoring"], summary="Whether this site can answer (for load balancers and monitors)",
            responses={**responses(Health, description="The database answers: ok, or degraded with the problems."),
                       503: {"model": HealthDown, "description": "The database does not answer."}})
def healthz(request: Request):
    readings: Readings = request.app.state.readings
    try:
        database = {"reachable": True, "papers": readings.papers()}
        indexes = readings.indexes()
        sync = last_sync(readings.store)
    except Exception as exc:  # whatever the database raises: a lost file, a corrupt one, a server that is down
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] or type(exc).__name__
        log.warning("health check: the database does not answer: %s", reason)
        body = {"status": "down", "error": f"the database does not answer: {reason}", "database": {"reachable": False},
                "version": __version__}  # fmt: skip
        return JSONResponse(body, status_code=503, headers=NO_STORE)
    problems = readings.problems(indexes)
    body = {"status": "degraded" if problems else "ok", "problems": problems, "database": database, **indexes,
            "last_sync": sync, "version": __version__}  # fmt: skip
    return JSONResponse(body, headers=NO_STORE)
