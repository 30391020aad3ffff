"""The Dash app: pages for sponsors, evaluators and researchers over the DuckDB file."""
