"""The recorder: attaches to autogen and turns what happens into events.

Public entry points (re-exported by ``teamtape``): :func:`record`, :func:`instrument`,
:func:`uninstrument`.
"""

from ._api import Recording, instrument, record, recorder_failures, uninstrument
from ._guard import RecorderWarning
from ._recorder import EventSink, Recorder

__all__ = [
    "EventSink",
    "Recorder",
    "RecorderWarning",
    "Recording",
    "instrument",
    "record",
    "recorder_failures",
    "uninstrument",
]
