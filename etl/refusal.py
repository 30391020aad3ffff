"""The one way a whole input file is refused: a reason in words and how to fix it."""

from __future__ import annotations


class FileRejected(Exception):
    """A whole file is refused: nothing of it loads. Says what is wrong and how to fix it."""

    def __init__(self, reason: str, fix: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.reason}. {self.fix}" if self.fix else self.reason
