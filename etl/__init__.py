"""Ingestion: read, validate and load survey exports; generate synthetic demo data."""
