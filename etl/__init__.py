"""Ingestion: read, validate and load survey exports."""
