"""What the Rubrics of a ClaML Class or ModifierClass say, sorted into FHIR concept parts.

* `preferred` (in the file's language) → the display; cross-references (`<Reference>`) are
  left out and NBSPs become spaces, so `N08.3*` shows no `E10-E14` run into its title;
* `preferredLong` and `inclusion` → designations (inclusion synonym lists, as ICD-O writes
  them, give one designation per term); a `preferred` label in another language → designation;
* `definition` → the concept definition;
* every other kind (`exclusion`, `note`, `text`, `coding-hint`, `introduction`, …) → a string
  property named like the rubric kind, with its references kept as printed (`(C44.0)`);
* `modifierlink` is dropped (it only restates a ModifiedBy).

The `usage` of a preferred rubric (ICD-O `obs`) is kept; the caller makes it the `usage`
property when the class has none of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from loaders.claml_xml import label_terms, label_text

DESIGNATION_KINDS = ("preferredLong", "inclusion")
DROPPED_KINDS = ("modifierlink",)
LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True, slots=True)
class RubricText:
    display: str | None = None
    display_usage: str | None = None
    definition: str | None = None
    designations: tuple[tuple[str, str | None, str], ...] = ()  # (rubric kind, language, term)
    properties: tuple[tuple[str, str], ...] = ()  # (rubric kind, text)


def rubric_text(el: Element, language: str | None, marks: dict[str, str]) -> RubricText:
    display: str | None = None
    display_usage: str | None = None
    definition: str | None = None
    designations: list[tuple[str, str | None, str]] = []
    properties: list[tuple[str, str]] = []
    for rubric in el:
        if rubric.tag != "Rubric":
            continue
        kind = rubric.get("kind") or ""
        for label in rubric:
            if label.tag != "Label":
                continue
            lang = label.get(LANG) or language
            if kind == "preferred":
                text = label_text(label)
                if display is None and (lang == language or language is None) and text:
                    display, display_usage = text, rubric.get("usage")
                elif text:
                    designations.append((kind, lang, text))
            elif kind == "definition":
                definition = definition or label_text(label, marks) or None
            elif kind in DESIGNATION_KINDS:
                designations.extend((kind, lang, term) for term in label_terms(label))
            elif kind not in DROPPED_KINDS:
                text = label_text(label, marks)
                if text:
                    properties.append((kind, text))
    return RubricText(display, display_usage, definition, tuple(designations),
                      tuple(properties))
