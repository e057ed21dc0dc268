"""The application factory: `create_app()` builds the site (pages, JSON API, feeds) for one database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..config import Config
from ..ingest.thumbnails import media_dir
from ..search import Search
from ..store import Store
from .cache import RenderCache
from .media import Media
from .security import SecurityHeaders
from .server import BodyLimit, NoNulText, configure

HERE = Path(__file__).parent
FOLLOW_EVERY_S = 1.0  # how often a server looks whether the catalog changed elsewhere
log = logging.getLogger(__name__)


async def follow_catalog(app: FastAPI) -> None:
    """Bring this host's search indexes up to date whenever the catalog changes, wherever the change was
    made: an ingest on this machine or another, another host of the same PostgreSQL database."""
    seen = None
    while True:
        try:
            generation = await asyncio.to_thread(app.state.store.generation)
        except Exception as exc:  # the database is away: the requests say so; look again later
            log.debug("cannot read the catalog's generation: %s", exc)
        else:
            if generation != seen:
                seen = generation
                app.state.search.catch_up_soon()
        await asyncio.sleep(FOLLOW_EVERY_S)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    following = asyncio.create_task(follow_catalog(app))
    try:
        yield
    finally:
        following.cancel()


def create_app(config: Config | None = None, store: Store | None = None) -> FastAPI:
    config = config or Config()
    store = store or Store(config.db, timeout=config.db_timeout)
    app = FastAPI(
        title=f"{config.site_name} API",
        version=__version__,
        description="Daily, weekly and monthly trending arXiv papers. Paths and field names follow the "
        "Hugging Face papers API, so `huggingface_hub.HfApi(endpoint=...)` works against this server.",
        docs_url=None,  # docs.install serves /docs and /redoc from the package's own files
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.config = config
    configure(config)
    app.state.store = store
    app.state.search = Search(store, config.index_dir or None, query_budget=config.query_embed_timeout)
    app.state.media = Media(media_dir(config, store.url))  # thumbnails and logos: a page shows them once they are made
    app.state.cache = RenderCache(lambda: (store.generation(), app.state.media.version()), size=config.cache_size)
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(site_name=config.site_name, community=config.community, version=__version__, media=app.state.media)
    app.state.templates = templates

    from . import admin, api, comments, community, docs, errors, feeds, media, pages, password_reset, people, submit, subscriptions

    from . import for_you, health, imports, library, metrics
    from ..rank.for_you import Recommender

    app.state.recommender = Recommender(store, app.state.search)
    app.state.readings = health.Readings(store, app.state.search)
    app.state.metrics = metrics.Metrics(app.state.readings)
    app.state.search.on_find = app.state.metrics.searched
    app.state.password_slots = asyncio.Semaphore(config.password_hashes_at_once) if config.password_hashes_at_once > 0 \
        else contextlib.nullcontext()  # fmt: skip
    # The hot read routes first: every request tries the routes in this order. A write such as
    # POST /papers/{id}/upvote only partly matches GET /papers/{id} and goes on to its own route.
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.include_router(media.router)
    app.include_router(subscriptions.router)
    app.include_router(community.router)
    app.include_router(password_reset.router)
    app.include_router(submit.router)
    app.include_router(comments.router)
    app.include_router(people.router)
    app.include_router(library.router)
    app.include_router(imports.router)
    app.include_router(for_you.router)
    app.include_router(admin.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    docs_policies = docs.install(app, HERE / "static")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(NoNulText)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeaders, hsts=config.https, policies=docs_policies)
    app.add_middleware(metrics.RequestMetrics, metrics=app.state.metrics)  # added last: outermost, it times the rest

    errors.install(app)
    return app
