"""Ingestion: read what operations publish (CSV, XLSX, HXL, DTM API) into the warehouse."""
