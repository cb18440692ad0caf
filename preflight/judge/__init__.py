"""Judging: rule sets (``rules/*.toml``) loaded and validated, and the engine that runs their rules (``checks/``) over facts."""
