"""Keyed random draws: a number that depends on the run's seed and on what it is drawn for, never on when.

A shared ``random.Random`` gives each caller the next number of one stream, so a draw depends on how many
draws came before it.  The two fidelities make different calls in a different order (the engine sends
status messages the model leaves out, and handles a node's documents in the order its queue gives them), so
a shared stream sends them apart after the first difference.  Here every draw is named instead: the latency
of a hop is drawn for that message and that hop, a clerk's durations for that node and that document.  The
same scenario and seed then give the same times in both fidelities, and a draw added somewhere else does not
move any other.

``unit(seed, *key)`` is a uniform number in [0, 1) from BLAKE2b over the seed and the key (half a
microsecond); ``stream(seed, *key)`` is a ``random.Random`` seeded the same way, for a caller that needs
several numbers (a clerk's steps) or a distribution ``random`` already implements.
Pure: standard library only.
"""

from __future__ import annotations

import hashlib
import random

_SEPARATOR = "\x1f"  # no key part contains it (codes, document ids, kinds, numbers)
_SCALE = 1.0 / 2.0**64


def _digest(seed: int | str, key: tuple[object, ...], size: int) -> int:
    text = _SEPARATOR.join((str(seed), *map(str, key)))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=size).digest(), "big")


def unit(seed: int | str, *key: object) -> float:
    """A uniform number in [0, 1) named by ``key`` for this ``seed``."""
    return _digest(seed, key, 8) * _SCALE


def stream(seed: int | str, *key: object) -> random.Random:
    """A ``random.Random`` of its own, named by ``key`` for this ``seed``."""
    return random.Random(_digest(seed, key, 16))


__all__ = ["stream", "unit"]
