"""Local accounts, roles, the sign-in back-off, session records, API tokens and the one audit
trail, in a SQLite file apart from the research database. Dash-free: the dashboard's login and
request guard and the `attune users` / `attune tokens` commands all use it."""
