"""Fixing: mechanical repairs that a failing rule calls for, written to a new file. Never generative,
never over the input. ``plan.py`` decides (pure), ``video.py`` and ``image.py`` apply."""
