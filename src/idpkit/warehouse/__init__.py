"""The warehouse: where every part's tables live, on DuckDB (default), PostgreSQL or Spark.

Parts talk through these tables, not through each other's internals.
"""

from idpkit.warehouse.warehouse import Warehouse, connect

__all__ = ["Warehouse", "connect"]
