"""Safe, streaming XML for ClaML: entity declarations refused, never one DOM.

ClaML files are large (ICD-10-GM and OPS: tens of MB). `ClamlSource.elements` feeds the file
in chunks to ElementTree's C pull parser and yields each child of the root `<ClaML>` element
as a complete subtree, detaching it from the root once handed over, so memory holds one
subtree and a read buffer.

Security (XXE, entity expansion bombs): every chunk goes first through an expat guard that
reads the prolog, where any entity declaration has to be (DOCTYPE internal subset); an
`<!ENTITY …>` there, internal or external, general or parameter, stops the load with a
LoadError naming the file and line before the body parser has seen it, so nothing is ever
expanded. External DTDs and entities are never read, so `<!DOCTYPE ClaML SYSTEM "ClaML.dtd">`
loads fine; an HTML entity such as `&nbsp;` (declared only in that unread DTD) becomes the
character it names.

Input: `.xml`, `.xml.gz`, a `.zip` as BfArM ships it (the ClaML member is found by name), or a
folder holding one of these.
"""

from __future__ import annotations

import gzip
import html.entities
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLParser, XMLPullParser
from xml.parsers import expat

from termserver.errors import LoadError

CHUNK = 1 << 20
HTML_ENTITIES = {name: chr(cp) for name, cp in html.entities.name2codepoint.items()}


class ClamlSource:
    """One ClaML document on disk (plain, gzip, zip or folder); can be read several times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self._member: str | None = None
        if path.is_dir():
            self.path = _pick_file(path)
        if self.path.suffix.lower() == ".zip":
            self._member = _pick_member(self.path)
            self.label = f"{self.path}!{self._member}"

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        try:
            if self._member is not None:
                with zipfile.ZipFile(self.path) as archive, archive.open(self._member) as m:
                    yield cast(BinaryIO, m)
            elif self.path.name.lower().endswith(".gz"):
                with gzip.open(self.path, "rb") as g:
                    yield cast(BinaryIO, g)
            else:
                with self.path.open("rb") as f:
                    yield f
        except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError) as exc:
            raise LoadError(f"cannot read the archive: {exc}", path=self.label) from exc

    def head(self, size: int = 4096) -> bytes:
        with self.open() as f:
            return f.read(size)

    def scan(self, on_start: Callable[[str, dict[str, str]], None],
             capture: frozenset[str] = frozenset()) -> dict[str, str]:
        """A fast pass over the start tags below the root (tag, attributes) with expat;
        returns the text of the first element of each tag in `capture` (e.g. Title)."""
        scanner = _Expat(self.label, on_start, capture)
        with self.open() as f:
            while True:
                chunk = f.read(CHUNK)
                scanner.feed(chunk)
                if not chunk:
                    break
        if not scanner.seen_root:
            raise LoadError("not a ClaML file: no root element", path=self.label)
        return scanner.texts

    def elements(self, tags: frozenset[str]) -> Iterator[Element]:
        """Each element whose tag is in `tags`, as a complete subtree, in document order; for
        tags that never nest (Class, ModifierClass). A subtree is emptied once the consumer
        moves on, so memory holds one subtree and a read buffer."""
        parser = _Parser(self.label)
        with self.open() as f:
            while True:
                chunk = f.read(CHUNK)
                for el in parser.feed(chunk):
                    if el.tag in tags:
                        yield el
                        el.clear()
                if not chunk:
                    break


class _Parser:
    """ElementTree's C pull parser (end events), behind an expat guard that sees every chunk
    first and refuses entity declarations before the body parser could expand anything."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.guard: _Expat | None = _Expat(label)
        base = XMLParser(target=TreeBuilder())
        base.entity.update(HTML_ENTITIES)  # for &nbsp; & co. in files with an external DTD
        self.pull = XMLPullParser(events=("end",), _parser=base)

    def feed(self, data: bytes) -> Iterator[Element]:
        if self.guard is not None:
            self.guard.feed(data)
            if self.guard.done:
                self.guard = None
        try:
            if data:
                self.pull.feed(data)
            else:
                self.pull.close()
        except ParseError as exc:
            line = exc.position[0] if exc.position else "?"
            raise LoadError(f"not well-formed XML: {str(exc).split(':')[0]}", path=self.label,
                            where=f"line {line}") from None
        events = cast(Iterator[tuple[str, Element]], self.pull.read_events())
        return (el for _, el in events)


class _Expat:
    """expat with every entity declaration refused. Without `on_start` it guards: it reads
    the prolog (where every declaration has to be) and stops at the root element's start tag;
    with `on_start` it scans the whole file, start tags only."""

    def __init__(self, label: str, on_start: Callable[[str, dict[str, str]], None] | None = None,
                 capture: frozenset[str] = frozenset()) -> None:
        self.label, self.on_start, self.capture = label, on_start, capture
        self.done = self.seen_root = False
        self.texts: dict[str, str] = {}
        self._text: list[str] = []
        p = expat.ParserCreate()
        p.buffer_text = True
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartElementHandler = self._start
        p.EntityDeclHandler = self._entity_decl
        p.UnparsedEntityDeclHandler = self._unparsed_entity_decl
        p.ExternalEntityRefHandler = self._external_ref
        p.SkippedEntityHandler = self._skipped_entity
        self.parser = p

    def feed(self, data: bytes) -> None:
        try:
            self.parser.Parse(data, not data)
        except _RootReached:
            self.done = True
        except expat.ExpatError as exc:
            raise LoadError(f"not well-formed XML: {expat.ErrorString(exc.code)}",
                            path=self.label, where=f"line {exc.lineno}") from None

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if self.seen_root:
            assert self.on_start is not None
            self.on_start(tag, attrs)
            if tag in self.capture and tag not in self.texts:
                self._text = []
                self.parser.CharacterDataHandler = self._text.append
                self.parser.EndElementHandler = self._end_capture
            return
        if tag != "ClaML":
            raise LoadError(f"not a ClaML file: the root element is <{tag}>",
                            path=self.label, hint="expected <ClaML version=\"2.0.0\">")
        self.seen_root = True
        if self.on_start is None:
            raise _RootReached

    def _end_capture(self, tag: str) -> None:
        if tag in self.capture and tag not in self.texts:
            self.texts[tag] = "".join(self._text)
            self.parser.CharacterDataHandler = None
            self.parser.EndElementHandler = None

    def _skipped_entity(self, name: str, is_parameter: int) -> None:
        if not is_parameter and name not in HTML_ENTITIES:
            raise LoadError(f"undefined entity &{name};", path=self.label,
                            where=f"line {self.parser.CurrentLineNumber}")
        if self.parser.CharacterDataHandler is not None and name in HTML_ENTITIES:
            self._text.append(HTML_ENTITIES[name])

    def _refuse(self, what: str) -> LoadError:
        return LoadError(f"refused: the document {what}; ClaML needs no entity declarations, "
                         "and they are not accepted (external entities, entity expansion)",
                         path=self.label, where=f"line {self.parser.CurrentLineNumber}")

    def _entity_decl(self, name: str, is_parameter: int, value: str | None, base: str | None,
                     system_id: str | None, public_id: str | None,
                     notation: str | None) -> None:
        kind = ("external " if system_id or public_id else "") + \
            ("parameter entity" if is_parameter else "entity")
        raise self._refuse(f"declares the {kind} {name!r}")

    def _unparsed_entity_decl(self, name: str, base: str | None, system_id: str,
                              public_id: str | None, notation: str) -> None:
        raise self._refuse(f"declares the unparsed external entity {name!r}")

    def _external_ref(self, context: str, base: str | None, system_id: str | None,
                      public_id: str | None) -> int:
        raise self._refuse(f"refers to the external entity {system_id or public_id!r}")


class _RootReached(Exception):
    """The guard has seen the whole prolog."""


def _pick_file(folder: Path) -> Path:
    found = sorted(p for p in folder.rglob("*") if p.is_file() and _is_claml_name(p.name))
    if not found:
        raise LoadError("no ClaML file (*.xml) in this folder", path=str(folder))
    return max(found, key=lambda p: p.stat().st_size)


def _pick_member(archive: Path) -> str:
    try:
        with zipfile.ZipFile(archive) as z:
            infos = [i for i in z.infolist() if not i.is_dir() and _is_claml_name(i.filename)]
    except zipfile.BadZipFile as exc:
        raise LoadError(f"not a zip archive: {exc}", path=str(archive)) from exc
    if not infos:
        raise LoadError("no ClaML file (*.xml) in this zip", path=str(archive))
    named = [i for i in infos if "claml" in i.filename.lower()] or infos
    return max(named, key=lambda i: i.file_size).filename


def _is_claml_name(name: str) -> bool:
    return name.lower().endswith((".xml", ".xml.gz"))


# -- label text --------------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\ufeff]")
_NEEDS_TIDY = re.compile(r" [,;:.)\]]|[(\[] |\(\)|\[\]")
_TIDY = re.compile(r"\s*(?:\(\s*\)|\[\s*\])|\s+(?=[,;:.)\]])|(?<=[(\[])\s+")


def clean(text: str) -> str:
    """One line of text: NBSPs and runs of white space become one space, soft hyphens and
    zero-width characters go, brackets left empty by a dropped reference go too."""
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    text = " ".join(text.split())  # str.split() also splits at NBSP, U+2007, U+202F
    if _NEEDS_TIDY.search(text):
        text = _TIDY.sub("", text).strip()
    return text


def label_text(label: Element, marks: dict[str, str] | None = None) -> str:
    """The text of a Label. `marks` None: cross-references (Reference) are left out, as for a
    display; otherwise they are kept the way the printed classification shows them, with the
    usage mark (e.g. `(A01.0†)` for a bracketed dagger reference)."""
    return clean("".join(_render(label, marks)))


def label_terms(label: Element) -> list[str]:
    """The terms a Label names: each `<Fragment type="list">` on its own when the label is
    only such a list (the ICD-O synonym lists), else the whole label as one term."""
    fragments = [c for c in label if c.tag == "Fragment"]
    loose = (label.text or "").strip() or any(
        c.tag != "Fragment" or (c.tail or "").strip() for c in label)
    if fragments and not loose and all(f.get("type") == "list" for f in fragments):
        terms = [label_text(f) for f in fragments]
        return [t for t in terms if t]
    whole = label_text(label)
    return [whole] if whole else []


def _render(el: Element, marks: dict[str, str] | None) -> Iterator[str]:
    yield el.text or ""
    for child in el:
        if child.tag == "Reference":
            if marks is not None:
                yield _reference(child, marks)
        else:
            sep = " " if child.tag in ("Para", "Fragment", "ListItem", "Cell") else ""
            yield sep
            yield from _render(child, marks)
            yield sep
        yield child.tail or ""


def _reference(ref: Element, marks: dict[str, str]) -> str:
    text = clean("".join(_render(ref, marks))) + marks.get(ref.get("usage") or "", "")
    if "in brackets" in (ref.get("class") or ""):
        text = f"({text})"
    return f" {text}"
