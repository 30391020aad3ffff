"""Attune: outcomes and research evidence for attachment-based therapy training."""

__version__ = "0.1.0"
