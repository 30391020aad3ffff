"""Local accounts, roles and the one audit trail, in a SQLite file apart from the research
database. Dash-free: the dashboard's login and the `attune users` commands both use it."""
