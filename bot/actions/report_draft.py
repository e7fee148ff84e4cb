"""The report the form collected: its read-back for the citizen and the `workorder_draft` payload for the gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from bot.actions.report_kind import request_kind
from core.texts import text
from workorders.records import RequestKind

if TYPE_CHECKING:  # the classifier module loads scikit-learn: only its type is needed here
    from workorders.classifier import Proposal

# The form's slots, in the order they are asked.
SLOTS = ("wo_description", "wo_address", "wo_latitude", "wo_longitude", "wo_since", "wo_contact_method",
         "wo_contact_value", "wo_review", "wo_change", "wo_changing", "wo_note", "wo_kind")
SINCE_UNKNOWN = "unknown"      # wo_since when the citizen does not know
NO_CONTACT = "none"            # wo_contact_method when the citizen does not want to be contacted
CONTACT_METHODS = ("chat", "phone")
DEFAULT_URGENCY = "normal"


def readback(slots: Mapping[str, Any], language: str) -> str:
    """The collected report as short numbered lines, ending with "shall I submit it?"."""
    since = slots.get("wo_since")
    return text(language, "report.readback", description=slots.get("wo_description") or "",
                address=slots.get("wo_address") or "",
                since=text(language, "report.since_unknown") if since in (None, SINCE_UNKNOWN) else since,
                contact=contact_text(slots.get("wo_contact_method"), slots.get("wo_contact_value"), language))


def contact_text(method: Optional[str], value: Optional[str], language: str) -> str:
    """How the department may contact the citizen, in words ("电话 *******5678", "in this chat", "no contact")."""
    if method == "phone":
        return text(language, "report.contact_phone", number=value or "")
    if method == "chat":
        return text(language, "report.contact_chat")
    return text(language, "report.contact_none")


def _float(value: Any) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def draft(slots: Mapping[str, Any], proposal: Optional[Proposal]) -> dict[str, Any]:
    """The `workorder` object of the `workorder_draft` payload: what the citizen said, and the dispatch
    classifier's proposal (department, confidence, urgency, automatic; none when it could not run)."""
    description = str(slots.get("wo_description") or "")
    method = slots.get("wo_contact_method")
    consent = method in CONTACT_METHODS
    since = slots.get("wo_since")
    kind = slots.get("wo_kind")
    return {
        "kind": kind if kind in {k.value for k in RequestKind} else request_kind(description).value,
        "description": description,
        "address": slots.get("wo_address") or None,
        "latitude": _float(slots.get("wo_latitude")),
        "longitude": _float(slots.get("wo_longitude")),
        "since": None if since in (None, "", SINCE_UNKNOWN) else str(since),
        "contact_consent": consent,
        "contact_method": method if consent else None,
        "contact_value": (slots.get("wo_contact_value") or None) if method == "phone" else None,
        "department": proposal.department if proposal else None,
        "confidence": round(float(proposal.confidence), 4) if proposal else None,
        "urgency": str(proposal.urgency.value) if proposal else DEFAULT_URGENCY,
        "automatic": bool(proposal.automatic) if proposal else False,
    }
