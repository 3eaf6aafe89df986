"""$closure: maintain a client's closure table (https://hl7.org/fhir/R4/conceptmaps.html#closure).

A table is created by a call with only `name`. Each later call with `concept`s adds the codes
not seen yet, works out their subsumption relations with every code of the same system already
in the table, stores them as the next table version and returns them. A call with `version`
resends every relation added after that version.
"""

from __future__ import annotations

from collections.abc import Sequence

from termserver.errors import InvalidRequest, NotFound
from termserver.model import ClosureUpdate, CodingInput
from termserver.service.context import TxContext
from termserver.service.subsumes import ancestors, code_system_for


def closure(ctx: TxContext, name: str, concepts: Sequence[CodingInput],
            version: str | None = None) -> ClosureUpdate:
    store = ctx.store
    table = store.closure_table(name)
    if table is None:
        if concepts or version is not None:
            raise NotFound(f"The closure table '{name}' is not known; initialise it first "
                           "with a $closure call that has only the 'name' parameter",
                           expression=("name",))
        with store.writer() as w:
            w.create_closure_table(name)
        return ClosureUpdate(name, 0, ())
    pk, current = table
    if version is not None:
        if concepts:
            raise InvalidRequest("$closure: give either 'concept' or 'version', not both",
                                 expression=("version",))
        return ClosureUpdate(name, current, tuple(store.closure_relations(pk, _int(version))))
    if not concepts:
        return ClosureUpdate(name, current, ())
    known = store.closure_concepts(pk)
    seen = set(known)
    added: list[tuple[str, str]] = []
    relations: list[tuple[str, str, str]] = []
    for c in concepts:
        if not c.system or not c.code:
            raise InvalidRequest("$closure: every concept needs a system and a code",
                                 expression=("concept",))
        provider = code_system_for(ctx, c.system, c.version)
        detail = provider.lookup(c.code)
        if detail is None:
            raise NotFound(f"Unknown code '{c.code}' in the CodeSystem '{c.system}'",
                           expression=("concept",))
        code = detail.concept.code
        if (c.system, code) in seen:
            continue
        above = ancestors(provider, code)
        for system, other in [*known, *added]:
            if system != c.system:
                continue
            if other in above:
                relations.append((system, code, other))
            elif code in ancestors(provider, other):
                relations.append((system, other, code))
        seen.add((c.system, code))
        added.append((c.system, code))
    if not added:
        return ClosureUpdate(name, current, ())
    with store.writer() as w:
        w.add_closure_version(pk, current + 1, added, relations)
    return ClosureUpdate(name, current + 1, tuple(relations))


def _int(version: str) -> int:
    try:
        return int(version)
    except ValueError:
        raise InvalidRequest(f"$closure: 'version' must be a version this server returned "
                             f"(an integer), not {version!r}", expression=("version",)) from None
