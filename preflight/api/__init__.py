"""The Tavus API client (client.py). Kept free of imports so the CLI can name the default URL cheaply."""

DEFAULT_URL = "https://tavusapi.com"
