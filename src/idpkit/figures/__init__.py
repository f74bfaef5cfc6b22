"""Displacement figures from the warehouse: stocks, flows, lineage, publication rules (issue 3)."""
