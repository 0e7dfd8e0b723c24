"""Mail that is not a letter: auto-replies, bounces, lists, bulk, our own loops; suspect mail.

Part of letters.intake.parse (no Django, no database, no network).
"""

from __future__ import annotations

import re

from ..addresses import normalise_address
from .decoding import MAX_ADDRESS_CHARS, address_matches, decode_header_value

_OOO_SUBJECT = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)"
    r"|auto:|autoreply|abwesenheitsnotiz|réponse automatique|respuesta automática"
    r"|away from (?:the|my) office)",
    re.IGNORECASE,
)


def auto_reason(
    h: dict[str, list[str]],
    ctype_root: str,
    report_type: str,
    from_addr: str,
    own: set[str],
) -> str:
    def first(name: str) -> str:
        v = h.get(name)
        return v[0].strip().lower() if v else ""

    if own:
        if normalise_address(from_addr, drop_tag=True) in own:
            return "loop"
        x_loop = " ".join(h.get("x-loop", []))[:MAX_ADDRESS_CHARS]
        for m in address_matches(x_loop):
            if normalise_address(m.group(0), drop_tag=True) in own:
                return "loop"
    local = from_addr.split("@", 1)[0]
    return_path = first("return-path")
    if (
        (ctype_root == "multipart/report" and report_type in ("delivery-status", ""))
        or return_path.replace(" ", "") == "<>"
        or local in ("mailer-daemon", "postmaster")
        or "x-failed-recipients" in h
    ):
        return "bounce"
    auto = first("auto-submitted")
    precedence = first("precedence")
    if (
        (auto and auto.split(";", 1)[0].strip() != "no")
        or "x-autoreply" in h
        or "x-autorespond" in h
        or "x-autoresponse" in h
        or precedence == "auto_reply"
        or ctype_root == "multipart/report"
        or _OOO_SUBJECT.match(decode_header_value(h.get("subject", [""])[0]))
    ):
        return "auto-reply"
    if "list-id" in h or precedence == "list" or "list-post" in h:
        return "mailing-list"
    if precedence in ("bulk", "junk") or "list-unsubscribe" in h:
        return "bulk"
    return ""


def suspect_reasons(h: dict[str, list[str]]) -> list[str]:
    out = []
    flag = " ".join(h.get("x-spam-flag", [])).strip().lower()
    status = " ".join(h.get("x-spam-status", [])).strip().lower()
    if flag.startswith("yes") or status.startswith("yes"):
        out.append("spam-flag")
    auth = " ".join(h.get("authentication-results", [])).lower()
    if re.search(r"\bdmarc\s*=\s*fail\b", auth):
        out.append("dmarc-fail")
    return out
