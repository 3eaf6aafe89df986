"""One expansion `contains` entry from a concept: display (per language), designations,
properties and the extensions that travel with it.

Sources, later ones winning where they overlap: the code system concept, the supplements in
force, and the value set's own compose concept (its label, order, weight and definition).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from termserver.model import (
    ConceptDetail,
    ConceptProperty,
    ConceptReference,
    Designation,
    ExpandRequest,
    ExpansionEntry,
    PropertyType,
)
from termserver.service import deadline
from termserver.service.csview import (
    CONCEPT_PROPERTIES,
    STANDARDS_STATUS,
    CodeSystemView,
    extension_value,
)
from termserver.service.languages import LanguagePrefs, language_matches

JSONMap = Mapping[str, Any]
Layer = tuple[Iterable[JSONMap], bool]  # (concept extensions, from the value set?)
Desig = tuple[Designation, tuple[JSONMap, ...]]  # a designation and its extensions
SD = "http://hl7.org/fhir/StructureDefinition/"
TERM_MAINT = "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra"
BCP47 = "urn:ietf:bcp:47"

#: Concept extensions copied into contains.extension, by where they come from.
CS_COPIED = frozenset({SD + "rendering-style", SD + "rendering-xhtml"})
VS_COPIED = CS_COPIED | {SD + "valueset-deprecated", SD + "valueset-concept-definition",
                         STANDARDS_STATUS}

#: (property code, its URI, the value set extension, the code system extension)
EXTENSION_PROPERTIES = (
    ("label", CONCEPT_PROPERTIES + "label", SD + "valueset-label", SD + "codesystem-label"),
    ("order", CONCEPT_PROPERTIES + "order", SD + "valueset-conceptOrder",
     SD + "codesystem-conceptOrder"),
    ("weight", CONCEPT_PROPERTIES + "itemWeight", SD + "itemWeight", SD + "itemWeight"),
)


@dataclass(slots=True)
class Supplement:
    """A supplement in force: its code system view and the url of the system it supplements."""

    view: CodeSystemView
    target: str
    _details: dict[str, ConceptDetail] | None = None

    def lookup(self, code: str) -> ConceptDetail | None:
        """The supplement's concept for `code` (all read in one pass, on first use)."""
        if self._details is None:
            self._details = {d.concept.code: d for d in self.view.provider.concepts()}
        return self._details.get(code)


class EntryBuilder:
    """Builds entries for one expansion; remembers the property definitions it used."""

    def __init__(self, request: ExpandRequest, languages: LanguagePrefs | None,
                 supplements: Sequence[Supplement]) -> None:
        self.request = request
        self.languages = languages
        self.supplements = supplements
        self.property_defs: dict[str, str] = {}  # property code → uri, as used
        self._designation_filter = _designation_filter(request.designations)
        #: entries are code, display, flags and a status worth noting: no language to choose
        #: a display by, no designations or properties asked for (most pages)
        self._plain = languages is None and not request.include_designations and \
            not request.properties

    def build(self, view: CodeSystemView, detail: ConceptDetail,
              ref: ConceptReference | None = None) -> ExpansionEntry:
        deadline.check()  # a big expansion stops at the request's deadline (or budget) here
        code = detail.concept.code
        if self._plain and ref is None and detail.concept.display is not None and \
                view.concept_json(code) is None and \
                not any(s.target == view.url for s in self.supplements):
            # what the general path below builds then, without its empty layers
            return ExpansionEntry(
                system=view.url, version=view.version, code=code,
                display=detail.concept.display, inactive=detail.concept.inactive,
                abstract=view.not_selectable(detail),
                properties=tuple(self._status(view, detail, code)))
        supplements = [(s.view, s.lookup(code)) for s in self.supplements
                       if s.target == view.url]
        cs_json = view.concept_json(code) or {}
        layers: list[Layer] = [(cs_json.get("extension") or (), False)]
        for sview, _ in supplements:
            layers.append(((sview.concept_json(code) or {}).get("extension") or (), False))
        if ref is not None:
            layers.append((ref.extensions, True))
        designations = self._designations(view, detail, supplements, ref)
        display = (ref.display if ref is not None and ref.display else None) \
            or detail.concept.display
        entry = ExpansionEntry(
            system=view.url, version=view.version, code=code, display=display,
            inactive=detail.concept.inactive, abstract=view.not_selectable(detail),
            properties=tuple(self._properties(view, detail, supplements, layers)),
            extensions=_copied(layers),
        )
        return self._choose_display(entry, view.language, designations)

    # -- designations and display ----------------------------------------------------------

    def _designations(self, view: CodeSystemView, detail: ConceptDetail,
                      supplements: list[tuple[CodeSystemView, ConceptDetail | None]],
                      ref: ConceptReference | None) -> list[Desig]:
        code = detail.concept.code
        out = list(zip(detail.designations,
                       view.designation_extensions(code, detail.designations), strict=True))
        for sview, sdetail in supplements:
            if sdetail is not None:
                out += zip(sdetail.designations,
                           sview.designation_extensions(code, sdetail.designations), strict=True)
        if ref is not None:
            exts = ref.designation_extensions or tuple(() for _ in ref.designations)
            out += zip(ref.designations, exts, strict=True)
        return out

    def _choose_display(self, entry: ExpansionEntry, cs_language: str | None,
                        designations: list[Desig]) -> ExpansionEntry:
        """Apply the display language: a designation may replace the display (the original
        then becomes a `preferredForLanguage` designation) or, with `*;q=0`, withhold it."""
        if self.languages is None and not self.request.include_designations and \
                entry.display is not None and not entry.designations:
            return entry  # as built: its display, shown, no designations
        chosen: int | None = None
        preferred = False
        show = True
        if self.languages is not None:
            choice = _choose(self.languages, cs_language, [d.language for d, _ in designations])
            if isinstance(choice, int):
                chosen, preferred = choice, True
            elif choice == "none":
                preferred, show = True, False
        display = entry.display
        if chosen is not None:
            display = designations[chosen][0].value
        out: list[Desig] = []
        if self.request.include_designations:
            if preferred and entry.display:
                out.append((Designation(entry.code, entry.display, cs_language, TERM_MAINT,
                                        "preferredForLanguage", "Preferred For Language"), ()))
            out += [d for i, d in enumerate(designations)
                    if i != chosen and self._designation_filter(d[0])]
        return replace(entry, display=display, show_display=show and display is not None,
                       designations=tuple(d for d, _ in out),
                       designation_extensions=tuple(x for _, x in out))

    # -- properties -----------------------------------------------------------------------

    def _properties(self, view: CodeSystemView, detail: ConceptDetail,
                    supplements: list[tuple[CodeSystemView, ConceptDetail | None]],
                    layers: list[Layer]) -> list[ConceptProperty]:
        code = detail.concept.code
        out = self._status(view, detail, code)
        for name, uri, vs_url, cs_url in EXTENSION_PROPERTIES:
            value = None
            for exts, from_vs in layers:
                found = extension_value(exts, vs_url if from_vs else cs_url)
                if found is not None:
                    value = found
            if value is not None:
                kind: PropertyType = "string" if name == "label" else "decimal"
                out.append(self._use(code, name, str(value), kind, uri))
        for name in self.request.properties:
            if name == "status" or any(name == n for n, *_ in EXTENSION_PROPERTIES):
                continue
            if name == "definition":
                if detail.concept.definition:
                    out.append(self._use(code, name, detail.concept.definition, "string",
                                         CONCEPT_PROPERTIES + "definition"))
                continue
            sources = [(view, detail)] + [(v, d) for v, d in supplements if d is not None]
            for sview, sdetail in sources:
                for p in sdetail.properties:
                    if p.property == name:
                        defined = sview.property_uris.get(name) or view.property_uris.get(name)
                        out.append(self._use(code, name, p.value, p.type, defined, p))
        return out

    def _status(self, view: CodeSystemView, detail: ConceptDetail, code: str
                ) -> list[ConceptProperty]:
        """The `status` property, when it is worth noting (not active)."""
        status = next((p.value for p in detail.properties if p.property == "status"), None)
        if status is None:
            status = extension_value((view.concept_json(code) or {}).get("extension") or (),
                                     STANDARDS_STATUS)
        if status is None or status == "active":
            return []
        return [self._use(code, "status", str(status), "code", CONCEPT_PROPERTIES + "status")]

    def _use(self, code: str, name: str, value: str, kind: PropertyType, uri: str | None,
             source: ConceptProperty | None = None) -> ConceptProperty:
        if uri is not None:
            self.property_defs.setdefault(name, uri)
        if source is not None:
            return ConceptProperty(code, name, value, kind, source.value_system,
                                   source.value_display)
        return ConceptProperty(code, name, value, kind)


def _copied(layers: list[Layer]) -> tuple[JSONMap, ...]:
    by_url: dict[str, JSONMap] = {}
    for exts, from_vs in layers:
        for ext in exts:
            url = ext.get("url")
            if isinstance(url, str) and url in (VS_COPIED if from_vs else CS_COPIED):
                by_url[url] = ext
    return tuple(by_url[u] for u in sorted(by_url))


def _choose(prefs: LanguagePrefs, cs_language: str | None,
            languages: list[str | None]) -> int | str:
    """For each acceptable language in order: the code system display if it is in that
    language ("cs"), else the first designation in it (its index). No match: "cs", or "none"
    when other languages are ruled out."""
    for tag in prefs.tags:
        if cs_language and language_matches(tag, cs_language):
            return "cs"
        for i, lang in enumerate(languages):
            if lang and language_matches(tag, lang):
                return i
    return "none" if prefs.strict else "cs"


def _designation_filter(wanted: Sequence[str]) -> Any:
    """The `designation` parameter: `urn:ietf:bcp:47|lang` by language, else `system|code` by
    use (exact match)."""
    if not wanted:
        return lambda d: True
    languages = set()
    uses = set()
    for value in wanted:
        system, sep, code = value.rpartition("|")
        if sep and system == BCP47:
            languages.add(code)
        elif sep:
            uses.add((system, code))
        else:
            languages.add(value)

    def keep(d: Designation) -> bool:
        return d.language in languages or (d.use_system, d.use_code) in uses

    return keep
