"""teamtape: a flight recorder for AutoGen 0.7 teams.

The public names are imported on first use, so ``import teamtape`` (and the pytest plugin) stays
cheap until something is actually recorded or read.

Example:
    >>> import teamtape
    >>> with teamtape.record(store="/tmp/doc-top", name="demo"):
    ...     pass  # run your AutoGen team here
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teamtape._lazy import lazy_attributes

if TYPE_CHECKING:
    from teamtape.recorder import Recording, instrument, record, uninstrument
    from teamtape.store import Store, open_store

_EXPORTS = {
    "Recording": "teamtape.recorder",
    "instrument": "teamtape.recorder",
    "record": "teamtape.recorder",
    "uninstrument": "teamtape.recorder",
    "Store": "teamtape.store",
    "open_store": "teamtape.store",
}

__all__ = ["Recording", "Store", "instrument", "open_store", "record", "uninstrument"]


__getattr__ = lazy_attributes(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
