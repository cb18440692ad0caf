"""The application of ``preflight serve`` (and of ``preflight record``): Starlette on uvicorn, behind the
gate (``gate.py``: Host, Origin, token).

Chosen over FastAPI: Starlette imports in ~70 ms against FastAPI's ~220 ms (which brings pydantic,
~5 MB more), and the API's bodies are media streamed to disk, not models to validate. Each resource
declares its routes (``endpoints.py``): ``jobs.py`` (checks and faces), ``guide.py`` (guidance),
``ops.py`` (health, metrics, the OpenAPI document made from those declarations), ``takes.py``
(recorded takes) and ``capture.py`` (capture sessions and the capture element), and for
``preflight record`` its page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from preflight.errors import BlobsUnavailable, DatabaseUnavailable

from preflight.serve.config import RecorderConfig, ServeConfig
from preflight.serve.routes import capture, guide, jobs, ops, takes
from preflight.serve.routes.bodies import error
from preflight.serve.routes.endpoints import Endpoint
from preflight.serve.routes.gate import Gate, HostPolicy, routes
from preflight.serve.service import Service


def endpoints(recorder: RecorderConfig | None) -> tuple[Endpoint, ...]:
    """Every route of the application: the service's, and with ``recorder`` the recorder's page too."""
    found: tuple[Endpoint, ...] = (*ops.ENDPOINTS, *jobs.ENDPOINTS, *guide.ENDPOINTS, *takes.ENDPOINTS,
                                   *capture.ENDPOINTS)
    return (*found, *capture.RECORDER) if recorder is not None else found


async def unavailable(request: Request, exc: Exception) -> Response:
    """The database or the blobs are away (restarting, say): 503, and try again in a moment."""
    return error(503, f"{exc}; try again in a moment", {"Retry-After": "1"})


def create_app(config: ServeConfig, recorder: RecorderConfig | None = None) -> Any:
    """The service's application, behind its gate; with ``recorder``, ``preflight record``'s page and
    take routes too."""
    service = Service(config, recorder=recorder)
    declared = endpoints(recorder)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = Starlette(routes=[e.route() for e in declared], lifespan=lifespan,
                    exception_handlers={DatabaseUnavailable: unavailable, BlobsUnavailable: unavailable})
    app.state.service, app.state.endpoints, app.state.recorder = service, declared, recorder
    app.state.guidance_streams = guide.Streams()  # frames in hand on this node: the event loop's own
    app.state.guidance_follow = guide.Follow(service.secret)
    return Gate(app, hosts=HostPolicy(config.host, config.allow_hosts), token=config.token, routes=routes(declared),
                sessions=service.sessions)
