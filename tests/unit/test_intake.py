"""``Intake.add`` sums every counter (it names them one by one, so a new counter must be added there too)."""

from __future__ import annotations

from dataclasses import fields

from docflow.services.receiver import Intake


def test_add_sums_every_counter():
    names = [f.name for f in fields(Intake)]
    total = Intake(**{name: i + 1 for i, name in enumerate(names)})
    total.add(Intake(**{name: 10 * (i + 1) for i, name in enumerate(names)}))
    assert [getattr(total, name) for name in names] == [11 * (i + 1) for i in range(len(names))]
