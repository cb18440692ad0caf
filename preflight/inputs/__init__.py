"""The user's side: which files a run looks at, the project's settings (``preflight.toml``), schema problems in them, and files written for the user."""
