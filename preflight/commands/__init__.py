"""One module per sub-command; each exposes a function that takes typed arguments and returns an exit code."""
