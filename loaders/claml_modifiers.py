"""The ClaML class tree and its modifiers: which codes exist only through Modifier/ModifierClass.

The rules, as ICD-10-GM, OPS and ICD-10 (WHO) use them:

* `<ModifiedBy code="M">` on a class subdivides it by every ModifierClass of modifier M; the
  new code is the class code plus the ModifierClass code (`E10` + `.0` = `E10.0`,
  `M00.0` + `5` = `M00.05`; a bare digit after a three-character ICD code gets the dot).
* A modifier is inherited by the subclasses of the class that names it; it is applied to the
  classes at the bottom of the explicit tree (those without subclasses of their own), so `M00`
  with the 5th-digit site modifier yields `M00.00`…`M00.09` under the explicit `M00.0`.
* `<ExcludeModifier code="M">` takes an inherited modifier away from a class and its subtree.
* `all="false"` with `<ValidModifierClass code="…">` keeps only the listed ModifierClasses (a
  list given with `all="true"` is honoured the same way).
* Several modifiers apply one after the other (4th, then 5th digit); the intermediate codes are
  concepts too. A ModifierClass with `<Meta name="excludeOnPrecedingModifier" value="M .0"/>`
  is left out after ModifierClass `.0` of modifier M (`E10.0` gets no `E10.00`).
* An explicit Class always wins over a generated code of the same value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from loaders.claml_text import RubricText

_ICD_THREE = re.compile(r"^[A-Z][0-9]{2}$")


@dataclass(frozen=True, slots=True)
class ModifiedBy:
    modifier: str
    all: bool = True
    valid: tuple[str, ...] = ()

    def allows(self, code: str) -> bool:
        return code in self.valid if self.valid or not self.all else True


@dataclass(slots=True)
class Shape:
    """What the first pass keeps of one Class: enough to place modifiers."""

    code: str
    kind: str
    supers: list[str] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)
    modified_by: list[ModifiedBy] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ModifierClass:
    code: str
    modifier: str
    usage: str | None
    meta: tuple[tuple[str, str], ...]
    excludes: frozenset[tuple[str, str]]  # (modifier, class code) after which this one is out
    text: RubricText


@dataclass(frozen=True, slots=True)
class Generated:
    """A code that exists only through modifiers: `chain` is what was applied, in order."""

    code: str
    parent: str
    chain: tuple[ModifierClass, ...]


class Hierarchy:
    """All Class shapes of a file, from the first pass's start tags."""

    def __init__(self) -> None:
        self.shapes: dict[str, Shape] = {}
        self.meta_names: dict[str, None] = {}
        self._current: Shape | None = None

    def start_class(self, attrs: dict[str, str]) -> None:
        code = attrs.get("code", "")
        self._current = self.shapes.setdefault(code, Shape(code, attrs.get("kind", ""))) \
            if code else None

    def start_child(self, tag: str, attrs: dict[str, str]) -> None:
        """A start tag inside the current Class (its rubric markup is ignored)."""
        shape = self._current
        if shape is None:
            return
        code = attrs.get("code", "")
        if tag == "SuperClass":
            shape.supers.append(code)
        elif tag == "SubClass":
            shape.subs.append(code)
        elif tag == "ModifiedBy":
            shape.modified_by.append(ModifiedBy(code, attrs.get("all") != "false"))
        elif tag == "ValidModifierClass" and shape.modified_by:
            m = shape.modified_by[-1]
            shape.modified_by[-1] = ModifiedBy(m.modifier, m.all, (*m.valid, code))
        elif tag == "ExcludeModifier":
            shape.excluded.append(code)
        elif tag == "Meta" and attrs.get("name"):
            self.meta_names[attrs["name"]] = None

    def recode(self, fix: Callable[[str], str]) -> None:
        """Apply a code notation fix (e.g. ICD-O `8000:0` → `8000/0`) to every code."""
        shapes: dict[str, Shape] = {}
        for s in self.shapes.values():
            s.code, s.supers, s.subs = fix(s.code), [fix(c) for c in s.supers], \
                [fix(c) for c in s.subs]
            shapes[s.code] = s
        self.shapes = shapes

    def parents(self) -> dict[str, list[str]]:
        """Parents of each class from SuperClass, completed from SubClass; only known codes."""
        out: dict[str, list[str]] = {code: [] for code in self.shapes}
        for s in self.shapes.values():
            for parent in s.supers:
                if parent in self.shapes and parent not in out[s.code]:
                    out[s.code].append(parent)
        for s in self.shapes.values():
            for child in s.subs:
                if child in out and s.code not in out[child]:
                    out[child].append(s.code)
        return out

    def plan(self) -> dict[str, tuple[ModifiedBy, ...]]:
        """The classes to subdivide, with the modifiers to apply in order."""
        memo: dict[str, tuple[ModifiedBy, ...]] = {}
        out: dict[str, tuple[ModifiedBy, ...]] = {}
        for s in self.shapes.values():
            if s.kind in ("chapter", "block") or any(c in self.shapes for c in s.subs):
                continue
            chain = self._effective(s.code, memo, set())
            if chain:
                out[s.code] = chain
        return out

    def _effective(self, code: str, memo: dict[str, tuple[ModifiedBy, ...]],
                   seen: set[str]) -> tuple[ModifiedBy, ...]:
        if code in memo:
            return memo[code]
        shape = self.shapes[code]
        seen.add(code)
        inherited: tuple[ModifiedBy, ...] = ()
        parent = next((p for p in shape.supers if p in self.shapes and p not in seen), None)
        if parent is not None:
            inherited = self._effective(parent, memo, seen)
        merged = {m.modifier: m for m in inherited}
        for m in shape.modified_by:
            merged[m.modifier] = m
        chain = tuple(m for m in merged.values() if m.modifier not in shape.excluded)
        memo[code] = chain
        return chain


def expand(code: str, chain: tuple[ModifiedBy, ...], modifiers: dict[str, list[ModifierClass]],
           existing: Callable[[str], bool],
           applied: tuple[ModifierClass, ...] = ()) -> Iterator[Generated]:
    """The codes `chain` generates below `code`, depth first (each code before its children)."""
    if not chain:
        return
    first, rest = chain[0], chain[1:]
    for mc in modifiers.get(first.modifier, ()):
        if not first.allows(mc.code) or any((a.modifier, a.code) in mc.excludes
                                            for a in applied):
            continue
        new = join_code(code, mc.code)
        if existing(new):
            continue
        now = (*applied, mc)
        yield Generated(new, code, now)
        yield from expand(new, rest, modifiers, existing, now)


def join_code(code: str, suffix: str) -> str:
    if _ICD_THREE.match(code) and suffix[:1].isalnum():
        return f"{code}.{suffix}"
    return code + suffix


def excludes_of(values: list[str]) -> frozenset[tuple[str, str]]:
    """`excludeOnPrecedingModifier` values (`S04E10_4 .0`, maybe several codes) as pairs."""
    pairs: set[tuple[str, str]] = set()
    for value in values:
        modifier, *codes = value.split()
        pairs.update((modifier, c) for c in codes)
    return frozenset(pairs)
