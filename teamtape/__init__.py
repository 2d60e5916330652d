"""teamtape: a flight recorder for AutoGen 0.7 teams.

Example:
    >>> import teamtape
    >>> with teamtape.record(store="/tmp/doc-top", name="demo"):
    ...     pass  # run your AutoGen team here
"""

from teamtape.recorder import Recording, instrument, record, uninstrument
from teamtape.store import Store, open_store

__all__ = ["Recording", "Store", "instrument", "open_store", "record", "uninstrument"]
