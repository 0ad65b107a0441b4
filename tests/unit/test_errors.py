from docflow.errors import (
    DocflowError,
    IllegalTransitionError,
    MalformedXMLError,
    UnsafeXMLError,
    ValidationError,
    Violation,
    XMLError,
)


def test_malformed_is_unsafe_class_and_everything_is_docflow_error():
    assert issubclass(MalformedXMLError, UnsafeXMLError)
    assert issubclass(ValidationError, XMLError)
    assert issubclass(XMLError, DocflowError)


def test_violation_text_names_file_line_path_and_rule():
    v = Violation("value too long", line=12, path="/edXML/edXMLEnvelope/Subject", rule="maxLength", file="a.edxml")
    assert str(v) == "a.edxml: 12: /edXML/edXMLEnvelope/Subject: value too long [maxLength]"


def test_with_file_names_the_file_in_every_violation():
    err = ValidationError("bad", violations=[Violation("x", line=3, path="/a")]).with_file("f.xml")
    assert isinstance(err, ValidationError)
    assert [v.file for v in err.violations] == ["f.xml"]


def test_illegal_transition_names_document_state_and_event():
    err = IllegalTransitionError(document="D1", state="queued", event="complete", lifecycle="delivery")
    assert "D1" in str(err) and "queued" in str(err) and "complete" in str(err)
