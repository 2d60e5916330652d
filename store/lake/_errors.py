"""Errors of the lake: one subclass of the store's error, so the CLI prints it without a traceback."""

from __future__ import annotations

from ..errors import StoreError


class LakeError(StoreError):
    """A lake location cannot be used, or a lake cannot be read or written."""
