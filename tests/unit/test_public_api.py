import subprocess
import sys

import docflow

PINNED = [
    "Attachment", "Business", "BusinessDocType", "Clock", "Code", "DocflowError", "DocumentId", "Envelope",
    "ManualClock", "Network", "Node", "OrganId", "Organization", "Registry", "Route", "RoutingPolicy", "Settings",
    "StatusCode", "StatusMessage", "Tier", "UnsafeXMLError", "ValidationError", "WallClock", "build_network",
    "read_message", "topology", "write_message",
]  # fmt: skip


def test_public_api_is_sorted_and_pinned():
    assert docflow.__all__ == sorted(docflow.__all__)
    assert docflow.__all__ == PINNED


def test_every_public_name_resolves():
    for name in docflow.__all__:
        assert getattr(docflow, name) is not None, name


def test_importing_docflow_loads_neither_lxml_nor_sqlalchemy():
    code = "import sys, docflow; print('lxml' in sys.modules, 'sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
