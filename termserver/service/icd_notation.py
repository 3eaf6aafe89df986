"""ICD-10-GM code notation: split strings such as `I25.11† N08.3*`, `A01.0+`, `U69.10!` or
`J65 U69.12` into bare codes with their roles.

German documentation writes ICD-10-GM codes with markers: the dagger `†` (old form `+`) for
the aetiology code, `*` for the manifestation (asterisk) code, `!` for an optional additional
code, a trailing `-` for a non-terminal code (`A00.-`), sometimes without the dot (`I2511`),
and a diagnosis certainty (G, V, Z, A) or laterality (R, L, B) letter after the code. None of
that belongs in `Coding.code` (de.basisprofil.r4: the markers go into the
`icd-10-gm-mehrfachcodierungs-kennzeichen` extension, certainty and side into their own
extensions). `parse` splits a string for ETL; `notation_issue` explains to a $validate-code
caller which bare codes were meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from termserver.aliases import ICD_10_GM, canonical_system
from termserver.errors import InvalidRequest
from termserver.model import ConceptDetail, Issue
from termserver.service.context import TxContext

Role = Literal["primary", "dagger", "asterisk", "additional"]

#: marker → role; `+` is the dagger of the older notation, `✝` a common look-alike.
MARKERS: dict[str, Role] = {"†": "dagger", "+": "dagger", "✝": "dagger", "*": "asterisk",
                            "!": "additional"}
CERTAINTY = {"G": "gesichert", "V": "Verdacht auf", "Z": "Zustand nach",
             "A": "ausgeschlossen"}
LATERALITY = {"R": "rechts", "L": "links", "B": "beidseitig"}

_CODE = re.compile(r"(?P<code>[A-Z]\d{2}(?:\.\d{0,2}|\d{1,2})?)(?P<dash>\.?-)?"
                   r"\s*(?P<marker>[†✝*!+])?", re.IGNORECASE)
_LETTER = re.compile(r"(?<![A-Za-z0-9])(?P<letter>[GVZARLB])(?![A-Za-z0-9.])")
_SEPARATORS = re.compile(r"[\s,;/|&]*")


@dataclass(frozen=True, slots=True)
class NotationPart:
    code: str  # the bare code, e.g. "I25.11"
    role: Role
    given: str  # the token as written, e.g. "I25.11†"
    marker: str | None = None  # †, *, ! or + as written


@dataclass(frozen=True, slots=True)
class Notation:
    text: str
    parts: tuple[NotationPart, ...]
    certainty: str | None = None  # G, V, Z or A
    laterality: str | None = None  # R, L or B
    rest: str = ""  # what could not be read, empty when all of `text` was understood

    @property
    def changed(self) -> bool:
        """True when `text` is not one bare code (markers, several codes, letters, ...)."""
        return len(self.parts) != 1 or self.parts[0].code != self.text.strip() \
            or self.certainty is not None or self.laterality is not None or bool(self.rest)


Usage = Callable[[str], str | None]  # bare code → ClaML usage (aster, optional, dagger) or None


def parse(text: str, usage: Usage | None = None) -> Notation:
    """Split `text` into bare ICD-10-GM codes with roles. Unmarked codes: the first is the
    primary code; the others take their role from `usage` (the code system's `usage`
    property: aster → asterisk, else additional)."""
    parts: list[NotationPart] = []
    certainty = laterality = None
    rest: list[str] = []
    pos = 0
    while pos < len(text):
        sep = _SEPARATORS.match(text, pos)
        pos = sep.end() if sep else pos
        if pos >= len(text):
            break
        m = _CODE.match(text, pos)
        if m is not None:
            parts.append(_part(m, len(parts), usage))
            pos = m.end()
            continue
        letter = _LETTER.match(text, pos)
        if letter is not None:
            value = letter.group("letter").upper()
            if value in LATERALITY and laterality is None:
                laterality = value
            elif value in CERTAINTY and certainty is None:
                certainty = value
            else:
                rest.append(value)
            pos = letter.end()
            continue
        end = pos
        while end < len(text) and not text[end].isspace():
            end += 1
        rest.append(text[pos:end])
        pos = end
    return Notation(text, tuple(parts), certainty, laterality, " ".join(rest))


def _part(m: re.Match[str], index: int, usage: Usage | None) -> NotationPart:
    raw = m.group("code").upper()
    code = raw if "." in raw or len(raw) == 3 else f"{raw[:3]}.{raw[3:]}"
    code = code.rstrip(".")
    marker = m.group("marker")
    role: Role
    if marker:
        role = MARKERS[marker]
    elif index == 0:
        role = "primary"
    else:
        kind = usage(code) if usage is not None else None
        role = "asterisk" if kind == "aster" else "dagger" if kind == "dagger" else "additional"
    return NotationPart(code, role, m.group(0).strip(), marker)


def usage_from(lookup: Callable[[str], ConceptDetail | None]) -> Usage:
    """A `Usage` reading the `usage` property through a code system lookup."""
    def usage(code: str) -> str | None:
        detail = lookup(code)
        if detail is None:
            return None
        return next((p.value for p in detail.properties if p.property == "usage"), None)
    return usage


def describe(notation: Notation) -> str:
    """`'I25.11' (dagger), 'N08.3' (asterisk)` and the letters, for messages."""
    out = [f"'{p.code}' ({p.role})" for p in notation.parts]
    if notation.certainty:
        out.append(f"diagnosis certainty '{notation.certainty}' "
                   f"({CERTAINTY[notation.certainty]})")
    if notation.laterality:
        out.append(f"laterality '{notation.laterality}' ({LATERALITY[notation.laterality]})")
    return ", ".join(out)


def notation_issue(system: str, code: str, prefix: str = "",
                   usage: Usage | None = None) -> Issue | None:
    """For an unknown ICD-10-GM code written in coding notation: an error naming the bare
    code(s) and their roles. None for other systems and for codes without notation."""
    if system != ICD_10_GM or not code:
        return None
    notation = parse(code, usage)
    if not notation.parts or notation.rest or not notation.changed:
        return None
    several = len(notation.parts) > 1
    text = (f"The code '{code}' is written in ICD-10-GM coding notation, which Coding.code "
            f"does not allow: it stands for {describe(notation)}. "
            + ("Send one Coding per code; " if several else "Send the bare code; ")
            + "mark dagger/asterisk/additional codes with the extension "
              "http://fhir.de/StructureDefinition/icd-10-gm-mehrfachcodierungs-kennzeichen "
              "(CodeSystem/$normalize splits such strings)")
    return Issue("error", "code-invalid", text, "invalid-code", (f"{prefix}code",),
                 "ICD10GM_CODE_NOTATION")


# -- CodeSystem/$normalize ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalizedCode:
    part: NotationPart
    system: str
    version: str | None  # the code system version checked against, None when not loaded
    display: str | None = None
    found: bool | None = None  # None: ICD-10-GM is not loaded, the code was not checked


@dataclass(frozen=True, slots=True)
class NormalizeResult:
    notation: Notation
    codes: tuple[NormalizedCode, ...]


def normalize(ctx: TxContext, text: str, system: str | None = None,
              version: str | None = None) -> NormalizeResult:
    """Split `text` into bare ICD-10-GM codes with roles, each checked against the loaded
    version (`version`, else the latest) when ICD-10-GM is loaded."""
    if not text.strip():
        raise InvalidRequest("parameter 'code' is required: the ICD-10-GM string to split",
                             expression=("code",))
    wanted = canonical_system(system) if system else ICD_10_GM
    if wanted != ICD_10_GM:
        raise InvalidRequest(f"$normalize knows the coding notation of {ICD_10_GM} only, "
                             f"not {system}", expression=("system",))
    provider = ctx.code_system(ICD_10_GM, version)
    if provider is None and version is not None:
        raise InvalidRequest(f"ICD-10-GM version '{version}' is not loaded",
                             expression=("version",))
    notation = parse(text, usage_from(provider.lookup) if provider is not None else None)
    if not notation.parts:
        raise InvalidRequest(f"no ICD-10-GM code found in {text!r}", expression=("code",))
    codes = []
    for part in notation.parts:
        if provider is None:
            codes.append(NormalizedCode(part, ICD_10_GM, None))
            continue
        detail = provider.lookup(part.code)
        codes.append(NormalizedCode(part, ICD_10_GM, provider.version,
                                    detail.concept.display if detail else None,
                                    detail is not None))
    return NormalizeResult(notation, tuple(codes))


__all__ = ["CERTAINTY", "LATERALITY", "MARKERS", "NormalizeResult", "NormalizedCode", "Notation",
           "NotationPart", "Role", "describe", "normalize", "notation_issue", "parse",
           "usage_from"]
