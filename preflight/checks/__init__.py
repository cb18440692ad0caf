"""Judging: rule functions by family. Importing this package registers every rule in ``RULES``.

Find a rule by its ID's first part: ``video.fps`` lives in ``checks/video.py``, ``image.alpha`` in
``checks/image.py``, ``file.size`` in ``checks/file.py``, ``audio.codec`` in ``checks/audio.py``;
``face.*`` rules about the person are in ``checks/face.py``, picture quality (``face.sharpness``,
``face.lighting*``, ``video.edits``, ``video.black_frozen``) in ``checks/picture.py``; the
speaking → listening structure (``segments.*``, ``listening.*``, ``speaking.*``) in ``checks/speech.py``;
a remote file's link (``url.*``) in ``checks/url.py``; Tavus's own image check (``tavus.*``) in
``checks/tavus.py``.
"""

from preflight.checks import (  # noqa: F401  (registers rules)
    audio, container, face, file, image, picture, speech, tavus, url, video)
from preflight.checks.registry import RULES, Rule, Verdict

__all__ = ["RULES", "Rule", "Verdict"]
