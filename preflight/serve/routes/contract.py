"""What the routes take and answer, as JSON Schemas: the bodies the server checks requests against
(``endpoints.checked``) and the answers, errors and callbacks the OpenAPI document describes
(``openapi.py``). The report is the one ``preflight check --format json`` writes
(``preflight/schemas/report-1.schema.json``), shared, not copied."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from preflight.serve.state.sessions import MAX_TAKES, PART_S, SUBMIT_KEYS, TTL_S

Schema = dict[str, Any]
REPORT_FILE = Path(__file__).resolve().parents[2] / "schemas" / "report-1.schema.json"
MAX_IDEMPOTENCY_KEY = 255
# what normal_origin (state/sessions.py) takes: scheme, host and an optional port, nothing more
ORIGIN_PATTERN = r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?$"
CALLBACK_PATTERN = r"^https?://[^/?#\s@]+"
LINK_PATTERN = r"^([Hh][Tt][Tt][Pp][Ss]?|[Ss]3)://"
SIGNATURE_HEADER = "X-Preflight-Signature"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> Schema:
    return {"type": [kind, "null"]}


@cache
def report_schemas() -> dict[str, Schema]:
    """The report's schema as components: Report, ReportResult and ReportFinding (its ``$defs``), with
    its references pointed at them."""
    document = json.loads(REPORT_FILE.read_text(encoding="utf-8"))
    names = {"result": "ReportResult", "finding": "ReportFinding"}
    text = json.dumps(document)
    for local, component in names.items():
        text = text.replace(f'"#/$defs/{local}"', f'"#/components/schemas/{component}"')
    document = json.loads(text)
    defs = document.pop("$defs")
    for key in ("$schema", "$id"):
        document.pop(key, None)
    return {"Report": document, **{names[k]: v for k, v in defs.items()}}


FINDING_SHORT: Schema = {"type": "object", "required": ["rule", "outcome"], "properties": {
    "rule": {"type": "string"}, "outcome": {"type": "string"}, "severity": _nullable("string"),
    "message": _nullable("string"), "fix": _nullable("string")}}


def _take_answers() -> dict[str, Schema]:
    """A take, its start and its chunks; a capture session (with its takes)."""
    return {
        "Take": {"type": "object", "required": ["id", "status", "next_seq", "bytes"], "properties": {
            "id": {"type": "string"}, "session": _nullable("string"), "rules": {"type": "string"},
            "status": {"type": "string", "description": "recording, checking or done"},
            "next_seq": {"type": "integer", "minimum": 0}, "bytes": {"type": "integer", "minimum": 0},
            "recording": {"type": "string"}, "verdict": _nullable("string"),
            "findings": {"type": "array", "items": ref("ReportFinding")}, "fixed": _nullable("string"),
            "note": _nullable("string"), "report_json": _nullable("string"),
            "report": ref("Report"), "submitted": {}}},
        "TakeStarted": {"type": "object", "required": ["id", "recording", "next_seq"], "properties": {
            "id": {"type": "string"}, "recording": {"type": "string"}, "next_seq": {"const": 0}}},
        "ChunkKept": {"type": "object", "required": ["ok", "duplicate", "bytes"], "properties": {
            "ok": {"const": True}, "duplicate": {"type": "boolean"}, "bytes": {"type": "integer", "minimum": 0}}},
        "CaptureSession": {"type": "object", "required": ["id", "origin", "rules", "expires_at", "max_takes"],
                           "properties": {
                               "id": {"type": "string"}, "origin": {"type": "string"}, "rules": {"type": "string"},
                               "expires_at": {"type": "string", "format": "date-time"},
                               "max_takes": {"type": "integer"}, "speak_s": _nullable("number"),
                               "listen_s": _nullable("number"), "submits": {"type": "boolean"},
                               "token": {"type": "string", "description": "When made: the browser's bearer token"},
                               "url": {"type": "string", "description": "When made: the full-page capture"},
                               "takes": {"type": "array", "items": ref("Take")},
                               "takes_left": {"type": "integer", "minimum": 0}}},
    }


def answers() -> dict[str, Schema]:
    """The answers' schemas, by component name."""
    return {
        **_take_answers(),
        "Error": {"type": "object", "required": ["error"], "description": "Every refusal: one line saying what "
                  "is wrong and how to fix it", "properties": {
                      "error": {"type": "string"},
                      "next_seq": {"type": "integer", "description": "409 on a chunk: the chunk the take expects"}}},
        "Job": {"type": "object", "required": ["id", "status"], "properties": {
            "id": {"type": "string"}, "kind": {"enum": ["check", "face", "take"]},
            "status": {"enum": ["queued", "running", "done"]}, "name": {"type": "string"},
            "created": {"type": "number"}, "finished": _nullable("number"),
            "report": ref("Report"),
            "take": _nullable("string"), "submitted": {"description": "A take's submit, when its session submits"},
            "face": {"type": ["object", "null"], "description": "Face jobs: face_id, status, stage"},
            "check": {"description": "Face jobs: the check before the submit"},
            "message": _nullable("string"), "error": _nullable("string")}},
        "QrCode": {"type": "object", "required": ["url", "rows"], "properties": {
            "url": {"type": "string"},
            "rows": {"type": "array", "items": {"type": "string", "pattern": "^[01]*$"},
                     "description": "The code's modules, a row each: 1 dark, 0 light"}}},
        "CaptureConfig": {"type": "object", "required": ["rules", "speak_s", "listen_s"], "properties": {
            "rules": {"type": "string"}, "speak_s": {"type": "number"}, "listen_s": {"type": "number"},
            "min_short_side": _nullable("number"), "min_fps": _nullable("number"),
            "max_noise_dbfs": _nullable("number"), "face_min_height": _nullable("number"),
            "face_max_height": _nullable("number"), "script": {"type": "string"}, "submit": {"type": "boolean"},
            "session": {"type": "string"}, "rehearsal": {"type": "boolean"}}},
        "Guidance": {"type": "object", "required": ["findings", "faces", "rules", "took_ms"], "properties": {
            "findings": {"type": "array", "items": FINDING_SHORT},
            "faces": {"type": "array", "items": {"type": "object"}, "description": "Boxes, 0..1 of the frame"},
            "lips": {}, "lips_closed": {"anyOf": [FINDING_SHORT, {"type": "null"}]},
            "width": {"type": "integer"}, "height": {"type": "integer"}, "scan": {"type": "string"},
            "rules": {"type": "string"}, "took_ms": {"type": "number"},
            "follow": {"type": ["string", "null"], "description": "Send it back with the stream's next frame "
                                                                  "(X-Preflight-Follow)"}}},
        "SubmitOutcome": {"type": "object", "description": "The submit's outcome: the face made (or why not)"},
        "Strings": {"type": "object", "additionalProperties": {"type": "string"}},
        "Health": {"type": "object", "required": ["status"], "properties": {
            "status": {"const": "ok"}, "workers": {"type": "integer"}}},
        "Ready": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}},
    }


def link_check(params: tuple[Any, ...]) -> Schema:
    """A JSON body naming a link, with any of the route's query parameters as fields (typed as there)."""
    properties: Schema = {"url": {"type": "string", "pattern": LINK_PATTERN, "maxLength": 8192,
                                  "description": "https://… (public hosts only unless the server allows private "
                                                 "ones) or s3://BUCKET/KEY of a bucket the server allows"}}
    for param in params:
        if param.where == "query":
            properties[param.name] = {**param.schema(), "description": param.description}
    return {"type": "object", "required": ["url"], "properties": properties, "additionalProperties": False}


def capture_session_request(video_rulesets: list[str]) -> Schema:
    return {"type": "object", "required": ["origin"], "additionalProperties": False, "properties": {
        "origin": {"type": "string", "pattern": ORIGIN_PATTERN,
                   "description": "The product page's origin (scheme, host, port): the only one the token works from"},
        "rules": {"enum": video_rulesets, "description": "The video rule set takes are judged by (phoenix-4)"},
        "ttl_s": {"type": "number", "minimum": TTL_S[0], "maximum": TTL_S[1],
                  "description": f"How long the token lives ({TTL_S[2]} s)"},
        "max_takes": {"type": "integer", "minimum": MAX_TAKES[0], "maximum": MAX_TAKES[1],
                      "description": f"Takes the session may start ({MAX_TAKES[2]})"},
        "speak_s": {"type": "number", "minimum": PART_S[0], "maximum": PART_S[1]},
        "listen_s": {"type": "number", "minimum": PART_S[0], "maximum": PART_S[1]},
        "callback_url": {"type": "string", "pattern": CALLBACK_PATTERN,
                         "description": "POST each checked take here, signed (see the webhooks)"},
        "submit": {"type": "object", "additionalProperties": False, "description": "Submit each passing take",
                   "properties": {k: ({"type": "boolean"} if k == "dry_run" else {"type": "string"})
                                  for k in SUBMIT_KEYS}}}}


def take_request(video_rulesets: list[str]) -> Schema:
    return {"type": "object", "additionalProperties": False, "properties": {
        "mime": {"type": "string", "maxLength": 200, "description": "The recorder's type (video/webm)"},
        "rules": {"enum": video_rulesets}}}


def take_submit_request() -> Schema:
    return {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "maxLength": 200, "description": "The face's name"}}}


def webhooks() -> dict[str, Any]:
    """The callbacks the service sends, with their signature header and how to verify it."""
    recipe = ("Each callback is a POST of the finished job (JSON) with the header "
              f"`{SIGNATURE_HEADER}: t=UNIX_SECONDS,v1=HEX`. Verify it before trusting the body: compute "
              "HMAC-SHA256 with the server's callback secret (PREFLIGHT_SERVE_SECRET, or the one kept in "
              "its data folder as callback-secret) over `{t}.{raw body}`, compare it with v1 in constant time, and refuse a t more than 5 minutes "
              "old. A 2xx answer ends the deliveries; anything else is retried with backoff.")
    signature = {"name": SIGNATURE_HEADER, "in": "header", "required": True,
                 "schema": {"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"}}

    def hook(summary: str) -> Schema:
        return {"post": {"summary": summary, "description": recipe, "parameters": [signature],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": ref("Job")}}},
                         "responses": {"2XX": {"description": "Received: no more deliveries"}}}}

    return {"check": hook("A check job finished (kind check): its report"),
            "face": hook("A face job finished (kind face): the face made, or why not"),
            "take": hook("A capture session's take was checked (kind take): its report, and its submit")}
