"""Where the Tavus API is and the key to it, as one value the entry points hand down."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Connection:
    api_key: str = field(repr=False)
    base_url: str
