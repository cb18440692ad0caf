"""Presenting: renderers turn a finished Report into text. They compute nothing and decide no exit code.

``formats.RENDERERS`` maps each ``--format`` to its renderer; ``options.RenderOptions`` is what every
renderer is given. The HTML report (``html.py``, ``check --report``) is written beside whichever of
these is chosen."""
