"""Validation: findings about data, modelled as data (code, severity, position, message)."""
