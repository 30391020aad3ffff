"""How often a user name and a client address may fail to sign in: the back-off policy.

Two limits, each guarding against a different attack, and neither able to lock an account
out for someone elsewhere:

* **By user name, exponential back-off.** The first ``free_failures`` failures in a row cost
  nothing; after that the name must wait ``first_wait`` after its next failure, then twice
  as long after each further one (1 s, 2 s, 4 s, ...), never more than ``max_wait``. A
  success, ``attune users unlock NAME``, or ``memory`` without a failure starts the count
  again. Attempts while the name waits are refused whatever the password, and do not
  lengthen the wait. Made-up names are counted exactly like real ones, so the back-off
  neither tells which names exist nor locks any real account.
* **By client address, a short window.** After ``address_failures`` failures from one
  address within ``address_window``, that address is refused (HTTP 429) until the window has
  moved on: it slows one address down, whatever names it tries, and never touches the
  accounts it tried for anyone at another address.

Pure arithmetic: ``accounts.store.AuthStore`` keeps the counts and asks this module how long
to wait.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

NO_WAIT = dt.timedelta(0)


@dataclass(frozen=True)
class LoginLimits:
    """The sign-in limits of one accounts store (the defaults are the documented policy)."""

    free_failures: int = 5
    first_wait: dt.timedelta = dt.timedelta(seconds=1)
    max_wait: dt.timedelta = dt.timedelta(minutes=15)
    memory: dt.timedelta = dt.timedelta(hours=24)
    address_failures: int = 20
    address_window: dt.timedelta = dt.timedelta(minutes=1)

    def name_wait(self, failures: int) -> dt.timedelta:
        """How long a name waits after its ``failures``-th failure in a row: nothing for the
        first ``free_failures - 1``, then ``first_wait`` doubling with each failure, capped."""
        if failures < self.free_failures:
            return NO_WAIT
        doublings = min(failures - self.free_failures, 40)  # 2**40 s is far past any cap
        return min(self.first_wait * (2 ** doublings), self.max_wait)

    def name_free_at(self, failures: int, last_failure: dt.datetime) -> dt.datetime:
        """When a name with ``failures`` in a row, the last at ``last_failure``, may try again."""
        return last_failure + self.name_wait(failures)

    def failures_still_counted(self, last_failure: dt.datetime, now: dt.datetime) -> bool:
        """A run of failures is forgotten once ``memory`` has passed since its last one."""
        return now - last_failure < self.memory


def seconds_left(until: dt.datetime, now: dt.datetime) -> float:
    """Seconds from ``now`` until ``until``; 0 when it has passed."""
    return max((until - now).total_seconds(), 0.0)
