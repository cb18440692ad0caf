"""The work: the runner that claims jobs and runs them in the crash-isolation pool, what a worker does for
one job, callbacks and metrics."""
