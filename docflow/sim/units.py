"""Durations as people read them: ``2 h 05 min``, ``45 s``, ``3 d 04 h`` (for the terminal and report.html).

Must not import simpy, the engine or lxml.
"""

from __future__ import annotations


def human_duration(seconds: float) -> str:
    """``seconds`` in the two largest units that matter: ``8 s``, ``4 min 10 s``, ``2 h 05 min``, ``3 d 04 h``."""
    total = round(max(seconds, 0.0))
    if total < 60:
        return f"{max(seconds, 0.0):.0f} s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f} s"
    if total < 3600:
        minutes, rest = divmod(total, 60)
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    if total < 86400 - 30:
        minutes = round(total / 60)
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest:02d} min" if rest else f"{hours} h"
    hours = round(total / 3600)
    days, rest = divmod(hours, 24)
    return f"{days} d {rest:02d} h" if rest else f"{days} d"
