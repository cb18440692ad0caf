"""preflight: check avatar-training media locally before it is uploaded."""

__version__ = "0.1.0"
