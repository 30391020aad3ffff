"""The errors a reader may see: a number that cannot be shown for a reason in plain words
(too few people, hidden to protect a small group, no data for these filters), and a database
that cannot be read at all.

Anything else raised by the analysis layer is a programming error and fails loudly.
"""

from __future__ import annotations

# The reason a sponsor is given for figures that have no disclosure control yet (they are
# refused for published filters rather than shown exact).
NOT_PUBLISHED = "not published yet"


class CannotShow(ValueError):
    """A result cannot be shown; ``str(error)`` is the reason, written for the reader.

    A ``ValueError`` so that callers written against the analysis layer's earlier
    ``ValueError`` keep reporting it; new code catches ``CannotShow`` itself.
    """


class DatabaseUnavailable(RuntimeError):
    """The database file is missing or could not be opened."""
