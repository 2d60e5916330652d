"""Writing files whole."""

from __future__ import annotations

import os


def write_all(fd: int, data: bytes) -> None:
    """Write every byte: a short write (a disk filling up, a signal) is finished, or fails with OSError."""
    written = os.write(fd, data)  # usually all of it
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]
