"""Set-based answers for the bulk operations ($translate-bulk, $lookup-bulk,
$validate-code-bulk): a chunk of requests is answered with one read per code system or map,
then each request by the same service function the single operation uses (so a bulk answer
is exactly the single one).

Reads ahead: for $translate, the stored map rows of every code of the chunk (one query per
map / system pair, termserver.store.bulk) and the versions of every map named; for $lookup and
$validate-code, the concept details of every code of the chunk (one query per code system
version, termserver.store.pages.details). A read not covered (a version chain, an `other-map`
rule, a case-insensitive match, a value set's own reads) runs as usual. Nothing is kept after
the chunk, so nothing read ahead can go stale.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from termserver.errors import TerminologyError
from termserver.model import (
    ConceptDetail,
    LookupRequest,
    LookupResult,
    StoredCodeSystem,
    TranslateRequest,
    TranslateResult,
    ValidateRequest,
    ValidationResult,
)
from termserver.service import translate as tr
from termserver.service.context import TxContext
from termserver.service.lookup import lookup
from termserver.service.provider import CodeSystemProvider, StoredCodeSystemProvider
from termserver.service.validate import validate_code
from termserver.store import Store
from termserver.store.bulk import codes_folded, concept_maps_present, map_rows_many, rows_by_code
from termserver.store.bulk import terminology_stamp as terminology_stamp_of
from termserver.store.pages import details
from termserver.textfold import has_case

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Res = TypeVar("Res")


def translate_chunk(ctx: TxContext, requests: Sequence[TranslateRequest | TerminologyError]
                    ) -> list[TranslateResult | TerminologyError]:
    """Answer every request (one coding each) of a chunk; errors pass through in place."""
    canonical = [r if isinstance(r, TerminologyError) else tr.canonical_request(r)
                 for r in requests]
    ahead = tr.Prefetched()
    groups: dict[tuple[str | None, bool, str | None, str | None, str | None], list[str]] = {}
    for r in canonical:
        if isinstance(r, TerminologyError) or r.concept_map is not None:
            continue
        for c in r.codings:
            if c.code:
                key = (c.system, r.reverse, r.other_system, r.url, r.map_version)
                groups.setdefault(key, []).append(c.code)
        if r.url is not None and r.url not in ahead.maps:
            ahead.maps[r.url] = concept_maps_present(ctx.store, r.url)
    for (system, reverse, other, url, version), codes in groups.items():
        rows = map_rows_many(ctx.store, codes, system, reverse=reverse, other_system=other,
                             url=url, version=version)
        for code, found in rows_by_code(rows, codes, system, reverse).items():
            ahead.rows[tr.RowKey(code, system, reverse, other, url, version)] = found
    memo: dict[TranslateRequest, TranslateResult] = {}

    def one(r: TranslateRequest) -> TranslateResult:
        found = memo.get(r)
        if found is None:
            c = r.codings[0] if len(r.codings) == 1 else None
            stored = ahead.rows.get(tr.RowKey(c.code, c.system, r.reverse, r.other_system,
                                              r.url, r.map_version)) if c and c.code else None
            found = tr.translate_plain(r, stored or ())
            if found is None:
                found = tr.translate(ctx, r)
            memo[r] = found
        return found

    token = tr.PREFETCH.set(ahead)
    try:
        return _each(canonical, one)
    finally:
        tr.PREFETCH.reset(token)


def terminology_stamp(ctx: TxContext) -> object:
    """A value that changes whenever a stored CodeSystem, ValueSet or ConceptMap is written
    (store.bulk)."""
    return terminology_stamp_of(ctx.store)


def lookup_chunk(ctx: TxContext, requests: Sequence[LookupRequest | TerminologyError]
                 ) -> list[LookupResult | TerminologyError]:
    """Answer every $lookup of a chunk; errors pass through in place."""
    wanted = [(r.system, r.version, r.code) for r in requests if isinstance(r, LookupRequest)]
    bulk = _prefetched(ctx, wanted)
    return _each(requests, lambda r: lookup(bulk, r))


def validate_chunk(ctx: TxContext, requests: Sequence[ValidateRequest | TerminologyError]
                   ) -> list[ValidationResult | TerminologyError]:
    """Answer every $validate-code of a chunk; errors pass through in place."""
    wanted = [(c.system, c.version, c.code) for r in requests
              if isinstance(r, ValidateRequest) for c in r.codings
              if c.system is not None and c.code]
    bulk = _prefetched(ctx, [(s, v, c) for s, v, c in wanted if s is not None and c])
    return _each(requests, lambda r: validate_code(bulk, r))


def _each(requests: Sequence[Req | TerminologyError], answer: Callable[[Req], Res]
          ) -> list[Res | TerminologyError]:
    out: list[Res | TerminologyError] = []
    for r in requests:
        if isinstance(r, TerminologyError):
            out.append(r)
            continue
        try:
            out.append(answer(r))
        except TerminologyError as exc:
            out.append(exc.detached())
        except Exception as exc:  # noqa: BLE001 - one bad line never ends the stream
            reference = uuid.uuid4().hex[:12]
            log.exception("bulk: unexpected error, reference %s", reference, exc_info=exc)
            out.append(TerminologyError(
                f"Internal error; see the server log, reference {reference}"))
    return out


def _prefetched(ctx: TxContext, wanted: Sequence[tuple[str, str | None, str]]) -> TxContext:
    """`ctx`, with the details of the `wanted` (system, version, code) read ahead: one query
    per stored code system version."""
    codes: dict[tuple[str, str | None], list[str]] = {}
    for system, version, code in wanted:
        codes.setdefault((system, version), []).append(code)
    found: dict[int, Ahead] = {}
    for (system, version), some in codes.items():
        try:
            provider = ctx.code_system(system, version)
        except TerminologyError:
            continue  # the single operation reports it, line by line
        if type(provider) is StoredCodeSystemProvider:
            pk = provider.stored.pk
            ahead = found.setdefault(pk, Ahead())
            ahead.details.update(details(ctx.store, pk, some))
            missing = [c for c in some if c not in ahead.details]
            ahead.asked.update(missing)
            cased = [c for c in missing if has_case(c)]
            if cased and provider.case_sensitive is False:  # one scan for all of them
                ahead.folded.update(codes_folded(ctx.store, pk, cased))
    return _ReadAhead(ctx, found)


@dataclass
class Ahead:
    """What was read ahead of one stored code system: the details of the codes found, the
    codes not found (`asked`) and, for a case-insensitive system, their stored spelling by
    lowered code (`folded`; absent: no such code in any case)."""

    details: dict[str, ConceptDetail] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)


class _ReadAhead(TxContext):
    """A TxContext whose stored code systems answer read-ahead codes without a query, and
    that reads the versions of a code system once for the chunk."""

    def __init__(self, ctx: TxContext, found: dict[int, Ahead]) -> None:
        super().__init__(ctx.store, ctx.memory_code_systems, ctx.memory_value_sets,
                         ctx.stored_value_set, ctx.rules)
        self._found = found
        self._versions: dict[str, list[str | None]] = {}

    def code_system_versions(self, url: str) -> list[str | None]:
        found = self._versions.get(url)
        if found is None:
            found = self._versions[url] = super().code_system_versions(url)
        return list(found)

    def code_system(self, url: str, version: str | None = None) -> CodeSystemProvider | None:
        provider = super().code_system(url, version)
        if type(provider) is StoredCodeSystemProvider:
            ahead = self._found.get(provider.stored.pk)
            if ahead is not None:
                return _AheadProvider(provider.store, provider.stored, ahead)
        return provider


class _AheadProvider(StoredCodeSystemProvider):
    def __init__(self, store: Store, stored: StoredCodeSystem, ahead: Ahead) -> None:
        super().__init__(store, stored)
        self._ahead = ahead

    def lookup(self, code: str) -> ConceptDetail | None:
        ahead = self._ahead
        found = ahead.details.get(code)
        if found is not None:
            return found
        if code in ahead.asked:  # not stored as given: the read-ahead case-insensitive match
            real = ahead.folded.get(code.lower())
            if real is None:
                return None
            found = ahead.details.get(real)
            return found if found is not None else self.store.concept_detail(self.stored.pk,
                                                                             real)
        return super().lookup(code)
