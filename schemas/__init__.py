"""The data contract: allowed values, the instrument definition, Pandera models and DuckDB DDL."""
