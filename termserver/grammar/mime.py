"""MIME types (`urn:ietf:bcp:13`): `type/subtype` with optional `; name=value` parameters
(RFC 2045 §5.1, RFC 6838 §4.2). Not only registered types: `x-` and vendor types are in use,
so the IANA registry is not the limit (as in the reference server, which accepts any non-empty
type and subtype; here they must also be RFC 6838 restricted names). Type, subtype and
parameter names are case-insensitive. The display is the normal form: type and subtype in
lower case, parameters as `; name=value`. Not enumerable.
"""

from __future__ import annotations

import re

from termserver.grammar.provider import GrammarCodeSystem
from termserver.model import CodeSystemInfo, Concept, ConceptDetail, ConceptProperty

BCP13 = "urn:ietf:bcp:13"
MAX_LENGTH = 300
#: RFC 6838 restricted-name characters, plus the `*` of media ranges; nothing else in a name.
_NAME = re.compile(r"^[A-Za-z0-9!#$&^_.+*-]{1,127}$")
#: Parameter values: an RFC 2045 token or a quoted string.
_VALUE = re.compile(r'^(?:[!#$%&\'*+.^_`|~0-9A-Za-z-]+|"(?:[^"\\]|\\.)*")$')


def parse(code: str) -> tuple[str, str, list[tuple[str, str]]] | None:
    """(type, subtype, parameters) in normal form, or None when `code` is not a media type."""
    if not code or len(code) > MAX_LENGTH or code != code.strip():
        return None
    head, *params = code.split(";")
    kind, slash, subtype = head.strip().partition("/")
    if not slash or not _NAME.match(kind) or not _NAME.match(subtype):
        return None
    out: list[tuple[str, str]] = []
    for param in params:
        name, eq, value = param.strip().partition("=")
        if not eq or not _NAME.match(name.strip()) or not _VALUE.match(value.strip()):
            return None
        out.append((name.strip().lower(), value.strip()))
    return kind.lower(), subtype.lower(), out


def normal_form(kind: str, subtype: str, params: list[tuple[str, str]]) -> str:
    return "; ".join([f"{kind}/{subtype}", *(f"{n}={v}" for n, v in params)])


class MimeTypes(GrammarCodeSystem):
    filters = {"type": ("=",), "subtype": ("=",)}

    def __init__(self) -> None:
        super().__init__(CodeSystemInfo(BCP13, None, name="MimeTypes", title="Mime Types",
                                        case_sensitive=False, language="en"))

    def describe(self, code: str) -> ConceptDetail | None:
        parsed = parse(code)
        if parsed is None:
            return None
        kind, subtype, params = parsed
        return ConceptDetail(Concept(code, normal_form(kind, subtype, params)), properties=(
            ConceptProperty(code, "type", kind, "code"),
            ConceptProperty(code, "subtype", subtype, "code")))
