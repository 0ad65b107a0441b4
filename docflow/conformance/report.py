"""The conformance run as a table, a JUnit XML file (for a vendor's CI) and a JSON file.

The JUnit file is written with the standard library's ElementTree (an output, never parsed back).
Must not import lxml, sqlalchemy or the engine.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree  # writing only: docflow parses XML through docflow.xml.parser
from collections.abc import Sequence
from pathlib import Path

from docflow.conformance.cases import Verdict


def table(verdicts: Sequence[Verdict]) -> str:
    """One line per case: name, PASS/FAIL (``optional`` marked), reason."""
    width = max((len(v.case) for v in verdicts), default=4)
    lines = [f"{'case':<{width}}  verdict  reason"]
    for v in verdicts:
        verdict = ("PASS" if v.passed else "FAIL") + ("" if v.required else "?")
        lines.append(f"{v.case:<{width}}  {verdict:<7}  {v.reason}")
    return "\n".join(lines)


def conforms(verdicts: Sequence[Verdict]) -> bool:
    """True when every required case passed."""
    return all(v.passed for v in verdicts if v.required)


def write_json(verdicts: Sequence[Verdict], path: Path, url: str) -> None:
    payload = {
        "url": url,
        "conforms": conforms(verdicts),
        "cases": [{"case": v.case, "passed": v.passed, "required": v.required, "reason": v.reason} for v in verdicts],
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_junit(verdicts: Sequence[Verdict], path: Path, url: str) -> None:
    failures = sum(not v.passed for v in verdicts)
    suite = ElementTree.Element(
        "testsuite", name="docflow-conformance", tests=str(len(verdicts)), failures=str(failures), hostname=url
    )
    for v in verdicts:
        case = ElementTree.SubElement(suite, "testcase", classname="docflow.conformance", name=v.case)
        if not v.passed:
            ElementTree.SubElement(case, "failure", message=v.reason).text = v.reason
        else:
            ElementTree.SubElement(case, "system-out").text = v.reason
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
