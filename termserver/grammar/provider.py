"""GrammarCodeSystem: a code system whose codes are decided by a grammar and its data (UCUM,
BCP-47, MIME types) or by a published list shipped with a library (ISO 3166), not by loaded
content. It is a CodeSystemProvider (termserver.service.provider) answering `lookup` for any
valid code; `concepts` enumerates only finite systems and refuses the others as too costly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from termserver.errors import TooCostly
from termserver.model import CodeSystemInfo, ConceptDetail, Designation
from termserver.service.provider import MemoryCodeSystem

#: Designation use of the long ("print") form of a code (as the reference servers give it).
TERM_MAINT = "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra"


class GrammarCodeSystem(MemoryCodeSystem):
    """Base of the grammar-based providers: subclasses implement `describe` (the detail of a
    valid code, or None) and, where finite, `enumerate`."""

    #: False: the system has infinite members ($expand of it all is refused).
    enumerable = False
    #: Compose filters the system supports: property → operators (TerminologyCapabilities).
    filters: dict[str, tuple[str, ...]] = {}

    def __init__(self, info: CodeSystemInfo) -> None:
        super().__init__(info, ())

    def describe(self, code: str) -> ConceptDetail | None:
        raise NotImplementedError

    def enumerate(self) -> Iterable[ConceptDetail]:
        return ()

    def explain(self, code: str) -> str | None:
        """Why `code` is not a code of this system (an information issue for $validate-code),
        or None when it is one or there is nothing to add to "unknown code"."""
        return None

    def lookup(self, code: str) -> ConceptDetail | None:
        return self.describe(code) if code else None

    def concepts(self) -> Iterator[ConceptDetail]:
        if not self.enumerable:
            raise TooCostly(f"The code system '{self.url}' has a grammar, and so has infinite "
                            "members: it cannot be expanded without a value set that lists "
                            "its codes")
        return iter(self.enumerate())

    def descendants(self, code: str) -> set[str]:
        return set()

    def ancestors(self, code: str) -> set[str]:
        return set()

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}" if self.version else self.url


def preferred(code: str, value: str, language: str = "en") -> Designation:
    """A `preferredForLanguage` designation of `code`."""
    return Designation(code, value, language, TERM_MAINT, "preferredForLanguage",
                       "Preferred For Language")
