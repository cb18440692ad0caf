"""The HTTP routes of ``preflight serve`` and ``preflight record``, one module per resource, behind the gate."""
