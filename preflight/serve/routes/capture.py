"""Guided capture anywhere: capture sessions, the ``<preflight-capture>`` element's files and strings,
the full-page capture a phone opens, and the QR code that hands a session over to it.

- ``POST /v1/capture-sessions`` (the server's token: a product's backend) makes a session for one
  capture (``sessions.py``) and answers its token and its full-page ``url``.
- ``GET /v1/capture-sessions/{id}`` the session and its takes (its own token, or the server's);
  ``GET /v1/capture-sessions/{id}/qr`` the ``url`` as a QR code's modules, drawn by the element.
- ``GET /v1/capture/config`` what the element needs: the rule set's numbers, the session's durations.
- ``GET /v1/capture.js`` (an ES module), ``/v1/capture.css``, ``/v1/capture/i18n/{lang}.json``,
  ``GET /capture`` (a page of one element: the QR code's target), open to every origin: no secret in
  them, nothing loaded from another host, no inline script (a strict CSP holds).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from preflight.errors import PreflightError
from preflight.serve.routes import contract
from preflight.serve.routes.bodies import error, json_body
from preflight.serve.routes.endpoints import Endpoint, QueryParam, is_json, options
from preflight.serve.routes.page import (
    STATIC,
    not_video_rules,
    page_config,
    video_rulesets,
)
from preflight.serve.routes.takes import default_rules, session_of, take_view
from preflight.serve.state.keys import KeyReused
from preflight.serve.state.sessions import (
    MAX_TAKES,
    PART_S,
    SUBMIT_KEYS,
    TTL_S,
    normal_origin,
)
from preflight.serve.work.callbacks import refusal

if TYPE_CHECKING:
    from preflight.serve.service import Service

LANGUAGES = ("en", "de", "es", "fr", "pt", "ja")  # pt: Brazilian Portuguese (pt-PT pages fall back to it)
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' blob: data:; "
            "media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
ASSETS = {"capture.js": "text/javascript", "capture.css": "text/css", "capture-page.js": "text/javascript",
          "capture-page.css": "text/css"}


def _number(body: dict[str, Any], name: str, bounds: tuple[float, float], default: float | None) -> float | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{name} is a number from {bounds[0]:g} to {bounds[1]:g}")
    return float(value)


def session_fields(body: dict[str, Any], service: Service) -> dict[str, Any]:
    """A session's fields from a backend's JSON, checked; ValueError says what is wrong."""
    allowed = {"origin", "rules", "ttl_s", "max_takes", "speak_s", "listen_s", "callback_url", "submit"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"a capture session takes no {unknown[0]!r}; it takes: {', '.join(sorted(allowed))}")
    origin = normal_origin(body.get("origin"))
    if origin is None:
        raise ValueError("origin is the product page's origin, e.g. \"https://app.example.com\" (scheme, host, port)")
    rules = str(body.get("rules") or "phoenix-4")
    problem = not_video_rules(rules)
    if problem:
        raise ValueError(problem)
    submit = body.get("submit")
    if submit is not None:
        if not isinstance(submit, dict) or set(submit) - set(SUBMIT_KEYS):
            raise ValueError(f"submit is an object of {', '.join(SUBMIT_KEYS)}")
        if not service.setup.can_upload:
            raise LookupError("this server holds no TAVUS_API_KEY and PREFLIGHT_BUCKET: it cannot submit takes")
    max_takes = _number(body, "max_takes", MAX_TAKES[:2], MAX_TAKES[2])
    return {"origin": origin, "rules": rules, "ttl_s": _number(body, "ttl_s", TTL_S[:2], TTL_S[2]),
            "max_takes": int(max_takes or 1), "speak_s": _number(body, "speak_s", PART_S, None),
            "listen_s": _number(body, "listen_s", PART_S, None), "callback_url": body.get("callback_url") or None,
            "submit": submit}


async def create_session(request: Request) -> Response:
    service: Service = request.app.state.service
    if not is_json(request):
        return error(415, "a capture session is made with a JSON body (Content-Type: application/json)")
    body = await json_body(request)
    if isinstance(body, Response):
        return body
    try:
        fields = session_fields(body, service)
    except ValueError as err:
        return error(400, str(err))
    except LookupError as err:
        return error(503, str(err))
    if fields["callback_url"]:
        why = await run_in_threadpool(refusal, str(fields["callback_url"]), service.config.guard_allow)
        if why is not None:
            return error(400, why)
    key = request.headers.get("idempotency-key")
    idempotency = None
    if key:
        idempotency = (f"session:{key}", hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest())
    try:
        session = await run_in_threadpool(service.sessions.create, fields, idempotency)
    except KeyReused:
        return error(422, "this Idempotency-Key was used within 24 h for a different session; use a new key")
    token = service.sessions.token(session.id)
    return JSONResponse({**session.shown(), "token": token, "url": capture_url(request, token)}, status_code=201,
                        headers={"Location": f"/v1/capture-sessions/{session.id}"})


def capture_url(request: Request, token: str) -> str:
    """The full-page capture for a session: the token in the fragment (never sent to a server's logs)."""
    return f"{str(request.base_url).rstrip('/')}/capture#token={token}"


def _own_session(request: Request) -> Any:
    service: Service = request.app.state.service
    wanted = request.path_params["session_id"]
    caller = session_of(request)
    if caller is not None and caller.id != wanted:
        return None
    return service.sessions.get(wanted)


async def get_session(request: Request) -> Response:
    service: Service = request.app.state.service
    session = _own_session(request)
    if session is None:
        return error(404, "no such capture session")
    takes = await run_in_threadpool(lambda: [take_view(service, t.id) for t in service.takes.of_session(session.id)])
    return JSONResponse({**session.shown(), "takes": takes, "takes_left": max(0, session.max_takes - len(takes))})


async def session_qr(request: Request) -> Response:
    session = _own_session(request)
    if session is None:
        return error(404, "no such capture session")
    import qrcode  # type: ignore[import-untyped]

    service: Service = request.app.state.service
    url = capture_url(request, service.sessions.token(session.id))
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    rows = ["".join("1" if cell else "0" for cell in row) for row in code.get_matrix()]
    return JSONResponse({"url": url, "rows": rows})


async def capture_config(request: Request) -> Response:
    params = options(request, CONFIG)
    session = session_of(request)
    rules = session.rules if session is not None else str(params.get("rules") or default_rules(request))
    try:
        config = page_config(rules)
    except PreflightError as err:
        return error(400, str(err))
    if session is not None:
        config.update(speak_s=session.speak_s or config["speak_s"], listen_s=session.listen_s or config["listen_s"],
                      submit=False, session=session.id, rehearsal=session.speak_s is not None)
    return JSONResponse(config)


async def asset(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})


MODULES = tuple(sorted(p.stem for p in (STATIC / "capture").glob("*.js")))  # the element's parts (static/capture/)


async def module(request: Request) -> Response:
    name = request.path_params["module"]
    if name not in MODULES:
        return error(404, f"no module {name!r} of the element; there are: {', '.join(MODULES)}")
    return FileResponse(STATIC / "capture" / f"{name}.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


async def catalog(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang not in LANGUAGES:
        return error(404, f"no strings for {lang!r}; there are: {', '.join(LANGUAGES)} (a page can pass its own)")
    return FileResponse(STATIC / "i18n" / f"{lang}.json", media_type="application/json")


async def page(request: Request) -> Response:
    """One ``<preflight-capture>`` on a page of its own (``/capture``; ``preflight record``'s ``/``)."""
    html = (STATIC / "capture-page.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "no-referrer"})


SESSION_ID = QueryParam("session_id", "string", "The capture session's id", where="path")
CONFIG = Endpoint("GET", "/v1/capture/config", capture_config, "What the capture element needs from the rule set "
                  "and the session", (QueryParam("rules", "string", "A video rule set (without a session)",
                                                 enum=video_rulesets),),
                  responses={"200": "Camera, room and take settings"}, session=True, answers={"200": "CaptureConfig"},
                  name="getCaptureConfig")
_SESSION_LINKS = {"Read": {"operationId": "getCaptureSession", "parameters": {"session_id": "$response.body#/id"}},
                  "QrCode": {"operationId": "getCaptureSessionQr", "parameters": {"session_id": "$response.body#/id"}}}
ENDPOINTS = (
    Endpoint("POST", "/v1/capture-sessions", create_session, "Make a capture session for one browser: its token "
             "works from the product page's origin only, for its own takes, until it expires",
             (QueryParam("Idempotency-Key", "string", "The same key within 24 h answers with the same session",
                         where="header", max_length=contract.MAX_IDEMPOTENCY_KEY),),
             {"required": True, "content": {}},
             {"201": "The session, its token and its full-page capture's url",
              "400": "A field is wrong, or a private or unresolvable callback_url (the message says which)",
              "415": "Not a JSON body", "422": "An Idempotency-Key reused for a different session",
              "503": "submit asked of a server with no Tavus key or bucket"},
             json=lambda: contract.capture_session_request(video_rulesets()), answers={"201": "CaptureSession"},
             links={"201": _SESSION_LINKS}, name="createCaptureSession"),
    Endpoint("GET", "/v1/capture-sessions/{session_id}", get_session, "A capture session and its takes", (SESSION_ID,),
             responses={"200": "The session", "404": "No such session (or another session's)"}, session=True,
             answers={"200": "CaptureSession"}, name="getCaptureSession"),
    Endpoint("GET", "/v1/capture-sessions/{session_id}/qr", session_qr, "The session's capture URL as a QR code's "
             "rows of modules", (SESSION_ID,), responses={"200": "{url, rows}", "404": "No such session"},
             session=True, answers={"200": "QrCode"}, name="getCaptureSessionQr"),
    CONFIG,
    Endpoint("GET", "/v1/capture.js", asset, "The <preflight-capture> element (an ES module)",
             responses={"200": "JavaScript"}, open=True, media={"200": "text/javascript"}, stateful=False,
             name="getCaptureElement"),
    Endpoint("GET", "/v1/capture/{module}.js", module, "One part of the element (an ES module capture.js imports)",
             (QueryParam("module", "string", "The part", where="path", enum=lambda: list(MODULES)),),
             responses={"200": "JavaScript", "404": "No such part"}, open=True, media={"200": "text/javascript"},
             stateful=False, name="getCaptureModule"),
    Endpoint("GET", "/v1/capture.css", asset, "The element's style", responses={"200": "CSS"}, open=True,
             media={"200": "text/css"}, stateful=False, name="getCaptureStyle"),
    Endpoint("GET", "/v1/capture-page.js", asset, "The full-page capture's script", responses={"200": "JavaScript"},
             open=True, media={"200": "text/javascript"}, stateful=False, name="getCapturePageScript"),
    Endpoint("GET", "/v1/capture-page.css", asset, "The full-page capture's style", responses={"200": "CSS"},
             open=True, media={"200": "text/css"}, stateful=False, name="getCapturePageStyle"),
    Endpoint("GET", "/v1/capture/i18n/{lang}.json", catalog, "The element's strings in one language",
             (QueryParam("lang", "string", ", ".join(LANGUAGES), where="path"),),
             responses={"200": "Key -> string", "404": "No such language"}, open=True, answers={"200": "Strings"},
             stateful=False, name="getCaptureStrings"),
    Endpoint("GET", "/capture", page, "The full-page capture (the token in the address's fragment)",
             responses={"200": "HTML"}, open=True, media={"200": "text/html"}, stateful=False, name="getCapturePage"),
)
RECORDER = (Endpoint("GET", "/", page, "preflight record's page (the key in ?key=)", responses={"200": "HTML"},
                     open=True, media={"200": "text/html"}, stateful=False, name="getRecorderPage"),)
