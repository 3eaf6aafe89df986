"""BCP-47 language tags (`urn:ietf:bcp:47`): the RFC 5646 grammar over the IANA language
subtag registry (the copy the `language_data` package ships). Displays come from `langcodes`
(CLDR names, "German (Germany)"), else from the registry's descriptions.

Tags are case-insensitive (RFC 5646 §2.1.1): a tag in another case is found, and its code is
the tag in the registry's conventions (language, extlang, variants and extensions lower case,
script title case, region upper case), so $validate-code reports the case difference, as the
reference server (FHIRsmith) does. Lookups name the tag in several languages (CLDR via
langcodes), so a German "Deutsch (Deutschland)" is a known display of `de-DE`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files

import langcodes

from termserver.grammar.provider import GrammarCodeSystem, preferred
from termserver.model import (
    CodeSystemInfo,
    Concept,
    ConceptDetail,
    ConceptProperty,
    Designation,
)

BCP47 = "urn:ietf:bcp:47"
MAX_LENGTH = 200
#: Languages the lookup names a tag in besides English (CLDR names, where CLDR has them).
TRANSLATIONS = ("de", "fr", "es", "it", "nl", "pt", "ru", "zh", "ja", "ar", "sw")
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")


@dataclass(slots=True)
class Registry:
    date: str = ""
    subtags: dict[str, dict[str, str]] = field(default_factory=dict)  # type → subtag → name
    ranges: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    grandfathered: dict[str, str] = field(default_factory=dict)  # tag → description
    folded: dict[str, str] = field(default_factory=dict)  # lower-case tag → grandfathered tag


@cache
def registry() -> Registry:
    """The IANA language subtag registry, parsed once."""
    text = files("language_data").joinpath("data/language-subtag-registry.txt").read_text(
        encoding="utf-8")
    out = Registry()
    for record in text.split("\n%%\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in record.splitlines():
            if line.startswith(" ") and key:  # a folded continuation line
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                fields.setdefault(key, value.strip())  # the first Description is the name
        if "File-Date" in fields:
            out.date = fields["File-Date"]
        kind, name = fields.get("Type"), fields.get("Description", "")
        if kind in ("grandfathered", "redundant") and "Tag" in fields:
            if kind == "grandfathered":
                out.grandfathered[fields["Tag"]] = name
                out.folded[fields["Tag"].lower()] = fields["Tag"]
        elif kind and "Subtag" in fields:
            subtag = fields["Subtag"]
            if ".." in subtag:
                low, _, high = subtag.partition("..")
                out.ranges.setdefault(kind, []).append((low, high, name))
            else:
                out.subtags.setdefault(kind, {})[subtag] = name
    return out


def _name(kind: str, subtag: str) -> str | None:
    reg = registry()
    found = reg.subtags.get(kind, {}).get(subtag)
    if found is not None:
        return found
    for low, high, name in reg.ranges.get(kind, ()):
        if len(subtag) == len(low) and low <= subtag <= high:
            return name
    return None


@dataclass(slots=True)
class Tag:
    language: str
    extlangs: list[str] = field(default_factory=list)
    script: str | None = None
    region: str | None = None
    variants: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    private: str | None = None
    whole: str | None = None  # a grandfathered tag, taken whole

    def __str__(self) -> str:
        """The tag in the registry's case conventions."""
        if self.whole:
            return self.whole
        parts = [self.language, *self.extlangs, self.script, self.region, *self.variants,
                 *self.extensions, self.private]
        return "-".join(p for p in parts if p)


def parse(tag: str) -> Tag | str:
    """The parts of a valid tag (in canonical case), else the reason it is not valid."""
    if not tag or len(tag) > MAX_LENGTH:
        return "empty or too long"
    whole = registry().folded.get(tag.lower())
    if whole is not None:
        return Tag("", whole=whole)
    parts = tag.lower().split("-")
    if any(not p or not _ALNUM.match(p) or len(p) > 8 for p in parts):
        return "a subtag is empty, longer than 8 characters or not alphanumeric"
    if parts[0] == "x":
        return Tag("", private="-".join(parts)) if len(parts) > 1 else "empty private use"
    first = parts.pop(0)
    if not (first.isalpha() and 2 <= len(first) <= 8 and len(first) != 4):
        return f"'{first}' is not a language subtag"
    if _name("language", first) is None:
        return f"unknown language '{first}'"
    out = Tag(first)
    while parts and len(parts[0]) == 3 and parts[0].isalpha() and len(out.extlangs) < 3:
        if _name("extlang", parts[0]) is None:
            return f"unknown extended language '{parts[0]}'"
        out.extlangs.append(parts.pop(0))
    if parts and len(parts[0]) == 4 and parts[0].isalpha():
        script = parts.pop(0).title()
        if _name("script", script) is None:
            return f"unknown script '{script}'"
        out.script = script
    if parts and ((len(parts[0]) == 2 and parts[0].isalpha()) or
                  (len(parts[0]) == 3 and parts[0].isdigit())):
        region = parts.pop(0).upper()
        if _name("region", region) is None:
            return f"unknown region '{region}'"
        out.region = region
    while parts and (len(parts[0]) >= 5 or (len(parts[0]) == 4 and parts[0][0].isdigit())):
        variant = parts.pop(0)
        if _name("variant", variant) is None or variant in out.variants:
            return f"unknown or repeated variant '{variant}'"
        out.variants.append(variant)
    seen: set[str] = set()
    while parts and len(parts[0]) == 1 and parts[0] != "x":
        singleton = parts.pop(0)
        body = []
        while parts and len(parts[0]) >= 2:
            body.append(parts.pop(0))
        if not body or singleton in seen:
            return f"invalid or repeated extension '{singleton}'"
        seen.add(singleton)
        out.extensions.append("-".join([singleton, *body]))
    if parts and parts[0] == "x":
        if len(parts) == 1:
            return "empty private use"
        out.private = "-".join(parts)
        parts = []
    if parts:
        return f"unexpected subtag '{parts[0]}'"
    return out


def display(parsed: Tag, language: str = "en") -> str | None:
    """A human-readable name in `language`: CLDR's (via langcodes) when it knows the tag; in
    English else the registry's descriptions, "Language (Script, Region, Variant)"."""
    if parsed.whole:
        return registry().grandfathered[parsed.whole] if language == "en" else None
    if not parsed.language:
        return "Private use" if language == "en" else None
    try:
        name = str(langcodes.Language.get(str(parsed), normalize=False).display_name(language))
    except (ValueError, KeyError):  # langcodes.LanguageTagError is a ValueError
        name = ""
    if name and "Unknown" not in name and "[" not in name:
        return name
    if language != "en":
        return None
    extra = [n for n in ([_name("script", parsed.script)] if parsed.script else [])
             + ([_name("region", parsed.region)] if parsed.region else [])
             + [_name("variant", v) for v in parsed.variants] if n]
    base = _name("language", parsed.language) or parsed.language
    return f"{base} ({', '.join(extra)})" if extra else base


@lru_cache(maxsize=4096)
def _detail(tag: str) -> ConceptDetail | None:
    parsed = parse(tag)
    if isinstance(parsed, str):
        return None
    code = str(parsed)
    name = display(parsed) or code
    designations = [preferred(code, name)]
    if parsed.region and not (parsed.script or parsed.variants or parsed.extlangs):
        language = _name("language", parsed.language)
        region = _name("region", parsed.region)
        for alternative in (f"{language} ({region})", f"{language} (Region={region})"):
            if alternative != name:  # the registry's wording, as the reference also accepts
                designations.append(Designation(code, alternative, "en"))
    for lang in TRANSLATIONS:
        translated = display(parsed, lang)
        if translated and translated != name:
            designations.append(Designation(code, translated, lang))
    props = [ConceptProperty(code, "language", parsed.language, "code")] \
        if parsed.language else []
    if parsed.script:
        props.append(ConceptProperty(code, "script", parsed.script, "code"))
    if parsed.region:
        props.append(ConceptProperty(code, "region", parsed.region, "code"))
    return ConceptDetail(Concept(code, name), designations=tuple(designations),
                         properties=tuple(props))


class LanguageTags(GrammarCodeSystem):
    filters = {"language": ("exists",), "script": ("exists",), "region": ("exists",)}

    def __init__(self) -> None:
        super().__init__(CodeSystemInfo(
            BCP47, None, name="IETFLanguageCodes", title="Tags for the Identification of "
            "Languages (BCP 47)", case_sensitive=False, language="en"))

    def describe(self, code: str) -> ConceptDetail | None:
        return _detail(code)
