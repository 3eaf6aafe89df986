"""Load an OWL ontology (format `owl`: RDF/XML, OWL/XML or N-Triples) as a code system.

* every named class → a concept; code = the IRI fragment (after `#`, else the last path
  segment), or the first value of the annotation `--code-annotation` names (an IRI or
  `skos:notation`, `oboInOwl:id`, …), falling back to the fragment;
* display = rdfs:label, else skos:prefLabel (English or untagged first); labels in other
  languages → designations in that language; skos:altLabel and oboInOwl synonyms →
  designations with use Synonym (SNOMED CT 900000000000013009);
* skos:definition / IAO_0000115 → definition; owl:deprecated true → inactive;
* rdfs:subClassOf a named class → parent link (restrictions are skipped).

OWL carries no FHIR canonical, so `--system URL` is required. The version is `--version`,
else owl:versionInfo, else the version IRI. owlready2 is imported only here, when used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from loaders.base import CodeSystemContent, LoadItem, LoadOptions, Progress
from termserver.errors import LoadError
from termserver.model import CodeSystemInfo, Concept, Designation, ParentLink, Record

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OWL = "http://www.w3.org/2002/07/owl#"
OBO = "http://www.geneontology.org/formats/oboInOwl#"
PREFIXES = {"rdfs": RDFS, "skos": SKOS, "owl": OWL, "oboInOwl": OBO,
            "dc": "http://purl.org/dc/elements/1.1/", "dcterms": "http://purl.org/dc/terms/",
            "obo": "http://purl.obolibrary.org/obo/"}
LABELS = (RDFS + "label", SKOS + "prefLabel")
SYNONYMS = (SKOS + "altLabel", OBO + "hasExactSynonym", OBO + "hasRelatedSynonym",
            OBO + "hasBroadSynonym", OBO + "hasNarrowSynonym", OBO + "hasSynonym")
DEFINITIONS = (SKOS + "definition", "http://purl.obolibrary.org/obo/IAO_0000115")
SYNONYM_USE = ("http://snomed.info/sct", "900000000000013009", "Synonym")
SUFFIXES = (".owl", ".rdf", ".owx", ".nt", ".xml")


class OwlLoader:
    name: ClassVar[str] = "owl"

    def detect(self, path: Path) -> bool:
        return path.is_file() and path.name.lower().endswith(SUFFIXES[:4])

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        if not options.system:
            raise LoadError("an OWL ontology has no FHIR canonical URL; pass --system URL",
                            path=str(path))
        if not path.is_file():
            raise LoadError("no such file", path=str(path))
        world, onto = _load(path)
        try:
            code_iri = _expand(options.code_annotation)
            annotations = _Annotations(world)
            classes = sorted(onto.classes(), key=lambda c: str(c.iri))
            codes = _codes(classes, annotations, code_iri, path)
            title = annotations.text(onto.storid, (RDFS + "label",))
            version = options.version or annotations.text(onto.storid, (OWL + "versionInfo",)) \
                or annotations.iri(onto.storid, OWL + "versionIRI")
        except BaseException:
            world.close()
            raise
        info = CodeSystemInfo(url=options.system, version=version, name=_name(title or path.stem),
                              title=title, hierarchy_meaning="is-a", case_sensitive=True)
        yield CodeSystemContent(info, _closing(world, _records(classes, codes, annotations,
                                                               progress)))


def _closing(world: Any, records: Iterator[Record]) -> Iterator[Record]:
    """Stream `records`, then close the ontology's quadstore."""
    try:
        yield from records
    finally:
        world.close()


def _load(path: Path) -> tuple[Any, Any]:
    import owlready2

    world = owlready2.World()
    try:
        onto = world.get_ontology(path.resolve().as_uri()).load(only_local=True)
    except Exception as exc:  # owlready2 raises many kinds for a malformed file
        world.close()
        raise LoadError(f"not a readable OWL ontology: {exc}", path=str(path)) from None
    return world, onto


class _Annotations:
    """Annotation values of one entity, read from owlready2's quadstore by IRI."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.ids: dict[str, int | None] = {}

    def _id(self, iri: str) -> int | None:
        if iri not in self.ids:
            self.ids[iri] = self.world._abbreviate(iri, False)
        return self.ids[iri]

    def values(self, storid: int, iris: tuple[str, ...]) -> list[tuple[str, str | None]]:
        """(text, language or None) of every value of the annotations `iris`, in order."""
        out: list[tuple[str, str | None]] = []
        for iri in iris:
            pid = self._id(iri)
            if pid is None:
                continue
            for value, datatype in self.world._get_data_triples_sp_od(storid, pid):
                lang = datatype[1:] if isinstance(datatype, str) and datatype.startswith("@") \
                    else None
                out.append((str(value), lang))
        return out

    def text(self, storid: int, iris: tuple[str, ...]) -> str | None:
        found = self.values(storid, iris)
        return found[0][0] if found else None

    def iri(self, storid: int, iri: str) -> str | None:
        pid = self._id(iri)
        if pid is None:
            return None
        for obj in self.world._get_obj_triples_sp_o(storid, pid):
            return str(self.world._unabbreviate(obj))
        return None


def _expand(name: str | None) -> str | None:
    if not name:
        return None
    prefix, sep, local = name.partition(":")
    if sep and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return name


def _fragment(iri: str) -> str:
    return iri.rsplit("#", 1)[-1] if "#" in iri else iri.rstrip("/").rsplit("/", 1)[-1]


def _codes(classes: list[Any], annotations: _Annotations, code_iri: str | None,
           path: Path) -> dict[int, str]:
    codes: dict[int, str] = {}
    owners: dict[str, str] = {}
    for cls in classes:
        code = (annotations.text(cls.storid, (code_iri,)) if code_iri else None) or \
            _fragment(str(cls.iri))
        if not code:
            raise LoadError(f"class {cls.iri} has no usable code", path=str(path))
        if code in owners:
            raise LoadError(f"code {code!r} is used by {owners[code]} and {cls.iri}",
                            path=str(path), hint="pick another --code-annotation")
        owners[code] = str(cls.iri)
        codes[cls.storid] = code
    return codes


def _records(classes: list[Any], codes: dict[int, str], annotations: _Annotations,
             progress: Progress | None) -> Iterator[Record]:
    import owlready2

    for n, cls in enumerate(classes, start=1):
        code = codes[cls.storid]
        labels = annotations.values(cls.storid, LABELS)
        english = [t for t, lang in labels if lang is None or lang.lower().startswith("en")]
        display = (english or [t for t, _ in labels] or [""])[0] or None
        deprecated = annotations.text(cls.storid, (OWL + "deprecated",))
        yield Concept(code, display, annotations.text(cls.storid, DEFINITIONS),
                      inactive=str(deprecated).lower() in ("true", "1"))
        for text, lang in labels:
            if text != display:
                yield Designation(code, text, lang)
        for text, lang in annotations.values(cls.storid, SYNONYMS):
            yield Designation(code, text, lang, *SYNONYM_USE)
        for parent in cls.is_a:
            if isinstance(parent, owlready2.ThingClass) and parent.storid in codes:
                yield ParentLink(code, codes[parent.storid])
        if progress is not None and n % 1000 == 0:
            progress(n, len(classes))


def _name(text: str) -> str:
    """A computable name: letters and digits only, starting with a capital."""
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name if name[:1].isalpha() else f"Ontology{name}"
