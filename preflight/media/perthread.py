"""One instance per thread of what may not be shared between threads.

OpenCV's ``cv2.dnn.Net`` keeps its buffers in the object: two threads calling ``forward`` on one net
at once get each other's results (seen: a still picture's face count went 1, 0, 12, 0 while the
recorder's live guidance ran beside a check in the same process). dlib's HOG detector keeps scratch
state too. Each thread loads its own copy (BlazeFace and the face mesh in a few ms, dlib's detector
from its saved file in ~1 ms).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def per_thread(factory: Callable[..., T]) -> Callable[..., T]:
    local = threading.local()

    @functools.wraps(factory)
    def get(*args: Any) -> T:
        made: dict[tuple[Any, ...], T] | None = getattr(local, "made", None)
        if made is None:
            made = local.made = {}
        if args not in made:
            made[args] = factory(*args)
        return made[args]

    return get
