"""Attune's analysis layer: reads the DuckDB warehouse and returns the numbers that the
dashboard, the command line and every report share. It imports no Dash.

One room per job:

* ``connection``: the read-only, locked-down connection, its snapshot and the result cache
  (``cached_query``: every public query, always handing back a copy);
* ``summaries`` (SQL in ``sql/``): the in-memory summaries built once per database file, with
  the analysis definitions of ``schemas/views.sql``;
* ``filters``: what the reader selected and the whitelisted WHERE / GROUP BY builders;
* ``disclosure``: the small-cell rule (primary and complementary suppression);
* one module per subject: ``outcomes`` (paired change and its multiplicity family),
  ``followup`` (retention and attrition), ``dose`` (what goes with larger change),
  ``comparison`` (intervention against comparison arm),
  ``evidence``, ``quality``, ``dictionary``, and ``catalog`` (scales, waves, the filter
  choices);
* ``errors``: ``CannotShow`` (a number that cannot be shown, with the reason in plain words)
  and ``DatabaseUnavailable``; anything else raised here is a programming error.
"""
