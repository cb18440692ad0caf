"""``preflight serve``: the checks as an HTTP service, for backends in any language.

- ``app.py``: the HTTP routes (Starlette on uvicorn), authentication and limits.
- ``store.py``: jobs and their state in SQLite under ``--data``, beside the spooled uploads.
- ``runner.py``: runs jobs in a bounded pool of worker processes (or on a Dask cluster).
- ``work.py``: what a worker does for one job, through the run layer.
- ``uploads.py``: request bodies streamed to disk, never held in memory, refused past the limit.
- ``callbacks.py``: finished jobs POSTed to a caller's URL, signed, retried.
- ``openapi.py``: the API's OpenAPI document.
"""
