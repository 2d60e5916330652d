"""Writing files whole."""

from __future__ import annotations

import os


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte: a short write (a disk filling up, a signal) is finished, or fails with OSError."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
