"""OpenTelemetry export: teamtape's events as GenAI-convention spans and metrics over OTLP.

One translator (:class:`Translator`) turns events into spans and metric measurements. It runs live
inside :class:`OtlpSink` (the recorder hands the sink every event it writes) and after the fact in
:func:`export_runs` (events read back from the store). Attribute and metric names live in
:mod:`teamtape.recorder.otlp.semconv`.

Example:
    >>> from teamtape.recorder.otlp import otlp_sink_from_env_or_args
    >>> sink = otlp_sink_from_env_or_args("http://localhost:4318")  # doctest: +SKIP
"""

from ._config import OtlpError, OtlpSettings, capture_content_from_env, resolve_settings
from ._export import ExportReport, export_runs
from ._ids import linked_to_run, run_span_context, run_span_id, trace_id_for
from ._sink import OtlpExportWarning, OtlpSink, SinkStats, otlp_sink_from_env_or_args
from ._translate import Measurement, Translator

__all__ = [
    "ExportReport",
    "Measurement",
    "OtlpError",
    "OtlpExportWarning",
    "OtlpSettings",
    "OtlpSink",
    "SinkStats",
    "Translator",
    "capture_content_from_env",
    "export_runs",
    "linked_to_run",
    "otlp_sink_from_env_or_args",
    "resolve_settings",
    "run_span_context",
    "run_span_id",
    "trace_id_for",
]
