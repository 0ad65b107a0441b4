"""A transport ``Message`` checks what it is made of and keeps a read-only copy of its headers."""

from __future__ import annotations

import pytest

from docflow.errors import TransportError
from docflow.transports.base import Message


class Code(str):
    """A str subclass: still text."""


def message(headers: object) -> Message:
    return Message("m-1", "000.00.00.H58", "000.00.50.H58", "edoc", b"<x/>", headers)  # type: ignore[arg-type]


def test_headers_are_copied_read_only_and_str_subclasses_are_text():
    given = {"origin": "000.00.00.H58", Code("route"): Code("a>b")}
    sent = message(given)
    given["origin"] = "changed"
    assert dict(sent.headers) == {"origin": "000.00.00.H58", "route": "a>b"}
    with pytest.raises(TypeError):
        sent.headers["origin"] = "x"  # type: ignore[index]


@pytest.mark.parametrize("headers", [{"round": 1}, {1: "x"}, {"document": b"bytes"}, {"a": "b", "c": None}])
def test_a_header_that_is_not_text_is_refused_by_name(headers):
    with pytest.raises(TransportError, match="message headers must map str to str") as caught:
        message(headers)
    key, value = next((k, v) for k, v in headers.items() if not (isinstance(k, str) and isinstance(v, str)))
    assert f"{key!r}={value!r}" in str(caught.value)
