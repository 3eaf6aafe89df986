"""$expand results → the expanded ValueSet JSON. Pure functions."""

from __future__ import annotations

from termserver.model import JSON, Designation, Expansion


def expansion_to_valueset(expansion: Expansion, identifier: str, timestamp: str) -> JSON:
    """The expanded ValueSet: the definition as given, plus `expansion`."""
    out: JSON = {k: v for k, v in expansion.value_set.resource.items()
                 if k not in ("expansion", "text", "meta")}
    out.setdefault("resourceType", "ValueSet")
    body: JSON = {"identifier": identifier, "timestamp": timestamp, "total": expansion.total,
                  "offset": expansion.offset}
    if expansion.parameters:
        body["parameter"] = [{"name": n, f"value{t}": v} for n, t, v in expansion.parameters]
    contains = []
    for e in expansion.entries:
        item: JSON = {"system": e.system}
        if e.version and len({x.version for x in expansion.entries if x.system == e.system}) > 1:
            item["version"] = e.version
        if e.abstract:
            item["abstract"] = True
        if e.inactive:
            item["inactive"] = True
        item["code"] = e.code
        if e.display:
            item["display"] = e.display
        if e.designations:
            item["designation"] = [_contains_designation(d) for d in e.designations]
        contains.append(item)
    if contains:
        body["contains"] = contains
    out["expansion"] = body
    return out


def _contains_designation(d: Designation) -> JSON:
    out: JSON = {}
    if d.language:
        out["language"] = d.language
    if d.use_code:
        out["use"] = {k: v for k, v in (("system", d.use_system), ("code", d.use_code),
                                         ("display", d.use_display)) if v}
    out["value"] = d.value
    return out
