"""Checks on FHIR JSON from clients before anything reads it: nesting depth, integer range and
the JSON types of the elements this server reads.

FHIR JSON has a type per element; a client that sends `"url": ["x"]` or `"compose": "x"` gets a
400 `structure` naming the element, instead of content stored half-understood or a 500 later.
Only the elements the server reads are typed here (everything else is kept as sent); `null` is
treated as absent, as elsewhere in the server.
"""

from __future__ import annotations

from typing import Any, Union

from termserver.errors import MalformedContent

#: Deepest JSON nesting accepted in a request (orjson writes at most 255 levels on the way out).
MAX_DEPTH = 100
#: Integers must fit a signed 64-bit number (the database's widest integer).
INT64 = (-(2**63), 2**63 - 1)

Spec = Union[str, "Obj", "Arr"]


class Obj(dict[str, Spec]):
    """A JSON object whose listed elements have the given specs."""


class Arr:
    """A JSON array whose items have `item`'s spec."""

    __slots__ = ("item",)

    def __init__(self, item: Spec) -> None:
        self.item = item


STR, BOOL, INT, NUM, ANY_OBJ = "string", "boolean", "integer", "number", "object"
STRINGS = Arr(STR)
EXTENSIONS = Arr(ANY_OBJ)

CODING = Obj(system=STR, version=STR, code=STR, display=STR, userSelected=BOOL)
CODEABLE_CONCEPT = Obj(coding=Arr(CODING), text=STR)
DESIGNATION = Obj(language=STR, use=CODING, value=STR, extension=EXTENSIONS)
_COMMON: dict[str, Spec] = {
    "resourceType": STR, "id": STR, "meta": ANY_OBJ, "url": STR, "version": STR, "name": STR,
    "title": STR, "status": STR, "language": STR, "extension": EXTENSIONS,
    "contained": Arr("resource")}

CONCEPT_PROPERTY = Obj(code=STR, valueCode=STR, valueCoding=CODING, valueString=STR,
                       valueInteger=INT, valueBoolean=BOOL, valueDateTime=STR,
                       valueDecimal=NUM)
CONCEPT = Obj(code=STR, display=STR, definition=STR, designation=Arr(DESIGNATION),
              property=Arr(CONCEPT_PROPERTY), extension=EXTENSIONS)
CONCEPT["concept"] = Arr(CONCEPT)
CODE_SYSTEM = Obj(_COMMON, content=STR, caseSensitive=BOOL, hierarchyMeaning=STR,
                  supplements=STR, valueSet=STR, count=INT, concept=Arr(CONCEPT),
                  property=Arr(Obj(code=STR, uri=STR, type=STR)))

CONCEPT_SET = Obj(
    system=STR, version=STR, valueSet=STRINGS, extension=EXTENSIONS,
    concept=Arr(Obj(code=STR, display=STR, designation=Arr(DESIGNATION),
                    extension=EXTENSIONS)),
    filter=Arr(Obj(property=STR, op=STR, value=STR, _op=ANY_OBJ)))
VALUE_SET = Obj(_COMMON, compose=Obj(include=Arr(CONCEPT_SET), exclude=Arr(CONCEPT_SET),
                                     inactive=BOOL, extension=EXTENSIONS, lockedDate=STR),
                expansion=ANY_OBJ)

MAP_TARGET = Obj(code=STR, display=STR, equivalence=STR, relationship=STR, comment=STR,
                 dependsOn=Arr(ANY_OBJ), product=Arr(ANY_OBJ))
CONCEPT_MAP = Obj(
    _COMMON, sourceUri=STR, sourceCanonical=STR, targetUri=STR, targetCanonical=STR,
    sourceScopeUri=STR, sourceScopeCanonical=STR, targetScopeUri=STR,
    targetScopeCanonical=STR,
    group=Arr(Obj(source=STR, sourceVersion=STR, target=STR, targetVersion=STR,
                  element=Arr(Obj(code=STR, display=STR, noMap=BOOL, target=Arr(MAP_TARGET))),
                  unmapped=Obj(mode=STR, code=STR, display=STR, url=STR, otherMap=STR,
                               relationship=STR))))

#: Primitive value[x] are typed by the parameter parser (fhir.params), which also takes the
#: strings some clients send ("valueBoolean": "true"); complex ones are typed here.
PARAMETER = Obj(name=STR, resource="resource", valueCoding=CODING,
                valueCodeableConcept=CODEABLE_CONCEPT)
PARAMETER["part"] = Arr(PARAMETER)
PARAMETERS = Obj(resourceType=STR, id=STR, parameter=Arr(PARAMETER))

BUNDLE = Obj(resourceType=STR, id=STR, type=STR,
             entry=Arr(Obj(resource="resource", request=Obj(method=STR, url=STR))))

RESOURCES: dict[str, Obj] = {"CodeSystem": CODE_SYSTEM, "ValueSet": VALUE_SET,
                             "ConceptMap": CONCEPT_MAP, "Parameters": PARAMETERS,
                             "Bundle": BUNDLE}

_JSON_TYPES: dict[str, tuple[type, ...]] = {STR: (str,), BOOL: (bool,), INT: (int,),
                                            NUM: (int, float), ANY_OBJ: (dict,)}


def check_json(data: Any, max_depth: int = MAX_DEPTH) -> None:
    """400 `structure` when `data` nests deeper than `max_depth` or holds an integer outside
    the signed 64-bit range. Iterative: never recurses, whatever the input."""
    low, high = INT64
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):  # a scalar body: nothing nested
            if type(node) is int and not low <= node <= high:
                raise MalformedContent("a JSON integer is outside the 64-bit range")
            continue
        children = node.values() if isinstance(node, dict) else node
        if depth > max_depth:
            raise MalformedContent(f"JSON nested deeper than {max_depth} levels is not accepted")
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif type(child) is int and not low <= child <= high:
                raise MalformedContent("a JSON integer is outside the 64-bit range")


def check_resource(data: Any, where: str | None = None) -> None:
    """400 `structure` when an element this server reads has the wrong JSON type, in `data`
    and in the resources it carries (contained, Parameters, Bundle entries)."""
    if not isinstance(data, dict):
        raise MalformedContent(f"{where or 'the body'} must be a JSON object (a resource)",
                               expression=(where,) if where else ())
    rtype = data.get("resourceType")
    spec = RESOURCES.get(rtype) if isinstance(rtype, str) else None
    if spec is not None:
        _check(data, spec, (where or str(rtype),))


#: Where a value is: (parent path, key or index), the text built only for an error.
Path = tuple[Any, ...]


def _text(path: Path) -> str:
    parts: list[str] = []
    while len(path) == 2:
        path, step = path
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return str(path[0]) + "".join(reversed(parts))


def _check(value: Any, spec: Spec, path: Path) -> None:
    if value is None:
        return
    if isinstance(spec, str):
        if spec == "resource":
            check_resource(value, _text(path))
        elif not isinstance(value, _JSON_TYPES[spec]) or \
                (spec != BOOL and isinstance(value, bool)):
            _wrong(path, spec, value)
        return
    if isinstance(spec, Arr):
        if not isinstance(value, list):
            _wrong(path, "array", value)
        item = spec.item
        for i, member in enumerate(value):
            _check(member, item, (path, i))
        return
    if not isinstance(value, dict):
        _wrong(path, "object", value)
    for key, sub in spec.items():
        if key in value:
            _check(value[key], sub, (path, key))


def _wrong(path: Path, expected: str, value: Any) -> None:
    got = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
           int: "a number", float: "a number"}.get(type(value), type(value).__name__)
    article = "an" if expected[0] in "aeiou" else "a"
    where = _text(path)
    raise MalformedContent(f"{where} must be {article} {expected}, not {got}",
                           expression=(where,))
