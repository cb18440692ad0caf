"""The OpenAPI 3.1 document of ``preflight serve`` (served at ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from preflight.version import __version__

_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_ERROR = {"description": "What is wrong, in one line", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}
_QUERY = [
    {"name": "name", "in": "query", "schema": {"type": "string"}, "description": "The file's name (its extension is "
     "judged as on the command line); multipart uploads take the part's filename"},
    {"name": "rules", "in": "query", "schema": {"type": "string", "enum": ["phoenix-4", "phoenix-4.5", "phoenix-3",
                                                                          "image"]},
     "description": "A built-in rule set; default: phoenix-4 for videos, image for images"},
    {"name": "quick", "in": "query", "schema": {"type": "boolean"}, "description": "Metadata and key frames only"},
    {"name": "wait", "in": "query", "schema": {"type": "boolean"},
     "description": "Answer when the job is done (200) instead of at once (202)"},
    {"name": "callback_url", "in": "query", "schema": {"type": "string", "format": "uri"},
     "description": "POST the finished job here, signed (X-Preflight-Signature: t=UNIX,v1=HMAC-SHA256 of "
                    "\"{t}.{body}\"); a private or unresolvable host is refused with 400"},
]
_IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255},
                "description": "The same key within 24 h answers with the first job (Idempotent-Replayed: true); "
                               "with a different request, 422"}
_BODY = {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"},
                                 "description": "The media file itself (any media type but JSON and multipart)"},
    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string",
                                                                                  "format": "binary"}},
                                       "required": ["file"]}},
    "application/json": {"schema": {"$ref": "#/components/schemas/Link"}}}}
_LIMITS = {"401": {"description": "No or a wrong Bearer token", **_ERROR},
           "403": {"description": "A foreign Host or Origin, or an s3:// bucket the server does not allow", **_ERROR},
           "422": {"description": "An Idempotency-Key reused for a different request", **_ERROR},
           "507": {"description": "The spool is full (--max-spool-gb); see Retry-After", **_ERROR},
           "413": {"description": "Over --max-upload-mb", **_ERROR},
           "429": {"description": "The queue is full; see Retry-After", **_ERROR},
           "400": {"description": "A malformed request", **_ERROR}}


def document() -> dict[str, Any]:
    job = {"$ref": "#/components/schemas/Job"}
    accepted = {"description": "Accepted", "content": {"application/json": {"schema": {"$ref":
                                                                                     "#/components/schemas/Accepted"}}}}
    done = {"description": "Done (with wait=true)", "content": {"application/json": {"schema": job}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "preflight serve", "version": __version__,
                 "description": "Checks avatar-training media against the Tavus requirements, as `preflight check` "
                                "does, for backends in any language. Authenticate with `Authorization: Bearer "
                                "$PREFLIGHT_SERVE_TOKEN` when the server has a token."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
                "Link": {"type": "object", "properties": {
                    "url": {"type": "string", "description": "https://… (public hosts only unless the server "
                            "allows private ones) or s3://BUCKET/KEY"},
                    "callback_url": {"type": "string"}, "rules": {"type": "string"}, "quick": {"type": "boolean"}},
                    "required": ["url"]},
                "Accepted": {"type": "object", "properties": {"id": {"type": "string"},
                                                              "status": {"const": "queued"}}},
                "Job": {"type": "object", "properties": {
                    "id": {"type": "string"}, "kind": {"enum": ["check", "face"]},
                    "status": {"enum": ["queued", "running", "done"]}, "name": {"type": "string"},
                    "created": {"type": "number"}, "finished": {"type": ["number", "null"]},
                    "report": {"description": "A preflight.report/1 document with one result (check jobs, when "
                               "done); its schema ships as preflight/schemas/report-1.schema.json"},
                    "face": {"description": "Face jobs: face_id, status, stage, request (secrets redacted), "
                             "stopped (why no face was made)"}},
                    "required": ["id", "status"]},
            }},
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "security": [],
                                 "responses": {"200": {"description": "The server is up"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
                "description": "Text exposition format", "content": {"text/plain": {}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/checks": {"post": {"summary": "Check a file (the body), or a link (JSON)",
                                    "parameters": [*_QUERY, _IDEMPOTENCY],
                                    "requestBody": _BODY,
                                    "responses": {"202": accepted, "200": done, **_LIMITS}}},
            "/v1/checks/{job_id}": {"get": {"summary": "A check job: its status, and its report when done",
                                            "parameters": [_JOB_ID], "responses": {
                                                "200": {"description": "The job", "content": {
                                                    "application/json": {"schema": job}}},
                                                "404": {"description": "No such job", **_ERROR}}}},
            "/v1/checks/{job_id}/report.html": {"get": {
                "summary": "The visual HTML report of a finished check", "parameters": [_JOB_ID],
                "responses": {"200": {"description": "HTML", "content": {"text/html": {}}},
                              "404": {"description": "No such job", **_ERROR},
                              "409": {"description": "Not done yet", **_ERROR}}}},
            "/v1/faces": {"post": {
                "summary": "Check, upload, presign and create a Tavus face (the submit pipeline); needs the "
                           "server's TAVUS_API_KEY, and PREFLIGHT_BUCKET for uploads",
                "parameters": [*_QUERY, _IDEMPOTENCY, *[{"name": n, "in": "query", "schema": {"type": t}} for n, t in (
                    ("model", "string"), ("voice_name", "string"), ("auto_fix_image", "boolean"),
                    ("force", "boolean"), ("resubmit", "boolean"), ("dry_run", "boolean"), ("expires", "string"),
                    ("face_name", "string"), ("tavus_callback_url", "string"))]],
                "requestBody": _BODY,
                "responses": {"202": accepted, "200": done, **_LIMITS,
                              "503": {"description": "The server holds no TAVUS_API_KEY", **_ERROR}}}},
            "/v1/guidance": {"post": {
                "summary": "The check's face rules on one camera frame (the recorder's live guidance)",
                "parameters": [_QUERY[1]],
                "requestBody": {"required": True, "content": {"image/jpeg": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}},
                "responses": {"200": {"description": "findings (rule, outcome, message), faces (boxes, 0..1), "
                                                     "lips, lips_closed, took_ms"},
                              "400": {"description": "Not a JPEG, or an unknown rule set", **_ERROR},
                              "422": {"description": "The analysis crashed or took over 5 s on this frame",
                                      **_ERROR},
                              "413": {"description": "Over 4 MiB", **_ERROR}}}},
            "/v1/faces/{job_id}": {"get": {"summary": "A face job", "parameters": [_JOB_ID], "responses": {
                "200": {"description": "The job", "content": {"application/json": {"schema": job}}},
                "404": {"description": "No such job", **_ERROR}}}},
        },
    }
