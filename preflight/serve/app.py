"""The application of ``preflight serve`` (and of ``preflight record``): Starlette on uvicorn, behind the
gate (``gate.py``: Host, Origin, token).

Chosen over FastAPI: Starlette imports in ~70 ms against FastAPI's ~220 ms (which brings pydantic,
~5 MB more), and the API's bodies are media streamed to disk, not models to validate. Each resource
declares its routes (``endpoints.py``): ``jobs.py`` (checks and faces), ``guide.py`` (guidance),
``ops.py`` (health, metrics, the OpenAPI document made from those declarations) and, for the
recorder, ``takes.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette

from preflight.serve import guide, jobs, ops
from preflight.serve.config import ServeConfig
from preflight.serve.endpoints import Endpoint
from preflight.serve.gate import Gate, HostPolicy
from preflight.serve.recorder import RecorderConfig
from preflight.serve.service import Service


def endpoints(recorder: RecorderConfig | None) -> tuple[Endpoint, ...]:
    """Every route of the application: the service's, and with ``recorder`` the recorder's too."""
    found: tuple[Endpoint, ...] = (*ops.ENDPOINTS, *jobs.ENDPOINTS, *guide.ENDPOINTS)
    if recorder is not None:
        from preflight.serve import takes

        found = (*found, *takes.ENDPOINTS)
    return found


def open_paths(declared: tuple[Endpoint, ...]) -> tuple[str, ...]:
    """The paths that need no token, as the gate takes them (``/static/*``: a GET prefix)."""
    return tuple(e.path.split("{", 1)[0] + "*" if "{" in e.path else e.path for e in declared if e.open)


def create_app(config: ServeConfig, recorder: RecorderConfig | None = None) -> Any:
    """The service's application, behind its gate; with ``recorder``, ``preflight record``'s page and
    take routes too."""
    service = Service(config)
    declared = endpoints(recorder)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = Starlette(routes=[e.route() for e in declared], lifespan=lifespan)
    app.state.service, app.state.endpoints, app.state.recorder = service, declared, recorder
    if recorder is not None:
        recorder.out.mkdir(parents=True, exist_ok=True)
        app.state.takes = {}
    return Gate(app, hosts=HostPolicy(config.host, config.allow_hosts), token=config.token,
                open_paths=open_paths(declared))
