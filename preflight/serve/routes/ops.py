"""Operations: liveness (``/healthz``: the process answers), readiness (``/readyz``: the node takes work;
503 from the moment it is told to stop, so a load balancer sends elsewhere before it stops), Prometheus
metrics, and the OpenAPI document made from the routes' own declarations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from preflight.serve.routes.bodies import error
from preflight.serve.routes.endpoints import Endpoint

if TYPE_CHECKING:
    from preflight.serve.service import Service


async def healthz(request: Request) -> Response:
    service: Service = request.app.state.service
    return JSONResponse({"status": "ok", "workers": service.runner.workers})


async def readyz(request: Request) -> Response:
    service: Service = request.app.state.service
    if not service.ready.is_set():
        return error(503, "this node is stopping (or not started yet): send requests to another node",
                     {"Retry-After": "5"})
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    body, content_type = service.metrics.render()
    return Response(body, media_type=content_type)


async def openapi(request: Request) -> Response:
    from preflight.serve.routes.openapi import document

    title = "preflight record" if getattr(request.app.state, "recorder", None) is not None else "preflight serve"
    return JSONResponse(document(request.app.state.endpoints, title))


ENDPOINTS = (
    Endpoint("GET", "/healthz", healthz, "Liveness", responses={"200": "The server is up"}, open=True,
             answers={"200": "Health"}, stateful=False, name="getHealth"),
    Endpoint("GET", "/readyz", readyz, "Readiness: the node takes work (a load balancer's check)",
             responses={"200": "Ready", "503": "Stopping: send requests to another node"}, open=True,
             answers={"200": "Ready"}, stateful=False, name="getReadiness"),
    Endpoint("GET", "/metrics", metrics, "Prometheus metrics: jobs by verdict, queue length, durations",
             responses={"200": "Text exposition format"}, media={"200": "text/plain"}, name="getMetrics"),
    Endpoint("GET", "/openapi.json", openapi, "This document", responses={"200": "OpenAPI 3.1"}, open=True,
             media={"200": "application/json"}, stateful=False, name="getOpenApi"),
)
