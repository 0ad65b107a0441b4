"""The edXML status message and its codes (01–06 from the receiver, 13 from the sender, 15/16 replies).

Pure: standard library and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from docflow.domain.envelope import Organization, ResponseFor, StaffInfo, TraceHeader
from docflow.errors import IdentifierError


class StatusCode(Enum):
    """``StatusCode``: two digits on the wire."""

    ARRIVED = "01"  # đã đến: the receiving system has it
    REJECTED = "02"  # từ chối / trả lại, reason in Description
    ACCEPTED = "03"  # đã tiếp nhận: registered in the incoming book
    ASSIGNED = "04"  # đã phân công
    PROCESSING = "05"  # đang xử lý
    COMPLETED = "06"  # đã hoàn thành
    RECALLED = "13"  # the sender recalls (withdraws) the document
    AGREED = "15"  # the receiver agrees to a recall / update / replacement
    REFUSED = "16"  # the receiver refuses a recall / update / replacement

    @classmethod
    def parse(cls, text: str) -> StatusCode:
        """Parse the wire form; ``14`` (sent by one SDK where 15 is meant) reads as AGREED."""
        value = text.strip()
        if value == "14":
            return cls.AGREED
        if len(value) == 1 and value.isdigit():
            value = "0" + value
        try:
            return cls(value)
        except ValueError:
            known = ", ".join(c.value for c in cls)
            raise IdentifierError(
                f"unknown StatusCode {text!r}: expected one of {known}", value=text, rule="status-code"
            ) from None

    @property
    def label(self) -> str:
        """Vietnamese display text."""
        return _LABELS[self]

    @property
    def from_receiver(self) -> bool:
        """True for codes a receiver sends (all but 13)."""
        return self is not StatusCode.RECALLED


_LABELS = {
    StatusCode.ARRIVED: "Đã đến",
    StatusCode.REJECTED: "Từ chối",
    StatusCode.ACCEPTED: "Đã tiếp nhận",
    StatusCode.ASSIGNED: "Đã phân công",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.COMPLETED: "Đã hoàn thành",
    StatusCode.RECALLED: "Thu hồi",
    StatusCode.AGREED: "Đồng ý thu hồi/cập nhật/thay thế",
    StatusCode.REFUSED: "Từ chối thu hồi/cập nhật/thay thế",
}


@dataclass(frozen=True, slots=True)
class StatusMessage:
    """A status message: ``From`` reports ``status`` about the document named in ``response_for``."""

    sender: Organization  # From
    response_for: ResponseFor  # ResponseFor (OrganId = the original sender)
    status: StatusCode  # StatusCode
    timestamp: datetime  # Timestamp
    description: str = ""  # Description
    staff: StaffInfo | None = None  # StaffInfo
    trace: tuple[TraceHeader, ...] = ()  # TraceHeaderList/TraceHeader*, added by hops (optional)
