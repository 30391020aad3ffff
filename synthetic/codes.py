"""Anonymous participant codes like K7QF-2M9X: 4 + 4 characters without look-alikes."""

from __future__ import annotations

import numpy as np

# No 0/O and no 1/I: 32 characters, so a code is a number below 32**8 written in base 32.
_CODE_ALPHABET = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)
CODE_SPACE = 32**8


def code_numbers(rng: np.random.Generator, n: int, taken: np.ndarray | None = None) -> np.ndarray:
    """`n` distinct random numbers below 32**8 (one per participant code), none in `taken`."""
    numbers = np.empty(0, dtype=np.int64)
    while numbers.size < n:
        merged = np.concatenate([numbers, rng.integers(0, CODE_SPACE, size=n - numbers.size + 8)])
        _, first = np.unique(merged, return_index=True)
        keep = np.zeros(merged.size, dtype=bool)
        keep[first] = True
        if taken is not None and taken.size:
            keep &= ~np.isin(merged, taken)
        numbers = merged[keep]
    return numbers[:n]


def format_codes(numbers: np.ndarray) -> np.ndarray:
    """The code of each number below 32**8, e.g. K7QF-2M9X."""
    chars = np.full((numbers.size, 9), ord("-"), dtype=np.uint8)
    rest = numbers.copy()
    for position in (8, 7, 6, 5, 3, 2, 1, 0):
        chars[:, position] = _CODE_ALPHABET[rest % 32]
        rest //= 32
    return chars.view("S9").ravel().astype("<U9")


def numbers_of(codes) -> np.ndarray:
    """The number of each code written by `format_codes` (its inverse)."""
    lookup = np.full(256, -1, dtype=np.int64)
    lookup[_CODE_ALPHABET] = np.arange(_CODE_ALPHABET.size)
    numbers = np.zeros(len(codes), dtype=np.int64)
    for position in (0, 1, 2, 3, 5, 6, 7, 8):
        chars = np.array([ord(code[position]) for code in codes], dtype=np.int64)
        numbers = numbers * 32 + lookup[chars]
    return numbers
