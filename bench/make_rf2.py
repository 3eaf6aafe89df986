"""Generate a synthetic SNOMED CT RF2 Snapshot release at International-edition scale.

About 370,000 concepts (8 % inactive), 1.6 million descriptions (FSN, preferred term and
synonyms, some inactive) with US and GB English language refsets, 3 million relationships
(is-a and attributes in role groups, about 40 % inactive history), concrete values and a
REPLACED BY association refset. The is-a graph is a random recursive DAG below the real root
138875005 (average depth about 13, one concept in eight with two parents), so the
transitive closure is millions of rows as in the real release. Identifiers are well-formed
SCTIDs (partition and Verhoeff check digit). The content is meaningless and free to share.

    python bench/make_rf2.py [--out bench/data/rf2] [--concepts 370000] [--seed N]

Deterministic; writes `Snapshot/Terminology/…` and `Snapshot/Refset/…` under --out.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import TextIO

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data" / "rf2"
DATE = "20250901"
CORE = "900000000000207008"
ROOT = "138875005"
IS_A = "116680003"
FSN, SYNONYM = "900000000000003001", "900000000000013009"
US, GB = "900000000000509007", "900000000000508004"
PREFERRED, ACCEPTABLE = "900000000000548007", "900000000000549004"
PRIMITIVE, DEFINED = "900000000000074008", "900000000000073002"
INFERRED, EXISTENTIAL = "900000000000011006", "900000000000451002"
CASE = "900000000000448009"
REPLACED_BY = "900000000000526001"

_D = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
      (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
      (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
      (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
      (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
_P = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
      (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
      (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
      (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def sctid(item: int, partition: str) -> str:
    """A well-formed SCTID: item identifier, partition ("00" concept, "01" description,
    "02" relationship) and the Verhoeff check digit."""
    body = f"{item}{partition}"
    c = 0
    for i, ch in enumerate(reversed(body)):
        c = _D[c][_P[(i + 1) % 8][int(ch)]]
    return body + str(_INV[c])


_WORDS = ("acute", "chronic", "left", "right", "upper", "lower", "primary", "secondary",
          "structure", "disorder", "procedure", "finding", "entire", "part", "region",
          "infection", "fracture", "lesion", "syndrome", "injury", "neoplasm", "repair",
          "excision", "biopsy", "bone", "joint", "skin", "heart", "lung", "kidney", "liver",
          "nerve", "muscle", "vessel", "tendon", "hand", "foot", "eye", "ear", "spine")
_TAGS = ("disorder", "finding", "procedure", "body structure", "organism", "substance",
         "observable entity", "qualifier value", "situation", "event")


def header(f: TextIO, *cols: str) -> None:
    f.write("\t".join(cols) + "\n")


def generate(out: Path, n: int, seed: int) -> dict[str, int]:
    rnd = random.Random(seed)
    term = out / "Snapshot" / "Terminology"
    refs = out / "Snapshot" / "Refset"
    (refs / "Language").mkdir(parents=True, exist_ok=True)
    (refs / "Content").mkdir(parents=True, exist_ok=True)
    term.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(("concepts", "descriptions", "language", "relationships",
                            "concrete", "associations"), 0)
    ids = [ROOT] + [sctid(1_000_000 + i, "00") for i in range(1, n)]
    active = [True] + [rnd.random() >= 0.08 for _ in range(1, n)]
    attributes = ids[1:41]  # the first concepts double as attribute types
    with (term / f"sct2_Concept_Snapshot_INT_{DATE}.txt").open("w") as f:
        header(f, "id", "effectiveTime", "active", "moduleId", "definitionStatusId")
        for i, code in enumerate(ids):
            f.write(f"{code}\t{DATE if i % 7 else '20020131'}\t{int(active[i])}\t{CORE}\t"
                    f"{DEFINED if i % 3 == 0 else PRIMITIVE}\n")
            counts["concepts"] += 1
    did = rid = 0
    with (term / f"sct2_Description_Snapshot-en_INT_{DATE}.txt").open("w") as fd, \
            (refs / "Language" / f"der2_cRefset_LanguageSnapshot-en_INT_{DATE}.txt"
             ).open("w") as fl:
        header(fd, "id", "effectiveTime", "active", "moduleId", "conceptId", "languageCode",
               "typeId", "term", "caseSignificanceId")
        header(fl, "id", "effectiveTime", "active", "moduleId", "refsetId",
               "referencedComponentId", "acceptabilityId")
        for i, code in enumerate(ids):
            words = " ".join(rnd.choices(_WORDS, k=rnd.randint(2, 5))).capitalize()
            terms = [(FSN, f"{words} ({_TAGS[i % len(_TAGS)]})", PREFERRED),
                     (SYNONYM, words, PREFERRED)]
            for k in range(rnd.choice((1, 2, 3, 3, 3))):
                terms.append((SYNONYM, f"{words} {_WORDS[(i + k) % len(_WORDS)]}", ACCEPTABLE))
            for type_id, text, acceptability in terms:
                did += 1
                desc = sctid(2_000_000 + did, "01")
                live = active[i] and rnd.random() >= 0.05 or acceptability == PREFERRED
                fd.write(f"{desc}\t{DATE}\t{int(live)}\t{CORE}\t{code}\ten\t{type_id}\t{text}"
                         f"\t{CASE}\n")
                counts["descriptions"] += 1
                if live:
                    for refset in (US, GB):
                        fl.write(f"{rnd.getrandbits(128):032x}\t{DATE}\t1\t{CORE}\t{refset}\t"
                                 f"{desc}\t{acceptability}\n")
                        counts["language"] += 1
    with (term / f"sct2_Relationship_Snapshot_INT_{DATE}.txt").open("w") as fr:
        header(fr, "id", "effectiveTime", "active", "moduleId", "sourceId", "destinationId",
               "relationshipGroup", "typeId", "characteristicTypeId", "modifierId")

        def rel(source: str, dest: str, group: int, type_id: str, live: bool) -> None:
            nonlocal rid
            rid += 1
            fr.write(f"{sctid(3_000_000 + rid, '02')}\t{DATE}\t{int(live)}\t{CORE}\t{source}\t"
                     f"{dest}\t{group}\t{type_id}\t{INFERRED}\t{EXISTENTIAL}\n")
            counts["relationships"] += 1

        for i in range(1, n):
            live = active[i]
            # a random recursive DAG: parents are earlier concepts (active ones for live rows)
            for _ in range(1 if rnd.random() < 0.88 else 2):
                p = rnd.randrange(0, i)
                while not active[p]:
                    p = rnd.randrange(0, i)
                rel(ids[i], ids[p], 0, IS_A, live)
            if live:
                for g in range(rnd.choice((1, 2, 2, 3, 3, 4))):
                    for _ in range(rnd.choice((1, 2, 2))):
                        rel(ids[i], ids[rnd.randrange(n)], g, rnd.choice(attributes), True)
            # history: superseded rows, as a real snapshot carries them
            for _ in range(rnd.choice((3, 3, 4, 4))):
                rel(ids[i], ids[rnd.randrange(n)], 0, rnd.choice((IS_A, *attributes[:10])),
                    False)
    with (term / f"sct2_RelationshipConcreteValues_Snapshot_INT_{DATE}.txt").open("w") as fc:
        header(fc, "id", "effectiveTime", "active", "moduleId", "sourceId", "value",
               "relationshipGroup", "typeId", "characteristicTypeId", "modifierId")
        for i in range(1, n, 12):
            rid += 1
            fc.write(f"{sctid(3_000_000 + rid, '02')}\t{DATE}\t1\t{CORE}\t{ids[i]}\t"
                     f"#{rnd.randint(1, 500)}\t1\t{attributes[-1]}\t{INFERRED}\t{EXISTENTIAL}\n")
            counts["concrete"] += 1
    with (refs / "Content" / f"der2_cRefset_AssociationSnapshot_INT_{DATE}.txt").open("w") as fa:
        header(fa, "id", "effectiveTime", "active", "moduleId", "refsetId",
               "referencedComponentId", "targetComponentId")
        for i in range(1, n):
            if not active[i]:
                target = rnd.randrange(n)
                fa.write(f"{rnd.getrandbits(128):032x}\t{DATE}\t1\t{CORE}\t{REPLACED_BY}\t"
                         f"{ids[i]}\t{ids[target]}\n")
                counts["associations"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--concepts", type=int, default=370_000)
    parser.add_argument("--seed", type=int, default=20250901)
    args = parser.parse_args(argv)
    started = time.monotonic()
    counts = generate(args.out, args.concepts, args.seed)
    print(f"{args.out}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items())
          + f" ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
