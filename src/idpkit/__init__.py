"""idpkit — internal-displacement data, end to end.

The layout mirrors the parts of the system: ``warehouse`` (storage on DuckDB/PostgreSQL via Ibis),
``ingest`` (reading what operations publish), ``validate`` (row-level findings), and the analysis
parts that build on their tables. ``project.Project`` ties them together for the CLI.
"""

__version__ = "0.1.0"
