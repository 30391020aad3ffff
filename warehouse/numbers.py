"""Numbers as results carry them: plain Python values that serialise to JSON."""

from __future__ import annotations

import math
from typing import Any


def clean(value: Any) -> Any:
    """NaN and infinities -> None, numpy scalars -> Python (so results serialise to JSON)."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "item"):
        return clean(value.item())
    return value
