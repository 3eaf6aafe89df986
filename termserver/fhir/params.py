"""GET query strings and POST Parameters bodies → checked operation inputs, with guard helpers.

Every operation's parameters pass one parser (`pairs_from_query`, `pairs_from_parameters`),
which checks them once, so no handler sees a raw string: integer parameters become `int`
(ASCII digits only, 0 ≤ n ≤ 2^31-1, the FHIR integer range), boolean parameters `bool`
(`true`/`false` only), a parameter the specification allows once (0..1) given twice is refused,
and no name or text may hold a control character (NUL and the other C0 controls except tab,
CR and LF). Each refusal is a 400 naming the parameter in `expression`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from termserver.errors import InvalidRequest
from termserver.model import JSON

Pairs = list[tuple[str, Any]]

#: The largest FHIR integer (a signed 32-bit number).
MAX_INTEGER = 2**31 - 1

#: Control characters refused in any text: C0 except tab, LF and CR (PostgreSQL cannot even
#: store NUL; FHIR strings exclude them).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: Integer parameters of the operations and searches served here.
INTEGER_PARAMS = frozenset({"count", "offset", "_count", "_offset"})

#: Boolean parameters of the operations served here.
BOOLEAN_PARAMS = frozenset({
    "activeOnly", "excludeNested", "includeDesignations", "includeDefinition", "abstract",
    "lenient-display-validation", "valueset-membership-only", "inferSystem", "reverse",
    "excludeNotForUI", "excludePostCoordinated",
})

#: Parameters that the operation definitions (and the search API here) allow at most once.
#: Everything else ('property', 'designation', 'tx-resource', 'system-version', …) may repeat.
SINGLE_PARAMS = INTEGER_PARAMS | BOOLEAN_PARAMS | frozenset({
    "url", "valueSet", "valueSetVersion", "codeSystem", "conceptMap", "conceptMapVersion",
    "context", "contextDirection", "code", "system", "version", "systemVersion", "display",
    "coding", "codeableConcept", "date", "displayLanguage", "filter", "codeA", "codeB",
    "codingA", "codingB", "sourceCode", "sourceSystem", "sourceVersion", "sourceCoding",
    "sourceCodeableConcept", "sourceScope", "source", "target", "targetScope", "targetsystem",
    "targetSystem", "targetVersion", "targetCode", "targetCoding", "targetCodeableConcept",
    "name", "title", "status", "_id", "_summary",
})


def pairs_from_query(items: Iterable[tuple[str, str]]) -> Pairs:
    """(name, value) pairs from a query string, checked and typed (see the module doc)."""
    return checked([(k, v) for k, v in items])


def pairs_from_parameters(body: JSON) -> Pairs:
    """(name, value) pairs from a Parameters resource; value[x] unwrapped, resources kept;
    checked and typed like a query string."""
    if body.get("resourceType") != "Parameters":
        raise InvalidRequest(
            f"expected a Parameters resource, got {body.get('resourceType') or 'no resourceType'}",
            expression=("resourceType",))
    parameters = body.get("parameter") or []
    if not isinstance(parameters, list):
        raise InvalidRequest("Parameters.parameter must be a list",
                             expression=("Parameters.parameter",))
    out: Pairs = []
    for i, p in enumerate(parameters):
        where = f"Parameters.parameter[{i}]"
        if not isinstance(p, dict) or not p.get("name") or not isinstance(p["name"], str):
            raise InvalidRequest("every Parameters.parameter needs a name", expression=(where,))
        value: Any = p.get("resource")
        if value is None:
            key, value = next(((k, v) for k, v in p.items() if k.startswith("value")),
                              ("value", None))
            if isinstance(value, list):
                raise InvalidRequest(f"{where}.{key} must be one value, not an array",
                                     expression=(f"{where}.{key}",))
        if value is None and p.get("part") is not None:
            value = p["part"]
        if value is None:
            raise InvalidRequest(f"parameter '{_shown(p['name'])}' has no value, resource or "
                                 "part", expression=(where,))
        out.append((p["name"], value))
    return checked(out)


def checked(pairs: Pairs) -> Pairs:
    """The pairs with integer and boolean parameters typed; 400 for a control character, a
    repeated 0..1 parameter, or a value of the wrong type."""
    out: Pairs = []
    seen: set[str] = set()
    for name, value in pairs:
        check_text(name, name)
        if name in SINGLE_PARAMS:
            if name in seen:
                raise InvalidRequest(f"parameter '{_shown(name)}' may be given only once",
                                     expression=(name,))
            seen.add(name)
        if name in INTEGER_PARAMS:
            value = integer_value(name, value)
        elif name in BOOLEAN_PARAMS:
            value = boolean_value(name, value)
        elif isinstance(value, str):
            check_text(value, name)
        out.append((name, value))
    return out


def check_text(value: str, name: str) -> None:
    """400 when `value` holds a control character other than tab, CR or LF."""
    if CONTROL.search(value):
        raise InvalidRequest(f"parameter '{_shown(name)}' holds a control character "
                             "(such as NUL), which is not allowed", expression=(name,))


def integer_value(name: str, value: Any, maximum: int = MAX_INTEGER) -> int:
    """A non-negative integer from ASCII digits (query) or a JSON integer (Parameters)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        number = int(value)
    else:
        raise InvalidRequest(f"parameter '{name}' must be a non-negative integer, "
                             f"not {_shown(value)}", expression=(name,))
    if not 0 <= number <= maximum:
        raise InvalidRequest(f"parameter '{name}' must be between 0 and {maximum}, "
                             f"not {_shown(number)}", expression=(name,))
    return number


def boolean_value(name: str, value: Any) -> bool:
    """A boolean from `true`/`false` (query) or a JSON boolean (Parameters)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise InvalidRequest(f"parameter '{name}' must be true or false, not {_shown(value)}",
                         expression=(name,))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def first(pairs: Pairs, name: str) -> Any:
    return next((v for k, v in pairs if k == name), None)


def all_of(pairs: Pairs, name: str) -> list[Any]:
    return [v for k, v in pairs if k == name]


def text(pairs: Pairs, name: str) -> str | None:
    value = first(pairs, name)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise InvalidRequest(f"parameter '{name}' must be a primitive value",
                             expression=(name,))
    return str(value)


def integer(pairs: Pairs, name: str) -> int | None:
    """An integer parameter (already checked by the parser); None when absent."""
    value = first(pairs, name)
    return None if value is None else integer_value(name, value)


def coding(pairs: Pairs, name: str) -> JSON | None:
    value = first(pairs, name)
    if value is not None and not isinstance(value, dict):
        raise InvalidRequest(f"parameter '{name}' must be a Coding", expression=(name,))
    return value


def require(value: str | None, name: str, operation: str) -> str:
    if not value:
        raise InvalidRequest(f"the parameter '{name}' is required for {operation}",
                             expression=(name,))
    return value


def mutually_exclusive(operation: str, **named: object) -> None:
    given = [k for k, v in named.items() if v is not None]
    if len(given) > 1:
        names = "', '".join(given)
        raise InvalidRequest(f"{operation}: use only one of '{names}'",
                             expression=tuple(given))


def boolean(pairs: Pairs, name: str, default: bool = False) -> bool:
    """A boolean parameter (`true`/`false` or a JSON boolean); absent: `default`."""
    value = first(pairs, name)
    return default if value is None else boolean_value(name, value)


def canonical_versions(values: list[Any]) -> dict[str, str]:
    """`url|version` canonicals → {url: version}; values without a version are skipped."""
    out: dict[str, str] = {}
    for value in values:
        url, sep, version = str(value).partition("|")
        if sep and version:
            out[url] = version
    return out
