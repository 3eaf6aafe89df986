"""GET query strings and POST Parameters bodies → typed operation inputs, with guard helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from termserver.errors import InvalidRequest
from termserver.model import JSON

Pairs = list[tuple[str, Any]]


def pairs_from_query(items: Iterable[tuple[str, str]]) -> Pairs:
    return [(k, v) for k, v in items]


def pairs_from_parameters(body: JSON) -> Pairs:
    """(name, value) pairs from a Parameters resource; value[x] unwrapped, resources kept."""
    if body.get("resourceType") != "Parameters":
        raise InvalidRequest(
            f"expected a Parameters resource, got {body.get('resourceType') or 'no resourceType'}",
            expression=("resourceType",))
    out: Pairs = []
    for p in body.get("parameter") or []:
        if not isinstance(p, dict) or not p.get("name"):
            raise InvalidRequest("every Parameters.parameter needs a name",
                                 expression=("Parameters.parameter",))
        value: Any = p.get("resource")
        if value is None:
            value = next((v for k, v in p.items() if k.startswith("value")), None)
        if value is None and p.get("part") is not None:
            value = p["part"]
        out.append((str(p["name"]), value))
    return out


def first(pairs: Pairs, name: str) -> Any:
    return next((v for k, v in pairs if k == name), None)


def all_of(pairs: Pairs, name: str) -> list[Any]:
    return [v for k, v in pairs if k == name]


def text(pairs: Pairs, name: str) -> str | None:
    value = first(pairs, name)
    if value is None:
        return None
    if not isinstance(value, str | int | float | bool):
        raise InvalidRequest(f"parameter '{name}' must be a primitive value",
                             expression=(name,))
    return str(value)


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
    """A boolean parameter (`true`/`false`, any case, or a JSON boolean); absent: `default`."""
    value = first(pairs, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() not in ("true", "false"):
        raise InvalidRequest(f"parameter '{name}' must be true or false, not {value!r}",
                             expression=(name,))
    return str(value).lower() == "true"


def canonical_versions(values: list[Any]) -> dict[str, str]:
    """`url|version` canonicals → {url: version}; values without a version are skipped."""
    out: dict[str, str] = {}
    for value in values:
        url, sep, version = str(value).partition("|")
        if sep and version:
            out[url] = version
    return out
