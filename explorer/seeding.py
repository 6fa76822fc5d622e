"""Randomness keyed by (trial seed, name), so each mechanism draws the same values in every combination (DESIGN 3.4)."""

from __future__ import annotations

import hashlib

import torch

__all__ = ["derive_seed", "generator"]


def derive_seed(seed: int, name: str) -> int:
    """A 63-bit seed from the trial seed and a stream name; stable across runs and platforms."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator(seed: int, name: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` for the stream ``name`` of trial ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, name))
    return g
