"""What the FHIR routes read but /openapi.json does not declare, added to the schema for the fuzz
run only: the FHIR operations read their query string and their Parameters body by hand, so
FastAPI documents them without parameters. String values are drawn in about equal parts from
the seeded content (so a case gets past "not found"), from inputs that broke servers like this
one (NASTY) and from any text."""

from __future__ import annotations

import copy
import gzip
from typing import Any

import schemathesis
from hypothesis import strategies as st

CS = "http://fuzz.example/CodeSystem/cs"
VS = "http://fuzz.example/ValueSet/vs"
CM = "http://fuzz.example/ConceptMap/cm"
LAB = "http://fuzz.example/CodeSystem/lab"
PROJECT = "fuzz"
IDS = {"/fhir/CodeSystem": "fuzz-cs", "/fhir/ValueSet": "fuzz-vs", "/fhir/ConceptMap": "fuzz-cm"}

#: NUL, numbers too big or in other scripts, bad dates, deep nesting, path tricks, long text.
NASTY = ["", " ", "a\x00b", "\x00", "²", "٣", "1e30", "9223372036854775808", "-1", "0", "NaN",
         "-0", "true", "null", "[]", "{}", '"', "'", "%", "%00", "\\", "*", "**", "|", "||",
         "a|b|c", "(" * 50, "[" * 50, "x" * 3000, "2026-13-45", "0000-00-00T25:61",
         "de-DE-x-" + "a" * 80, "..", "../..", "http://", "urn:oid:", "#", "?", "&", "=", "\r\n",
         "\t", "\u202e", "\ufeff"]


#: Any printable text (NASTY has the control characters, which are refused up front).
_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)


def fuzz_format(name: str, known: list[str]) -> dict[str, Any]:
    """A string schema drawing from `known`, NASTY or any text (a plain anyOf of an enum and a
    string collapses into the string when generated, so the enum would never be drawn)."""
    fmt = f"fuzz-{name}"
    strategies: list[st.SearchStrategy[str]] = [st.sampled_from(NASTY), _TEXT]
    if known:  # mostly known values: one bad input per case is what finds a crash
        strategies = [st.sampled_from(known)] * 4 + strategies
    schemathesis.openapi.format(fmt, st.one_of(strategies))
    return {"type": "string", "format": fmt}


#: Seeded values a parameter of that name may take.
_KNOWN: dict[str, list[str]] = {
    "system": [CS, LAB, "http://loinc.org", "http://snomed.info/sct"],
    "url": [CS, VS, CM, f"{CS}?fhir_vs", f"{LAB}?fhir_vs"],
    "code": ["a", "b", "c", "K"], "version": ["1.0", "1"], "valueSetVersion": ["1.0"],
    "codeA": ["a", "c"], "codeB": ["a", "c"], "filter": ["Disp", "a", "Display c"],
    "coding": [f"{CS}|a"], "target": [VS], "source": [VS],
    "targetsystem": [CS], "systemVersion": ["1.0"],
    "_summary": ["true", "false", "count", "text", "data"], "mode": ["terminology", "full"],
    "displayLanguage": ["de", "en-US", "de-DE,en;q=0.5"], "status": ["active", "draft"],
    "property": ["display", "parent", "child", "inactive", "designation"],
    "system-version": [f"{CS}|1.0"], "force-system-version": [f"{CS}|1.0"],
    "date": ["2026", "2026-01-01", "2026-01-01T00:00:00Z"], "_id": ["fuzz-cs", "fuzz-vs"],
    "count": ["0", "1", "10"], "offset": ["0", "1", "5"], "_count": ["0", "1", "10"],
    "_offset": ["0", "1", "5"], "name": ["Test"], "title": ["Test"], "display": ["Display a"],
    "language": ["de"], "conceptMapVersion": ["1.0"], "codingA": [f"{CS}|a"],
    "codingB": [f"{CS}|c"], "sourceCode": ["a"], "targetCode": ["b"], "sourceSystem": [CS],
    "targetSystem": [CS], "check-system-version": [f"{CS}|1.0"],
    "default-valueset-version": [f"{VS}|1.0"], "dependency": ["x"],
    "codeableConcept": ['{"coding":[{"system":"' + CS + '","code":"a"}]}'],
}
_BOOLEANS = ["activeOnly", "excludeNested", "includeDesignations", "abstract", "inferSystem",
             "lenient-display-validation", "reverse", "useSupplement"]
for _name in _BOOLEANS:
    _KNOWN[_name] = ["true", "false"]

_LOOKUP = ["system", "code", "version", "date", "displayLanguage", "language",
           "property", "useSupplement"]
_SUBSUMES = ["system", "version", "codeA", "codeB"]
_CS_VALIDATE = ["url", "code", "version", "display", "displayLanguage"]
_VS_VALIDATE = ["url", "valueSetVersion", "code", "system", "systemVersion", "display",
                "displayLanguage", "lenient-display-validation", "activeOnly", "abstract",
                "inferSystem"]
_TRANSLATE = ["url", "conceptMapVersion", "code", "system", "version", "source", "target",
              "targetsystem", "reverse", "sourceCode",
              "sourceSystem", "targetCode", "targetSystem", "dependency"]
_EXPAND = ["url", "valueSetVersion", "count", "offset", "filter", "activeOnly", "excludeNested",
           "includeDesignations", "displayLanguage", "property", "system-version",
           "check-system-version", "force-system-version", "default-valueset-version", "date"]
_SEARCH = ["url", "version", "name", "title", "status", "_id", "_count", "_offset", "_summary"]

#: Query parameters sent in every positive case (so most cases get past "required").
REQUIRED = {"/fhir/CodeSystem/$lookup": {"system", "code"},
            "/fhir/CodeSystem/$subsumes": {"system", "codeA", "codeB"},
            "/fhir/CodeSystem/$validate-code": {"url", "code"},
            "/fhir/ValueSet/$validate-code": {"url", "code", "system"},
            "/fhir/ConceptMap/$translate": {"code", "system"},
            "/fhir/ValueSet/$expand": {"url"}, "/fhir/CodeSystem/$normalize": {"code"}}

#: The query parameters of each FHIR GET operation (Coding-typed ones only in a POST body).
OPERATIONS: dict[str, list[str]] = {
    "/fhir/CodeSystem/$lookup": _LOOKUP,
    "/fhir/CodeSystem/$subsumes": _SUBSUMES,
    "/fhir/CodeSystem/$validate-code": _CS_VALIDATE,
    "/fhir/ValueSet/$validate-code": _VS_VALIDATE,
    "/fhir/ValueSet/$batch-validate-code": [],
    "/fhir/ConceptMap/$translate": _TRANSLATE,
    "/fhir/ConceptMap/{id}/$translate": _TRANSLATE,
    "/fhir/ValueSet/$expand": _EXPAND,
    "/fhir/CodeSystem/$normalize": ["system", "code"],
    "/fhir/CodeSystem": _SEARCH, "/fhir/ValueSet": _SEARCH, "/fhir/ConceptMap": _SEARCH,
    "/fhir/CodeSystem/{id}": ["_summary"], "/fhir/ValueSet/{id}": ["_summary"],
    "/fhir/ConceptMap/{id}": ["_summary"],
}
_ALL_NAMES = sorted({n for names in OPERATIONS.values() for n in names}
                    | {"valueSet", "codeSystem", "conceptMap", "tx-resource", "validation"})


def _s(name: str) -> dict[str, Any]:
    return fuzz_format(name, _KNOWN.get(name, []))


def _array(items: dict[str, Any], most: int = 3) -> dict[str, Any]:
    return {"type": "array", "maxItems": most, "items": items}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


_CODING = _object(system=_s("system"), code=_s("code"), version=_s("version"),
                  display=_s("display"))
_CONCEPT = _object(code=_s("code"), display=_s("display"))
_FILTER = _object(property=fuzz_format("filter-property", ["concept", "code", "display",
                                                           "parent", "child", "inactive"]),
                  op=fuzz_format("filter-op", ["is-a", "descendent-of", "=", "regex", "in",
                                               "not-in", "exists", "is-not-a", "generalizes"]),
                  value=_s("code"))
_INCLUDE = _object(system=_s("system"), version=_s("version"),
                   valueSet=_array(_s("url"), 2), concept=_array(_CONCEPT),
                   filter=_array(_FILTER, 2))
_TARGET = _object(code=_s("code"), equivalence=fuzz_format(
    "equivalence", ["equivalent", "wider", "narrower", "unmatched"]),
                  relationship=fuzz_format("relationship", ["equivalent", "related-to"]))
_RESOURCE = {**_object(
    resourceType={"enum": ["CodeSystem", "ValueSet", "ConceptMap", "Parameters"]},
    id=fuzz_format("id", list(IDS.values())), url=_s("url"), version=_s("version"),
    status=fuzz_format("resource-status", ["active", "draft", "retired"]),
    content=fuzz_format("content", ["complete", "fragment", "not-present", "supplement"]),
    concept=_array(_CONCEPT, 4),
    compose=_object(include=_array(_INCLUDE), exclude=_array(_INCLUDE, 1)),
    group=_array(_object(source=_s("system"), target=_s("system"), element=_array(
        _object(code=_s("code"), target=_array(_TARGET, 2))))),
), "required": ["resourceType"]}
_PARAMETER = _object(
    name=fuzz_format("parameter-name", _ALL_NAMES), valueString=_s("code"),
    valueCode=_s("code"), valueUri=_s("url"), valueCanonical=_s("url"),
    valueInteger={"type": "integer"}, valueBoolean={"type": "boolean"},
    valueCoding=_CODING, valueCodeableConcept=_object(coding=_array(_CODING, 2)),
    resource=_RESOURCE)
_PARAMETERS = {**_object(resourceType={"enum": ["Parameters"]},
                         parameter=_array(_PARAMETER, 6)), "required": ["resourceType"]}
_BUNDLE = {**_object(
    resourceType={"enum": ["Bundle"]}, type=fuzz_format("bundle-type", ["batch", "transaction"]),
    entry=_array(_object(
        request=_object(method=fuzz_format("method", ["GET", "POST", "PUT", "DELETE"]),
                        url=fuzz_format("entry-url", [
                            f"CodeSystem/$lookup?system={CS}&code=a", "ValueSet/$expand",
                            f"ValueSet/$expand?url={VS}", "metadata", "CodeSystem/fuzz-cs",
                            "CodeSystem/$validate-code", "ConceptMap/$translate"])),
        resource=_PARAMETERS)),
), "required": ["resourceType"]}


#: Query parameters sent up to three times (`count=1&count=abc` once gave a 500).
REPEATABLE = frozenset({"count", "_offset", "property", "url", "filter"})


def _gzip(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


#: Uploads for the workbench's file fields: good lists, NUL in a code or display, a bare CR,
#: byte-order marks, UTF-16, gzip (whole, truncated), ConceptMap JSON (good, NUL, deep).
UPLOADS = [
    b"code;display\nK;Kalium\nX1;Neu\n", b"code;display\nA\x00B;x\n", b"code;display\nA;x\x00y\n",
    b"code;display\rK;Kalium\r", b"\xef\xbb\xbfcode;display\nK;Kalium\n",
    "code;display\nK;Kalium\n".encode("utf-16"), b"code;display\n", b"", b"\x00" * 64,
    _gzip(b"code;display\nK;Kalium\n"), _gzip(b"code;display\nK;Kalium\n")[:20],
    b"source,target\nK,a\n", b"source,target\nK\x00,a\n", b"Q\x00o",
    b'{"resourceType":"ConceptMap","group":[{"element":[{"code":"K","target":[{"code":"a"}]}]}]}',
    b"[" * 100_000, b'{"resourceType":"ConceptMap","group":' + b"[" * 300 + b"]" * 300 + b"}",
    b"PK\x03\x04" + b"\x00" * 40,
]


def _upload_fields(schema: dict[str, Any]) -> None:
    """File fields of multipart bodies draw from UPLOADS or any bytes."""
    schemathesis.openapi.format("fuzz-upload", st.one_of(
        st.sampled_from(UPLOADS), st.sampled_from(UPLOADS), st.binary(max_size=200)))
    for component in schema.get("components", {}).get("schemas", {}).values():
        for field in (component.get("properties") or {}).values():
            if field.get("contentMediaType") == "application/octet-stream":
                field["format"] = "fuzz-upload"


def _query_param(path: str, name: str) -> dict[str, Any]:
    required = name in REQUIRED.get(path, ())
    schema = _s(name)
    if name in REPEATABLE:
        schema = {"type": "array", "items": schema, "minItems": 1, "maxItems": 3}
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "style": "form", "explode": True}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": False, "content": {"application/fhir+json": {"schema": schema}}}


def augment(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of the app's OpenAPI schema with the FHIR routes' inputs declared."""
    schema = copy.deepcopy(raw)
    _upload_fields(schema)
    paths: dict[str, Any] = schema["paths"]
    for path, names in OPERATIONS.items():
        for method, op in (paths.get(path) or {}).items():
            declared = {q["name"] for q in op.get("parameters", [])}
            if method == "get":
                op.setdefault("parameters", []).extend(
                    _query_param(path, n) for n in names if n not in declared)
            elif method in ("post", "put") and "requestBody" not in op:
                resource = path in IDS or method == "put"
                op["requestBody"] = _body(_RESOURCE if resource else _PARAMETERS)
    for path in ("/fhir", "/fhir/$closure"):
        for op in (paths.get(path) or {}).values():
            op.setdefault("requestBody", _body(_BUNDLE if path == "/fhir" else _PARAMETERS))
    for ops in paths.values():
        for op in ops.values():
            for param in op.get("parameters", []):
                if param["in"] == "query" and param["schema"].get("type") == "integer":
                    # as sent: digits of any size or script, not only what the schema allows
                    known = [str(param["schema"].get(k, 1)) for k in ("minimum", "maximum")]
                    param["schema"] = fuzz_format(f"int-{param['name']}", known)
                if param["in"] != "path":
                    continue
                if param["name"] == "id":
                    param["schema"] = fuzz_format("id", list(IDS.values()))
                elif param["name"] == "project_id":
                    param["schema"] = fuzz_format("project", [PROJECT])
                elif param["name"] == "code":
                    param["schema"] = fuzz_format("lab-code", ["K", "KS", "NA"])
    return schema
