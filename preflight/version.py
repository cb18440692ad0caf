"""The version of preflight (the avatar-preflight distribution)."""

__version__ = "0.1.0"
