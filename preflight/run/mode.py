"""How this process runs: as one command of the command line (which then exits), or as a library or a
service that goes on. One flag, set by ``preflight.cli.main`` for the command line and read by the
crash-isolation pool (``pool.py``: a single job forks a child of a one-command process), kept in a
module of its own so that setting it imports nothing."""

ONE_COMMAND = False
