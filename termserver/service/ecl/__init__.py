"""SNOMED CT Expression Constraint Language (ECL 2.x): parser, AST and evaluator.

    evaluate("<< 404684003 : 363698007 = << 39057004", graph) -> set of concept ids
    matches("<< 404684003", "22298006", graph) -> bool

`EclGraph` (graph.py) is the store-independent view the evaluator reads; parse errors and
unknown concepts raise `InvalidEcl` (InvalidRequest, message id INVALID_ECL).
"""

from termserver.service.ecl.evaluate import evaluate, matches
from termserver.service.ecl.graph import (
    ConceptInfo,
    ConcreteValue,
    Description,
    EclGraph,
    MemoryEclGraph,
    RefsetMember,
    Relationship,
)
from termserver.service.ecl.parser import InvalidEcl, parse

__all__ = ["ConceptInfo", "ConcreteValue", "Description", "EclGraph", "InvalidEcl",
           "MemoryEclGraph", "RefsetMember", "Relationship", "evaluate", "matches", "parse"]
