"""The Parquet lake: export a store into date-partitioned Parquet (local or S3), import it back.

See ``docs/lake.md`` for the layout and how to query a lake with DuckDB, ClickHouse, Trino or Spark.
"""

from ._errors import LakeError
from ._export import ExportReport, export_lake, part_files
from ._follow import DEFAULT_INTERVAL_S, follow_lake
from ._import import ImportReport, import_lake
from ._location import LakeLocation, open_location
from ._tables import LAKE_FORMAT_VERSION, LAKE_TABLES, LakeTable

__all__ = [
    "DEFAULT_INTERVAL_S",
    "LAKE_FORMAT_VERSION",
    "LAKE_TABLES",
    "ExportReport",
    "ImportReport",
    "LakeError",
    "LakeLocation",
    "LakeTable",
    "export_lake",
    "follow_lake",
    "import_lake",
    "open_location",
    "part_files",
]
