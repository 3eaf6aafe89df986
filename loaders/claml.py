"""Load a ClaML 2.0.0 classification (format `claml`): ICD-10-GM, OPS, ICD-O-3, ICD-10 (WHO).

Two streaming passes over the file (`loaders.claml_xml`: no DOM, entity declarations
refused). The first reads start tags only: the header, the order of each Modifier's classes
and the shape of every Class (code, kind, super/subclasses, ModifiedBy, ExcludeModifier), so
that inherited modifiers can be placed. The second builds one subtree at a time: the
ModifierClasses (they come first in a ClaML file), then each Class, turned into records and
followed right away by the codes its modifiers generate (`loaders.claml_modifiers`).

What becomes what:

* every Class → a concept; `kind` (chapter, block, category) → property `kind`; Class `usage`
  (dagger, aster, optional; ICD-O: `obs` on the preferred rubric) → property `usage`; each
  `<Meta name value>` (Para295, Para301, SexCode, AgeLow, ZusatzK, …) → a string property of
  that name; SuperClass/SubClass → the hierarchy; rubrics as `loaders.claml_text` describes.
* a modifier-generated code → a concept under the code it subdivides; display = that code's
  display + ": " + the ModifierClass's preferred text (BfArM's composite titles, e.g. `E10.01`
  "Diabetes mellitus, Typ 1: Mit Koma: Als entgleist bezeichnet"); `usage` from the last
  ModifierClass that has one, else inherited (a dagger modifier makes a dagger code); Meta
  inherited and overridden by the ModifierClasses' Meta, except Para295/Para301, which BfArM
  sets per code (a terminal generated code is not "V" like its subdivided parent).

Canonical URL: `--system`, else from the ClaML Title name or Identifier (table `PROFILES`).
Version: `--version`, else the Title version when it holds a number (`2025`), else the year
in the `titleLong` Meta, else the year of the Title date (ICD-O-3 "Zweite Revision" → 2019).
ICD-O-3 morphology codes are written `8000:0` in the BfArM files and `8000/0` everywhere else
(HL7 ICD-O-3, oBDS); they are loaded in the `/` notation.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from xml.etree.ElementTree import Element

from loaders.base import CodeSystemContent, LoadItem, LoadOptions, Progress
from loaders.claml_modifiers import (
    Generated,
    Hierarchy,
    ModifiedBy,
    ModifierClass,
    excludes_of,
    expand,
)
from loaders.claml_text import RubricText, rubric_text
from loaders.claml_xml import ClamlSource, clean
from termserver.errors import LoadError
from termserver.model import (
    CodeSystemInfo,
    Concept,
    ConceptProperty,
    Designation,
    ParentLink,
    Record,
)

#: designation.use of rubric-derived designations: ClaML is ISO 13120; code = rubric kind
RUBRIC_USE_SYSTEM = "urn:iso:std:iso:13120"
#: Meta that describes the class itself, not what a modifier makes of it
NOT_INHERITED_META = frozenset({"Para295", "Para301", "excludeOnPrecedingModifier"})
EXCLUDE_ON_PRECEDING = "excludeOnPrecedingModifier"
CLASS_CHILDREN = frozenset({"SuperClass", "SubClass", "ModifiedBy", "ValidModifierClass",
                            "ExcludeModifier", "Meta"})
BFARM_NOTE = ("Die Erstellung erfolgt unter Verwendung der maschinenlesbaren Fassung des "
              "Bundesinstituts für Arzneimittel und Medizinprodukte (BfArM).")


@dataclass(frozen=True, slots=True)
class Profile:
    url: str
    name: str
    fix_code: Callable[[str], str] | None = None


def _icdo_code(code: str) -> str:
    return re.sub(r"^(\d{4}):(\d)$", r"\1/\2", code)


PROFILES = {
    "ICD10GM": Profile("http://fhir.de/CodeSystem/bfarm/icd-10-gm", "ICD10GM"),
    "OPS": Profile("http://fhir.de/CodeSystem/bfarm/ops", "OPS"),
    "ICDO3": Profile("http://terminology.hl7.org/CodeSystem/icd-o-3", "ICDO3", _icdo_code),
    "ICD10": Profile("http://hl7.org/fhir/sid/icd-10", "ICD10"),
}
#: Identifier uid (OID) → profile, for files whose Title name says too little
UIDS = {"2.16.840.1.113883.6.43.1": "ICDO3", "2.16.840.1.113883.6.3": "ICD10"}


@dataclass(slots=True)
class Document:
    """What the first pass (start tags only) found."""

    title: dict[str, str] = field(default_factory=dict)
    title_text: str = ""
    identifiers: list[dict[str, str]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)  # usage kind → mark (dagger → †)
    rubric_kinds: list[str] = field(default_factory=list)
    modifier_order: dict[str, list[str]] = field(default_factory=dict)
    modifier_meta: dict[str, None] = field(default_factory=dict)
    label_language: str | None = None
    hierarchy: Hierarchy = field(default_factory=Hierarchy)
    context: str = ""  # the top-level element being read: Class, Modifier, ModifierClass
    modifier: str = ""

    @property
    def language(self) -> str | None:
        return self.meta.get("lang") or self.label_language

    def scan(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "Class":
            self.context = tag
            self.hierarchy.start_class(attrs)
        elif tag == "Label":
            self.label_language = self.label_language or attrs.get("xml:lang")
        elif self.context == "Class":
            if tag in CLASS_CHILDREN:
                self.hierarchy.start_child(tag, attrs)
        elif tag in ("Modifier", "ModifierClass"):
            self.context, self.modifier = tag, attrs.get("code", "")
        elif self.context == "Modifier" and tag == "SubClass":
            self.modifier_order.setdefault(self.modifier, []).append(attrs.get("code", ""))
        elif tag == "Meta":
            self._meta(attrs)
        elif tag == "Identifier":
            self.identifiers.append(dict(attrs))
        elif tag == "Title":
            self.title = dict(attrs)
        elif tag == "UsageKind":
            self.marks[attrs.get("name", "")] = attrs.get("mark", "")
        elif tag == "RubricKind":
            self.rubric_kinds.append(attrs.get("name", ""))

    def _meta(self, attrs: dict[str, str]) -> None:
        name = attrs.get("name", "")
        if self.context == "ModifierClass":
            if name != EXCLUDE_ON_PRECEDING:
                self.modifier_meta[name] = None
        elif not self.context:
            self.meta.setdefault(name, attrs.get("value", ""))


class ClamlLoader:
    name: ClassVar[str] = "claml"

    def detect(self, path: Path) -> bool:
        name = path.name.lower()
        try:
            if path.is_dir():
                return any("claml" in p.name.lower() and p.name.lower().endswith(".xml")
                           for p in path.glob("*/*.xml")) or any(path.glob("*claml*.xml"))
            if name.endswith(".zip"):
                with zipfile.ZipFile(path) as z:
                    return any("claml" in n.lower() and n.lower().endswith(".xml")
                               for n in z.namelist())
            if name.endswith((".xml", ".xml.gz")):
                return b"<ClaML" in ClamlSource(path).head()
        except (OSError, zipfile.BadZipFile, LoadError, EOFError):
            return False
        return False

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        source = ClamlSource(path)
        doc = _first_pass(source)
        profile = _profile(doc, source, options)
        if profile.fix_code is not None:
            doc.hierarchy.recode(profile.fix_code)
        version = options.version or _version(doc, source)
        info = _info(doc, profile, version)
        yield CodeSystemContent(info, _Records(source, doc, profile, progress).records())


# -- first pass: header, modifiers, class shapes ------------------------------------------------


def _first_pass(source: ClamlSource) -> Document:
    doc = Document()
    texts = source.scan(doc.scan, frozenset({"Title"}))
    doc.title_text = clean(texts.get("Title", ""))
    if not doc.title and not doc.hierarchy.shapes:
        raise LoadError("no Title and no Class: not a ClaML classification", path=source.label)
    return doc


def _modifier_class(el: Element, doc: Document) -> ModifierClass:
    metas = [(m.get("name", ""), m.get("value", "")) for m in el.iterfind("Meta")]
    return ModifierClass(
        code=el.get("code", ""), modifier=el.get("modifier", ""), usage=el.get("usage"),
        meta=tuple((n, v) for n, v in metas if n != EXCLUDE_ON_PRECEDING),
        excludes=excludes_of([v for n, v in metas if n == EXCLUDE_ON_PRECEDING]),
        text=rubric_text(el, doc.language, doc.marks))


# -- header ----------------------------------------------------------------------------------


def _profile(doc: Document, source: ClamlSource, options: LoadOptions) -> Profile:
    key = re.sub(r"[^A-Z0-9]", "", doc.title.get("name", "").upper())
    found = next((PROFILES[k] for k in ("ICD10GM", "ICDO3", "OPS") if key.startswith(k)), None)
    if found is None and key == "ICD10":
        found = PROFILES["ICD10"]
    for ident in doc.identifiers:
        if found is None and ident.get("uid") in UIDS:
            found = PROFILES[UIDS[ident["uid"]]]
    if options.system:
        name = found.name if found else (re.sub(r"\W", "", doc.title.get("name", "")) or None)
        return Profile(options.system, name or "ClaML", found.fix_code if found else None)
    if found is None:
        raise LoadError(f"cannot tell the canonical URL of ClaML {doc.title.get('name')!r}",
                        path=source.label, hint="pass --system URL")
    return found


def _version(doc: Document, source: ClamlSource) -> str:
    title_version = doc.title.get("version", "").strip()
    if re.search(r"\d", title_version):
        return title_version
    for text in (doc.meta.get("titleLong", ""), doc.title.get("date", "")):
        m = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", text)
        if m:
            return m.group(1)
    if title_version:
        return title_version
    raise LoadError("cannot tell the version: the ClaML Title has none", path=source.label,
                    hint="pass --version, e.g. --version 2025")


def _info(doc: Document, profile: Profile, version: str) -> CodeSystemInfo:
    title = doc.title_text or doc.title.get("name") or profile.name
    label = doc.title.get("version", "")
    if label and label != version and label not in title:
        title = f"{title} ({doc.title.get('name', profile.name)} {label})"
    props: list[dict[str, str]] = [
        {"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent",
         "type": "code"},
        {"code": "child", "uri": "http://hl7.org/fhir/concept-properties#child", "type": "code"},
        {"code": "kind", "type": "code",
         "description": "ClaML class kind: chapter, block or category"},
        {"code": "usage", "type": "code",
         "description": "ClaML usage: " + ", ".join(f"{k} ({m})" for k, m in doc.marks.items())
         if doc.marks else "ClaML usage kind"}]
    meta_names = {**doc.hierarchy.meta_names, **doc.modifier_meta}
    props += [{"code": n, "type": "string", "description": "ClaML Meta " + n}
              for n in meta_names if n and n != EXCLUDE_ON_PRECEDING]
    props += [{"code": k, "type": "string", "description": f"ClaML rubric kind {k}"}
              for k in doc.rubric_kinds
              if k not in ("preferred", "preferredLong", "inclusion", "definition",
                           "modifierlink")]
    cs_id = re.sub(r"[^A-Za-z0-9\-.]", "-", f"{profile.name.lower()}-{version}")[:64]
    authority = next((i.get("authority") for i in doc.identifiers if i.get("authority")), None)
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem", "id": cs_id, "url": profile.url, "version": version,
        "name": profile.name, "title": title, "status": "active", "experimental": False}
    if doc.title.get("date"):
        resource["date"] = doc.title["date"]
    if authority:
        resource["publisher"] = authority
    if doc.meta.get("titleLong"):
        resource["description"] = doc.meta["titleLong"]
    copyright_ = doc.meta.get("copyright", "")
    if authority in ("BfArM", "DIMDI"):
        copyright_ = f"{copyright_}. {BFARM_NOTE}".lstrip(". ")
    if copyright_:
        resource["copyright"] = copyright_
    uids = [i["uid"] for i in doc.identifiers if i.get("uid")]
    if uids:
        resource["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{u}"}
                                  for u in uids]
    resource.update({"caseSensitive": True, "hierarchyMeaning": "is-a", "compositional": False,
                     "content": "complete", "property": props})
    if doc.language:
        resource["language"] = doc.language
    return CodeSystemInfo(url=profile.url, version=version, name=profile.name, title=title,
                          status="active", content="complete", hierarchy_meaning="is-a",
                          case_sensitive=True, language=doc.language, id=cs_id,
                          resource=resource)


# -- second pass: records ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    """What a subdivided class hands down to the codes its modifiers generate."""

    display: str | None
    usage: str | None
    meta: tuple[tuple[str, str], ...]


class _Records:
    def __init__(self, source: ClamlSource, doc: Document, profile: Profile,
                 progress: Progress | None) -> None:
        self.source, self.doc, self.progress = source, doc, progress
        self.fix = profile.fix_code or (lambda code: code)
        self.language = doc.language
        self.parents = doc.hierarchy.parents()
        self.plan: dict[str, tuple[ModifiedBy, ...]] = doc.hierarchy.plan()
        self.modifiers: dict[str, list[ModifierClass]] = {}

    def records(self) -> Iterator[Record]:
        """Modifier classes come first in a ClaML file (DTD order), then the classes."""
        total, done, seen = len(self.parents), 0, set[str]()
        for el in self.source.elements(frozenset({"ModifierClass", "Class"})):
            if el.tag == "ModifierClass":
                self._add_modifier_class(_modifier_class(el, self.doc))
            if el.tag != "Class":
                continue
            done += 1
            code = self.fix(el.get("code", ""))
            if not code or code in seen:
                what = f"the Class {code!r} comes twice" if code else "a Class has no code"
                raise LoadError(what, path=self.source.label)
            seen.add(code)
            base = yield from self._class(code, el)
            chain = self.plan.get(code)
            if chain:
                yield from self._generated(code, base, chain)
            if self.progress is not None and done % 500 == 0:
                self.progress(done, total)

    def _class(self, code: str, el: Element) -> Generator[Record, None, _Base]:
        text = rubric_text(el, self.language, self.doc.marks)
        yield Concept(code, text.display, text.definition)
        yield ConceptProperty(code, "kind", el.get("kind", ""), "code")
        usage = el.get("usage") or text.display_usage
        if usage:
            yield ConceptProperty(code, "usage", usage, "code")
        meta = tuple((m.get("name", ""), m.get("value", "")) for m in el if m.tag == "Meta")
        yield from self._meta(code, meta)
        yield from self._text(code, text)
        for parent in self.parents.get(code, ()):
            yield ParentLink(code, parent)
        return _Base(text.display, usage, meta)

    def _generated(self, code: str, base: _Base, chain: tuple[ModifiedBy, ...]) \
            -> Iterator[Record]:
        displays = {code: base.display}
        inherited = tuple((n, v) for n, v in base.meta if n not in NOT_INHERITED_META)
        for g in expand(code, chain, self.modifiers, self._exists):
            mc = g.chain[-1]
            parent_display = displays.get(g.parent)
            display = ": ".join(t for t in (parent_display, mc.text.display) if t) or None
            displays[g.code] = display
            yield Concept(g.code, display, mc.text.definition)
            yield ConceptProperty(g.code, "kind", "category", "code")
            usage = next((m.usage for m in reversed(g.chain) if m.usage), base.usage)
            if usage:
                yield ConceptProperty(g.code, "usage", usage, "code")
            yield from self._meta(g.code, _overlay(inherited, g))
            yield from self._text(g.code, mc.text, parent_display)
            yield ParentLink(g.code, g.parent)

    def _add_modifier_class(self, mc: ModifierClass) -> None:
        classes = self.modifiers.setdefault(mc.modifier, [])
        classes.append(mc)
        order = {c: i for i, c in enumerate(self.doc.modifier_order.get(mc.modifier, ()))}
        classes.sort(key=lambda m: order.get(m.code, len(order)))

    def _exists(self, code: str) -> bool:
        return code in self.parents

    def _meta(self, code: str, meta: tuple[tuple[str, str], ...]) -> Iterator[Record]:
        for name, value in meta:
            if name and value:
                yield ConceptProperty(code, name, value, "string")

    def _text(self, code: str, text: RubricText, prefix: str | None = None) \
            -> Iterator[Record]:
        for kind, lang, term in text.designations:
            if prefix and kind == "preferredLong":
                term = f"{prefix}: {term}"
            yield Designation(code, term, lang, RUBRIC_USE_SYSTEM, kind, kind)
        for kind, value in text.properties:
            yield ConceptProperty(code, kind, value, "string")


def _overlay(inherited: tuple[tuple[str, str], ...], g: Generated) -> tuple[tuple[str, str], ...]:
    merged = dict(inherited)
    for mc in g.chain:
        merged.update(mc.meta)
    return tuple(merged.items())
