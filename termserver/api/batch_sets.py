"""Set-based answers for the terminology reads of a `batch` Bundle.

An ETL pipeline's batch holds hundreds of `$translate`, `$lookup` or `$validate-code` calls.
The entries that are such a call at the type level (`ConceptMap/$translate`,
`CodeSystem/$lookup`, `CodeSystem/$validate-code`, `ValueSet/$validate-code`; GET with a
query, or POST with a Parameters body) and bring nothing request-scoped (no `tx-resource`,
inline `codeSystem`/`valueSet`, `cache-id` or system-version rules) are answered together,
per operation, in chunks: one read per code system or map for the whole chunk
(termserver.service.bulk, as the bulk operations), then each entry by the same service
function and the same Parameters shape the single operation gives. Every other entry is
dispatched on its own (termserver.api.routes.system). A chunk that fails unexpectedly is
dispatched entry by entry instead, so grouping never changes an answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from termserver import metrics
from termserver.api.routes.codesystem import _lookup_request
from termserver.api.routes.validate import _request as validate_request
from termserver.api.tx import context_from
from termserver.errors import TerminologyError
from termserver.fhir import params as p
from termserver.fhir.outcome import operation_outcome
from termserver.fhir.translation import translate_request, translation_to_parameters
from termserver.fhir.validation import validation_to_parameters
from termserver.fhir.wire import lookup_to_parameters
from termserver.model import JSON
from termserver.service import bulk, deadline
from termserver.service.context import TxContext
from termserver.store import Store

Kind = Literal["translate", "lookup", "cs-validate", "vs-validate"]

#: The type-level operations answered set-based, by the entry's path below the FHIR base.
KINDS: dict[str, Kind] = {
    "ConceptMap/$translate": "translate", "CodeSystem/$lookup": "lookup",
    "CodeSystem/$validate-code": "cs-validate", "ValueSet/$validate-code": "vs-validate"}
#: Parameters that make an entry's answer depend on more than the stored terminology.
ALONE = frozenset({"tx-resource", "codeSystem", "valueSet", "cache-id", "system-version",
                   "check-system-version", "force-system-version"})
#: TERMSERVER_BATCH_SETS=0 dispatches every entry on its own (for comparison and as an escape).
ENABLED = os.environ.get("TERMSERVER_BATCH_SETS", "1").strip().lower() not in (
    "0", "false", "no", "off")
#: Entries answered with one read ahead (the bulk operations' chunk size).
CHUNK = 1000
#: The metrics labels of each kind (operation, resource), as termserver.api.accesslog names them.
LABELS: dict[Kind, tuple[str, str]] = {
    "translate": ("$translate", "ConceptMap"), "lookup": ("$lookup", "CodeSystem"),
    "cs-validate": ("$validate-code", "CodeSystem"),
    "vs-validate": ("$validate-code", "ValueSet")}


@dataclass(frozen=True, slots=True)
class Member:
    """One batch entry taken into a set: its position and parsed parameters."""

    index: int
    kind: Kind
    pairs: p.Pairs


def member(index: int, method: str, path: str, query: str, resource: Any) -> Member | None:
    """The entry as a set member, or None when it is to be dispatched on its own."""
    kind = KINDS.get(path.strip("/")) if ENABLED else None
    if kind is None:
        return None
    if method == "GET" and resource is None:
        pairs = p.pairs_from_query(parse_qsl(query, keep_blank_values=True))
    elif method == "POST" and not query and isinstance(resource, dict) \
            and resource.get("resourceType") == "Parameters":
        try:
            pairs = p.pairs_from_parameters(resource)
        except TerminologyError:
            return None  # the single operation words the error
    else:
        return None
    if any(name in ALONE for name, _ in pairs):
        return None
    return Member(index, kind, pairs)


def answer(store: Store, kind: Kind, members: Sequence[Member], accept_language: str | None,
           fhir_version: str, timeout: float | None) -> list[tuple[int, JSON]]:
    """(status, resource) of each member, in order: set-based, a chunk at a time (run in a
    worker thread: value sets may hold regex or ECL filters)."""
    out: list[tuple[int, JSON]] = []
    for start in range(0, len(members), CHUNK):
        chunk = members[start:start + CHUNK]
        began = time.perf_counter()
        deadline.start(timeout)
        ctx = TxContext(store) if kind == "lookup" else context_from(store, [])
        build, run, shape = _PLANS[kind]
        requests: list[Any] = []
        for m in chunk:
            try:
                requests.append(build(ctx, m.pairs, accept_language))
            except TerminologyError as exc:
                requests.append(exc.detached())
        answers = [(result.http_status, operation_outcome(result.issues()))
                   if isinstance(result, TerminologyError)
                   else (200, shape(result, fhir_version)) for result in run(ctx, requests)]
        share = (time.perf_counter() - began) / max(len(chunk), 1)
        operation, resource = LABELS[kind]
        for status, _ in answers:
            metrics.observe_request(operation, resource, status, share)
        out.extend(answers)
    return out


def _validate(on_value_set: bool) -> Callable[[TxContext, p.Pairs, str | None], Any]:
    return lambda ctx, pairs, language: validate_request(ctx, pairs, language, on_value_set)


Plan = tuple[Callable[[TxContext, p.Pairs, str | None], Any],
             Callable[[TxContext, Sequence[Any]], Sequence[Any]],
             Callable[[Any, str], JSON]]
_PLANS: dict[Kind, Plan] = {
    "translate": (lambda _ctx, pairs, _language: translate_request(pairs),
                  bulk.translate_chunk, translation_to_parameters),
    "lookup": (lambda _ctx, pairs, language: _lookup_request(pairs, language),
               bulk.lookup_chunk, lambda result, _version: lookup_to_parameters(result)),
    "cs-validate": (_validate(False), bulk.validate_chunk,
                    lambda result, _version: validation_to_parameters(result)),
    "vs-validate": (_validate(True), bulk.validate_chunk,
                    lambda result, _version: validation_to_parameters(result)),
}
