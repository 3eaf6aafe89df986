"""Code systems the server knows without loading them: UCUM, BCP-47 language tags, MIME types
and ISO 3166 country (and subdivision) codes, decided by their grammars and the data that the
packages they come with ship (see NOTICE).

`install()` registers them with the TxContext hook (termserver.service.context.GRAMMAR: a
request's own CodeSystem of the same url wins, and so does stored content unless it is a
`not-present`/`fragment` stub) and advertises them in TerminologyCapabilities.
"""

from __future__ import annotations

from functools import cache

from termserver.fhir import capabilities
from termserver.grammar.bcp47 import LanguageTags
from termserver.grammar.iso3166 import CountryCodes, SubdivisionCodes
from termserver.grammar.mime import MimeTypes
from termserver.grammar.provider import GrammarCodeSystem
from termserver.grammar.ucum import UcumUnits
from termserver.service import context


@cache
def providers() -> tuple[GrammarCodeSystem, ...]:
    """One provider per system (they hold no request state, so they are shared)."""
    return (UcumUnits(), LanguageTags(), MimeTypes(), CountryCodes(), SubdivisionCodes())


def install() -> None:
    """Make the grammar-based code systems visible to every TxContext (idempotent)."""
    for provider in providers():
        context.GRAMMAR[provider.url] = provider
        entry = (provider.url, provider.version,
                 tuple((p, ops) for p, ops in provider.filters.items()))
        if entry not in capabilities.GRAMMAR_CODE_SYSTEMS:
            capabilities.GRAMMAR_CODE_SYSTEMS.append(entry)
