"""The ECL abstract syntax tree: frozen dataclasses the parser builds and the evaluator walks.

Expression nodes: `ConceptRef`, `Wildcard`, `AltId`, `MemberOf`, `SubExpression`
(operator + focus + filters), `Compound` (and/or/minus), `Refined` (`:`), `Dotted` (`.`).
Refinement nodes: `AttributeConstraint`, `AttributeGroup`, `RefinementSet`.
Filter nodes: `FilterBlock` of `Filter`s (`{{ D … }}`, `{{ C … }}`, `{{ M … }}`) and
`HistorySupplement` (`{{ +HISTORY… }}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Hierarchy operators in brief syntax; the parser maps long forms onto these.
Operator = Literal["<", "<<", "<!", "<<!", ">", ">>", ">!", ">>!", "!!>", "!!<"]
Comparison = Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class ConceptRef:
    id: str
    term: str | None = None
    pos: int = 0  # character offset in the source text (for messages)


@dataclass(frozen=True, slots=True)
class Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class AltId:
    """An alternate identifier `scheme#code` (ECL 2.2); parsed, not evaluated."""

    scheme: str
    code: str


@dataclass(frozen=True, slots=True)
class MemberOf:
    """`^ [fields] refset`: members of the refset(s) that `refsets` denotes."""

    refsets: Expression
    fields: tuple[str, ...] | None = None  # None: referencedComponentId; ("*",): all


@dataclass(frozen=True, slots=True)
class Cardinality:
    min: int = 1
    max: int | None = None  # None = many (*)


@dataclass(frozen=True, slots=True)
class TypedSearchTerm:
    """`match:"…"` (every word a prefix of a word of the term) or `wild:"…"` (`*` glob)."""

    kind: Literal["match", "wild"]
    text: str


@dataclass(frozen=True, slots=True)
class Filter:
    """One `name op value` inside a filter block.

    `name` is the keyword as written, lower-cased (term, language, typeid, type, dialectid,
    dialect, moduleid, effectivetime, active, id, definitionstatusid, definitionstatus) or,
    for member filters, the refset field name as written. `acceptability` qualifies dialect
    filters: a tuple of acceptability concept ids, per dialect when given in a dialect set.
    """

    name: str
    op: Comparison
    value: FilterValue
    acceptability: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class FilterBlock:
    kind: Literal["D", "C", "M"]
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class HistorySupplement:
    """`{{ +HISTORY[-MIN|-MOD|-MAX] }}` or `{{ +HISTORY (subset) }}`."""

    profile: Literal["MIN", "MOD", "MAX"] = "MAX"
    subset: Expression | None = None


@dataclass(frozen=True, slots=True)
class SubExpression:
    operator: Operator | None
    focus: Focus
    filters: tuple[FilterBlock, ...] = ()
    history: HistorySupplement | None = None


@dataclass(frozen=True, slots=True)
class Compound:
    op: Literal["and", "or", "minus"]
    operands: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Refined:
    focus: Expression
    refinement: Refinement


@dataclass(frozen=True, slots=True)
class Dotted:
    focus: Expression
    attributes: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class AttributeConstraint:
    """`[card] [R] name op value`; value is an Expression (for `=`/`!=` on concepts),
    an int/float (`#n`), a tuple of TypedSearchTerms (strings) or a bool."""

    name: Expression
    op: Comparison
    value: Expression | int | float | tuple[TypedSearchTerm, ...] | bool
    cardinality: Cardinality | None = None
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class AttributeGroup:
    body: Refinement
    cardinality: Cardinality | None = None


@dataclass(frozen=True, slots=True)
class RefinementSet:
    op: Literal["and", "or"]
    items: tuple[Refinement, ...]


@dataclass(frozen=True, slots=True)
class Nested:
    """A parenthesised expression used as a focus."""

    expression: Expression


Focus = ConceptRef | Wildcard | AltId | MemberOf | Nested
Expression = SubExpression | Compound | Refined | Dotted
Refinement = AttributeConstraint | AttributeGroup | RefinementSet
#: Values of a filter comparison.
FilterValue = (Expression | tuple[ConceptRef, ...] | tuple[TypedSearchTerm, ...]
               | tuple[str, ...] | bool | int | float | str)
