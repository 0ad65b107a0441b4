"""``docflow diagram``: draw the lifecycles from their own tables as Mermaid ``stateDiagram-v2`` or Graphviz dot.

The drawing reads ``Lifecycle.transitions()`` — the very rows the shared machines are built from — so a
diagram cannot drift from the code.  Edges that change the state are drawn one per event (status events
carry their code, guarded ones their guard); the legal no-ops of a state are drawn as one dotted
self-loop labelled ``stays on …`` (Mermaid ends an edge label at
``:`` or ``;``, so labels never contain them).  One lifecycle gives raw diagram text; several give Markdown, one heading
and one fenced block per lifecycle.  Text only: no graphviz dependency.

Imports only ``docflow.domain`` and the standard library; must not import lxml, sqlalchemy or transports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docflow.domain.lifecycle import LIFECYCLES, STATUS_EVENTS, Lifecycle, Move
from docflow.errors import ConfigError

FORMATS = ("mermaid", "dot")
_CODES = {event: code.value for code, event in STATUS_EVENTS.items()}


def _label(move: Move) -> str:
    code = _CODES.get(move.event)
    text = f"{move.event} ({code})" if code else move.event
    return f"{text} [{move.guard}]" if move.guard else text


def _split(lifecycle: Lifecycle) -> tuple[list[Move], dict[str, list[str]]]:
    """The state-changing moves, and state -> labels of the events it accepts without changing."""
    changes: list[Move] = []
    kept: dict[str, list[str]] = {}
    for move in lifecycle.transitions():
        if move.keeps_state:
            kept.setdefault(move.source.value, []).append(_label(move))
        else:
            changes.append(move)
    return changes, kept


def to_mermaid(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Mermaid ``stateDiagram-v2``."""
    changes, kept = _split(lifecycle)
    lines = ["stateDiagram-v2", f"    %% docflow lifecycle: {lifecycle.name}", f"    [*] --> {lifecycle.initial.value}"]
    lines += [f"    {m.source.value} --> {m.dest.value} : {_label(m)}" for m in changes]
    lines += [f"    {state} --> {state} : stays on {', '.join(labels)}" for state, labels in kept.items()]
    lines += [f"    {state.value} --> [*]" for state in lifecycle.states if state in lifecycle.terminal]
    return "\n".join(lines) + "\n"


def to_dot(lifecycle: Lifecycle) -> str:
    """The lifecycle as a Graphviz ``digraph`` (terminal states drawn with a double border)."""
    changes, kept = _split(lifecycle)
    lines = [
        f"digraph {lifecycle.name} {{",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    __start [shape=point, label=""];',
        f"    __start -> {lifecycle.initial.value};",
    ]
    lines += [f"    {state.value} [peripheries=2];" for state in lifecycle.states if state in lifecycle.terminal]
    lines += [f'    {m.source.value} -> {m.dest.value} [label="{_label(m)}"];' for m in changes]
    for state, labels in kept.items():
        lines.append(f'    {state} -> {state} [label="stays on {", ".join(labels)}", style=dotted];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(names: list[str], fmt: str) -> str:
    """Diagram text for the named lifecycles (raw for one, Markdown sections for several)."""
    draw = to_mermaid if fmt == "mermaid" else to_dot
    if len(names) == 1:
        return draw(LIFECYCLES[names[0]])
    fence = "mermaid" if fmt == "mermaid" else "dot"
    sections = [f"## {name}\n\n```{fence}\n{draw(LIFECYCLES[name])}```\n" for name in names]
    return "# docflow lifecycles\n\n" + "\n".join(sections)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "lifecycle",
        nargs="?",
        choices=sorted(LIFECYCLES),
        type=str.lower,
        help="the lifecycle to draw (default: all of them, as Markdown with one block each)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the diagram to this file instead of stdout")
    parser.add_argument("--format", choices=FORMATS, default="mermaid", help="diagram language (default: mermaid)")


def run(args: argparse.Namespace) -> int:
    names = [args.lifecycle] if args.lifecycle else list(LIFECYCLES)
    text = render(names, args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
