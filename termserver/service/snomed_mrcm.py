"""Checking a post-coordinated SNOMED CT expression against the loaded release.

An expression is valid when every concept it names exists and is active, every attribute
name is a concept model attribute (below 410662002 |Concept model attribute| or 106237007
|Linkage concept|, where the release holds them), and every attribute value lies in the
attribute's range as the MRCM attribute range reference set of the release states it
(mandatory rules only, where the refset is loaded and its `rangeConstraint` is ECL the
engine evaluates). Domains, cardinalities and grouping are not checked, so a valid
expression still carries the note that it has not been checked against the full concept
model (MRCM).

`problem` gives the reason an expression is not valid (None: valid), in the words of the
reference server ("Concept 240280071 not found").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from termserver.errors import TerminologyError
from termserver.service.snomed_expression import Attribute, Expression
from termserver.store import Store

#: Attribute names must descend from one of these (or be one of them).
ATTRIBUTE_ROOTS = ("410662002", "106237007")
#: MRCM rule strength "Mandatory concept model rule"; content types that apply to
#: post-coordinated expressions ("All SNOMED CT content", "All postcoordinated content").
MANDATORY = "723597001"
POSTCOORDINATED_CONTENT = frozenset({"723596005", "723595009"})
#: The note a valid expression carries.
NOT_MRCM_CHECKED = ("The expression is grammatically correct and the concepts are valid, but "
                    "the expression has not been checked against the SNOMED CT concept model "
                    "(MRCM)")

Members = Callable[[str], frozenset[str]]  # ECL → concept ids (raises on bad ECL)
Contains = Callable[[Expression, str], bool]  # nested expression value in ECL set?


def problem(store: Store, cs_pk: int, expr: Expression, members: Members,
            contains: Contains) -> str | None:
    """Why `expr` is not a valid expression in this version (None: it is)."""
    named = expr.concepts()
    known = store.existing_codes(cs_pk, named)
    for code in _ordered(expr):
        if code not in known:
            return f"Concept {code} not found"
        if known[code]:
            return f"Concept {code} is inactive"
    attributes = list(_attributes(expr))
    model = store.existing_codes(cs_pk, ATTRIBUTE_ROOTS)  # a release without its concept
    for a in attributes if model else ():  # model metadata cannot be checked against it
        if not _is_attribute(store, cs_pk, a.type_id):
            return (f"Concept {a.type_id} is not valid in this context (must be a descendent "
                    f"of one of {','.join(ATTRIBUTE_ROOTS)})")
    for a in attributes:
        reason = _out_of_range(store, cs_pk, a, members, contains)
        if reason is not None:
            return reason
    return None


def _ordered(expr: Expression) -> list[str]:
    """The concepts in the order they are written (focus, then each attribute name, value)."""
    out = list(expr.focus)
    for a in _attributes(expr, nested=False):
        out.append(a.type_id)
        if isinstance(a.value, Expression):
            out += _ordered(a.value)
        elif not a.value.startswith(("#", '"')):
            out.append(a.value)
    return out


def _attributes(expr: Expression, nested: bool = True) -> Iterable[Attribute]:
    for a in (*expr.ungrouped, *(a for g in expr.groups for a in g)):
        yield a
        if nested and isinstance(a.value, Expression):
            yield from _attributes(a.value)


def _is_attribute(store: Store, cs_pk: int, code: str) -> bool:
    if code in ATTRIBUTE_ROOTS:
        return True
    return any(root in store.ancestors(cs_pk, code) for root in ATTRIBUTE_ROOTS)


def _out_of_range(store: Store, cs_pk: int, a: Attribute, members: Members,
                  contains: Contains) -> str | None:
    """Why the value of `a` is outside the attribute's MRCM range (None: inside, or not
    decidable: no applicable rule, or a constraint the ECL engine cannot evaluate)."""
    if isinstance(a.value, str) and a.value.startswith(("#", '"')):
        return None  # concrete values: ranges like dec(>#0..) are not ECL
    rules = [fields for _refset, _code, _target, fields in store.memberships(cs_pk, a.type_id)
             if isinstance(fields, dict) and fields.get("rangeConstraint")
             and fields.get("ruleStrengthId", MANDATORY) == MANDATORY]
    applicable = [f for f in rules if f.get("contentTypeId") in POSTCOORDINATED_CONTENT]
    constraints = [str(f["rangeConstraint"]) for f in applicable or rules]
    if not constraints:
        return None
    decided = False
    for ecl in constraints:
        try:
            if isinstance(a.value, Expression):
                inside = contains(a.value, ecl)
            else:
                inside = a.value in members(ecl)
        except TerminologyError:
            continue  # not evaluable here: leave this rule unchecked
        decided = True
        if inside:
            return None
    if not decided:
        return None
    value = a.value if isinstance(a.value, str) else "(expression)"
    return (f"Concept {value} is not in the range of the attribute {a.type_id} "
            f"({' OR '.join(constraints)})")
