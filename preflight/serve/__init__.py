"""``preflight serve``: the checks as an HTTP service, for backends in any language.

Its parts, from the top down (each imports only the ones below it):

- ``app.py``: the application (Starlette on uvicorn); ``service.py`` wires the parts together.
- ``routes/``: the HTTP routes, each declared once (``endpoints.py``), behind the gate (``gate.py``).
- ``work/``: the runner (claims jobs, runs them in the crash-isolation pool), what a worker does for
  one job (``tasks.py``, ``take.py``), callbacks, metrics.
- ``state/``: what the service remembers: jobs, takes, capture sessions, idempotency keys.
- ``blobs/``: where bytes live: the node's spool of bodies as they arrive.
- ``config.py``: what it was started with.
"""
