"""``docflow diagram``: every transition of every lifecycle is drawn, in Mermaid and in dot, to stdout or a file."""

from __future__ import annotations

import re

import pytest

from docflow.cli.main import main
from docflow.domain.lifecycle import LIFECYCLES, STATUS_EVENTS

KEPT = "stays on "
CODES = {event: code.value for code, event in STATUS_EVENTS.items()}


def _label(event: str, guard: str) -> str:
    text = f"{event} ({CODES[event]})" if event in CODES else event
    return f"{text} [{guard}]" if guard else text


def _mermaid_edges(text: str) -> set[tuple[str, str, str]]:
    """(source, dest, label) for every drawn edge; a `stays on` self-loop yields one edge per listed event."""
    edges = set()
    for source, dest, label in re.findall(r"^\s+(\w+) --> (\w+) : (.+)$", text, flags=re.M):
        labels = label.removeprefix(KEPT).split(", ") if label.startswith(KEPT) else [label]
        edges.update((source, dest, one) for one in labels)
    return edges


def _dot_edges(text: str) -> set[tuple[str, str, str]]:
    edges = set()
    for source, dest, label in re.findall(r'^\s+(\w+) -> (\w+) \[label="([^"]+)"', text, flags=re.M):
        labels = label.removeprefix(KEPT).split(", ") if label.startswith(KEPT) else [label]
        edges.update((source, dest, one) for one in labels)
    return edges


def _expected(name: str) -> set[tuple[str, str, str]]:
    return {(m.source.value, m.dest.value, _label(m.event, m.guard)) for m in LIFECYCLES[name].transitions()}


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_mermaid_draws_every_transition(name, capsys):
    assert main(["diagram", name]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stateDiagram-v2\n")
    assert _mermaid_edges(out) == _expected(name)
    # Mermaid's lexer reads an edge label as ":" [^:\n;]+ — a second colon or a semicolon would break it
    for label in re.findall(r"^\s+\S+ --> \S+ : (.+)$", out, flags=re.M):
        assert ":" not in label and ";" not in label, label
    lifecycle = LIFECYCLES[name]
    assert f"[*] --> {lifecycle.initial.value}" in out
    for state in lifecycle.terminal:
        assert f"{state.value} --> [*]" in out


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_dot_draws_every_transition(name, capsys):
    assert main(["diagram", name, "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"digraph {name} {{\n") and out.rstrip().endswith("}")
    assert _dot_edges(out) == _expected(name)
    for state in LIFECYCLES[name].terminal:
        assert f"{state.value} [peripheries=2];" in out


def test_delivery_diagram_shows_codes_guards_and_no_ops(capsys):
    assert main(["diagram", "DELIVERY"]) == 0  # the name is case-insensitive
    out = capsys.readouterr().out
    assert "sent --> arrived : arrive (01)" in out
    assert "arrived --> processing : process (05)" in out  # skipping stages
    assert "retrying --> dead : fail [budget spent]" in out
    assert "processing --> processing : stays on update, arrive (01), accept (03), assign (04), process (05)" in out


def test_all_of_them_as_markdown_to_a_file(tmp_path, capsys):
    target = tmp_path / "lifecycles.md"
    assert main(["diagram", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    text = target.read_text(encoding="utf-8")
    assert text.count("```mermaid\nstateDiagram-v2\n") == len(LIFECYCLES)
    for name in LIFECYCLES:
        assert f"## {name}\n" in text
        assert _mermaid_edges(text) >= _expected(name)


def test_one_dot_file(tmp_path):
    target = tmp_path / "amendment.dot"
    assert main(["diagram", "amendment", "--format", "dot", "--output", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("digraph amendment {") and _dot_edges(text) == _expected("amendment")


@pytest.mark.parametrize("argv", [["diagram", "nosuch"], ["diagram", "delivery", "--format", "png"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_an_unwritable_output_is_one_line_not_a_traceback(tmp_path, capsys):
    target = tmp_path / "missing" / "dir" / "x.md"
    assert main(["diagram", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err == f"docflow diagram: error: cannot write {target}: No such file or directory\n"
    assert not target.parent.exists()
