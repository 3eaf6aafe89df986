"""Replaying what the HL7 validator sends for the MII KDS examples against a live server.

Requests, as the validator (`-tx <server>`) sends them for one coded element:
- every distinct Coding: `CodeSystem/$validate-code` with the coding (display checked strictly);
- every element with a required, extensible or preferred binding (the validator does not ask a
  server about `example` bindings): `ValueSet/$validate-code` with the binding's ValueSet by
  url, the Coding / CodeableConcept / code (`inferSystem` for a bare code) and
  `lenient-display-validation=true`, under one validator cache (`cache-id`);
- once per ValueSet: the same with the ValueSet inline (`valueSet`), the ValueSets it imports
  as `tx-resource` parameters, as the validator sends a value set the server may not have.
Identical requests are sent once (the validator's own client cache does the same). The run
stops sending after `budget` seconds; what was left is counted, never silently dropped.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import parameters
from tests.validator.mii_examples import JSON, Coded, Packages

FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
#: Bindings the validator asks a server about (an `example` binding is never checked).
CHECKED_STRENGTHS = ("required", "extensible", "preferred")
CODING_KEYS = ("system", "version", "code", "display")


@dataclass(frozen=True)
class Request:
    kind: str  # "coding" (CodeSystem), "vs-url", "vs-inline"
    path: str  # operation path below /fhir
    body: str  # the Parameters JSON, canonical (the dedup key)
    system: str | None
    code: str | None
    display: str | None
    value_set: str | None


@dataclass
class Answer:
    request: Request
    status: int
    body: JSON | None
    seconds: float
    examples: list[str] = field(default_factory=list)  # resource/path that sent it

    @property
    def result(self) -> bool | None:
        if self.body is None or self.body.get("resourceType") != "Parameters":
            return None
        for p in self.body.get("parameter") or []:
            if p.get("name") == "result":
                return bool(p.get("valueBoolean"))
        return None

    def issues(self) -> list[JSON]:
        """The OperationOutcome issues: the `issues` parameter, or the body itself."""
        if self.body is None:
            return []
        if self.body.get("resourceType") == "OperationOutcome":
            return list(self.body.get("issue") or [])
        for p in self.body.get("parameter") or []:
            if p.get("name") == "issues":
                return list((p.get("resource") or {}).get("issue") or [])
        return []

    def text(self, name: str) -> str | None:
        for p in (self.body or {}).get("parameter") or []:
            if p.get("name") == name:
                for k, v in p.items():
                    if k.startswith("value"):
                        return str(v)
        return None


def _coding(value: JSON) -> JSON:
    return {k: value[k] for k in CODING_KEYS if isinstance(value.get(k), str)}


def _cc(value: JSON) -> JSON:
    out: JSON = {"coding": [_coding(c) for c in value.get("coding") or [] if isinstance(c, dict)]}
    if isinstance(value.get("text"), str):
        out["text"] = value["text"]
    return out


def _params(*pairs: tuple[str, Any]) -> str:
    return json.dumps(parameters(*pairs), sort_keys=True)


def imported_value_sets(vs: JSON, packages: list[Packages], depth: int = 0) -> list[JSON]:
    """The ValueSets `vs` imports (compose include/exclude valueSet), from the packages."""
    if depth > 3:
        return []
    out: list[JSON] = []
    for part in ("include", "exclude"):
        for inc in (vs.get("compose") or {}).get(part) or []:
            for ref in inc.get("valueSet") or []:
                found = find(packages, "value_sets", ref)
                if found is not None and found not in out:
                    out.append(found)
                    out += [v for v in imported_value_sets(found, packages, depth + 1)
                            if v not in out]
    return out


def find(packages: list[Packages], kind: str, canonical: str) -> JSON | None:
    url = canonical.split("|", 1)[0]
    for pk in packages:
        found: JSON | None = getattr(pk, kind).get(url)
        if found is not None:
            return found
    return None


def requests_for(items: list[Coded], packages: list[Packages]
                 ) -> tuple[list[Request], dict[str, list[str]]]:
    """The distinct requests the items make, and which examples make each (by body)."""
    out: dict[str, Request] = {}
    sent_by: dict[str, list[str]] = {}
    inlined: set[str] = set()

    def add(req: Request, item: Coded) -> None:
        out.setdefault(req.body, req)
        sent_by.setdefault(req.body, []).append(f"{item.resource} {item.path}")

    for item in items:
        if item.kind == "Coding" and isinstance(item.value, dict) and "code" in item.value:
            c = _coding(item.value)
            add(Request("coding", "/CodeSystem/$validate-code", _params(("coding", c)),
                        c.get("system"), c.get("code"), c.get("display"), None), item)
        if item.value_set is None or item.strength not in CHECKED_STRENGTHS:
            continue
        if item.kind == "CodeableConcept":
            value: Any = _cc(item.value)
            if not value["coding"]:
                continue
            first = value["coding"][0]
            shown = ("codeableConcept", value)
        elif item.kind == "Coding":
            first = _coding(item.value)
            shown = ("coding", first)
        else:
            first = {"code": item.value}
            shown = ("code", item.value)
        extra: list[tuple[str, Any]] = [("inferSystem", True)] if item.kind == "code" else []
        common = [shown, *extra, ("lenient-display-validation", True)]
        add(Request("vs-url", "/ValueSet/$validate-code",
                    _params(("url", item.value_set), *common), first.get("system"),
                    first.get("code"), first.get("display"), item.value_set), item)
        vs = find(packages, "value_sets", item.value_set)
        if vs is not None and item.value_set not in inlined:
            inlined.add(item.value_set)
            tx = [("tx-resource", v) for v in imported_value_sets(vs, packages)]
            add(Request("vs-inline", "/ValueSet/$validate-code",
                        _params(("valueSet", vs), *tx, *common), first.get("system"),
                        first.get("code"), first.get("display"), item.value_set), item)
    return list(out.values()), sent_by


def run(base: str, requests: list[Request], sent_by: dict[str, list[str]],
        budget: float = 240.0, timeout: float = 30.0) -> tuple[list[Answer], int]:
    """Send every request (under one validator cache); (answers, requests left unsent)."""
    answers: list[Answer] = []
    started = time.monotonic()
    with httpx.Client(base_url=f"{base}/fhir", timeout=timeout, headers=FHIR_JSON) as client:
        start = client.post("/$cache-control", params={"mode": "start"}, content=b"")
        cache_id = None
        if start.status_code == 200:
            cache_id = next((p["valueId"] for p in start.json()["parameter"]
                             if p["name"] == "cache-id"), None)
        for i, req in enumerate(requests):
            if time.monotonic() - started > budget:
                return answers, len(requests) - i
            body = req.body
            if cache_id is not None and req.path.startswith("/ValueSet"):
                data = json.loads(body)
                data["parameter"].append({"name": "cache-id", "valueId": cache_id})
                body = json.dumps(data)
            t0 = time.monotonic()
            try:
                r = client.post(req.path, content=body.encode())
                status, parsed = r.status_code, _json(r)
            except httpx.TimeoutException:
                status, parsed = 0, None
            answers.append(Answer(req, status, parsed, time.monotonic() - t0,
                                  sent_by.get(req.body, [])))
    return answers, 0


def _json(r: httpx.Response) -> JSON | None:
    try:
        data = r.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def summary_counts(classes: list[tuple[Answer, str]]) -> Counter[str]:
    return Counter(c for _, c in classes)


def write_markdown(path: Path, classes: list[tuple[Answer, str]], total_items: int,
                   unsent: int, defects: frozenset[str], notes: dict[str, str],
                   seconds: float) -> None:
    """docs/VALIDATOR-REPLAY.md: the counts per class, with examples."""
    counts = summary_counts(classes)
    answers = [a for a, _ in classes]
    by_kind = Counter(a.request.kind for a in answers)
    true = sum(1 for a, c in classes if c == "true")
    times = sorted(a.seconds for a in answers) or [0.0]
    lines = [
        "# Validator replay over the MII KDS 2025 examples",
        "",
        "Written by `TERMSERVER_WRITE_REPLAY_DOC=1 pytest tests/validator/test_mii_replay.py`"
        " (how the requests are made: `tests/validator/replay.py`; the classes:"
        " `tests/validator/classify.py`).",
        "",
        "Every example resource of the 15 MII KDS 2025 packages (`../shared/data/fhir-packages/"
        "mii/`) is walked along the snapshot of its profile; for each Coding the validator's "
        "`CodeSystem/$validate-code` (display checked strictly), for each element with a "
        "required, extensible or preferred binding `ValueSet/$validate-code` by url with "
        "`lenient-display-validation` (Coding, CodeableConcept, or a bare `code` with "
        "`inferSystem`), and once per ValueSet the same with the ValueSet inline and its "
        "imported ValueSets as `tx-resource`, all under one `$cache-control` cache (`cache-id`)."
        " No sampling: identical requests are sent once, as the validator's own cache does. "
        "Server: MII packages, THO 7.0.1, ICD-10-GM 2025 (BfArM TXT), LOINC 2.78 core table + "
        "deDE15 variant; no SNOMED CT, no hl7.fhir.r4.core.",
        "",
        f"- coded elements in the examples: {total_items}; distinct requests sent: "
        f"{len(answers)} ({by_kind['coding']} CodeSystem/$validate-code, "
        f"{by_kind['vs-url']} ValueSet/$validate-code by url, {by_kind['vs-inline']} with "
        f"the ValueSet inline, {by_kind['probe']} probes from issue 14); "
        f"not sent (time budget): {unsent}",
        f"- answered true with no defect: {true}; median request "
        f"{times[len(times) // 2] * 1000:.0f} ms; whole run {seconds:.0f} s",
        "",
        "| class | server defect? | count | what it means |",
        "|---|---|---|---|",
    ]
    for name, n in sorted(counts.items(), key=lambda x: (x[0] != "true", -x[1], x[0])):
        lines.append(f"| `{name}` | {'**yes**' if name in defects else 'no'} | {n} | "
                     f"{notes.get(name, '')} |")
    lines += ["", "## Examples per class (up to 5)", ""]
    for name in sorted(counts):
        if name == "true":
            continue
        lines.append(f"### `{name}`")
        lines.append("")
        for a, _ in [x for x in classes if x[1] == name][:5]:
            issue = next((i.get("details", {}).get("text") or i.get("diagnostics")
                          for i in a.issues()), "")
            what = f"{a.request.system}#{a.request.code}"
            if a.request.display:
                what += f" \"{a.request.display}\""
            where = a.examples[0] if a.examples else "?"
            vs = f" in `{a.request.value_set}`" if a.request.value_set else ""
            lines.append(f"- {a.request.kind}: `{what}`{vs} ({where}; HTTP {a.status}): "
                         f"{str(issue)[:300]}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


class ServerFacts:
    """What the classifier asks the server besides the replayed requests (memoised)."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        self.client = httpx.Client(base_url=f"{base}/fhir", timeout=timeout, headers=FHIR_JSON)
        self._displays: dict[tuple[str, str, str | None], list[str] | None] = {}
        self._stubs: dict[str, bool] = {}

    def close(self) -> None:
        self.client.close()

    def displays(self, system: str, code: str, version: str | None) -> list[str] | None:
        """The code's display and designation values by $lookup (None when not found)."""
        key = (system, code, version)
        if key not in self._displays:
            params = {"system": system, "code": code, **({"version": version} if version else {})}
            r = self.client.get("/CodeSystem/$lookup", params=params)
            found: list[str] | None = None
            if r.status_code == 200:
                found = []
                for p in r.json().get("parameter") or []:
                    if p.get("name") == "display":
                        found.append(str(p.get("valueString")))
                    elif p.get("name") == "designation":
                        found += [str(q.get("valueString")) for q in p.get("part") or []
                                  if q.get("name") == "value"]
            self._displays[key] = found
        return self._displays[key]

    def stubbed(self, system: str) -> bool:
        """Is `system` loaded only as `content: not-present` (no version with content)?"""
        if system not in self._stubs:
            r = self.client.get("/CodeSystem", params={"url": system})
            contents = [e["resource"].get("content") for e in r.json().get("entry") or []] \
                if r.status_code == 200 else []
            self._stubs[system] = bool(contents) and all(c == "not-present" for c in contents)
        return self._stubs[system]


#: The requests issue 14 names for its defects 1–4 (defect 5 is met by the microbiology
#: examples themselves); replayed with the examples so each defect class has a witness.
PROBES: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = (
    ("/CodeSystem/$validate-code", (("coding", {"system": "http://fhir.de/CodeSystem/bfarm/ops",
                                                "code": "5-470.11"}),)),
    ("/ValueSet/$validate-code", (
        ("url", "http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType"),
        ("coding", {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                    "code": "MTH"}))),
    ("/CodeSystem/$validate-code", (("coding", {"system": "http://loinc.org", "code": "9279-1",
                                                "display": "Respiratory Rate"}),)),
    ("/ValueSet/$validate-code", (
        ("url", "http://fhir.de/ValueSet/bfarm/icd-10-gm"),
        ("coding", {"system": "http://fhir.de/CodeSystem/bfarm/icd-10-gm", "code": "A54.4",
                    "version": "2020"}),
        ("lenient-display-validation", True))),
)


def probe_requests() -> list[Request]:
    out: list[Request] = []
    for path, pairs in PROBES:
        named = dict(pairs)
        coding = named["coding"]
        out.append(Request("probe", path, _params(*pairs), coding.get("system"),
                           coding.get("code"), coding.get("display"), named.get("url")))
    return out
