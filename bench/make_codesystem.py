"""Generate the benchmark code system (>= 100,000 concepts) and load it with `termserver load`.

The CodeSystem is realistic in shape: a three-level is-a hierarchy (chapters → groups →
leaves, written as nested `concept` elements), German and English designations, a `status`
property with some retired codes, `notSelectable` chapters, an integer and a Coding property.
A ValueSet that includes the whole system (compose.include.system only) comes with it. Both
go into a FHIR npm package, which the real loader path (`termserver load`) stores in SQLite.

    python bench/make_codesystem.py [--db sqlite:///bench/data/bench.db] [--force]

Deterministic (seeded); skips all work when the database already holds this exact content.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DEFAULT_DB = f"sqlite:///{DATA / 'bench.db'}"

CS_URL = "http://example.org/fhir/CodeSystem/bench"
CS_VERSION = "1.0.0"
VS_URL = "http://example.org/fhir/ValueSet/bench-all"
#: A ValueSet that lists 100,000 codes one by one: $validate-code must not expand it.
ENUM_VS_URL = "http://example.org/fhir/ValueSet/bench-enumerated"
ENUM_SIZE = 100_000
CHAPTERS, GROUPS, LEAVES = 20, 60, 100  # 20 + 1,200 + 120,000 = 121,220 concepts
SEED = 20240601

_EN = ("acute", "chronic", "left", "right", "upper", "lower", "primary", "secondary", "mild",
       "severe", "infection", "fracture", "lesion", "disorder", "syndrome", "injury", "tumour",
       "inflammation", "deficiency", "of the", "with", "without", "complication", "bone",
       "joint", "skin", "heart", "lung", "kidney", "liver", "nerve", "muscle", "vessel")
_DE = ("akute", "chronische", "linke", "rechte", "obere", "untere", "primäre", "sekundäre",
       "leichte", "schwere", "Infektion", "Fraktur", "Läsion", "Störung", "Syndrom",
       "Verletzung", "Tumor", "Entzündung", "Mangel", "des", "mit", "ohne", "Komplikation",
       "Knochen", "Gelenk", "Haut", "Herz", "Lunge", "Niere", "Leber", "Nerv", "Muskel")
SYNONYM = {"system": "http://snomed.info/sct", "code": "900000000000013009",
           "display": "Synonym"}


def build(seed: int = SEED) -> tuple[dict[str, Any], list[str]]:
    """The CodeSystem resource and the list of all its codes."""
    rng = random.Random(seed)
    codes: list[str] = []

    def words(pool: tuple[str, ...], n: int) -> str:
        return " ".join(rng.choice(pool) for _ in range(n))

    def concept(code: str, depth: int, children: list[dict[str, Any]]) -> dict[str, Any]:
        codes.append(code)
        en, de = words(_EN, 3 + depth).capitalize(), words(_DE, 3 + depth).capitalize()
        c: dict[str, Any] = {
            "code": code, "display": en, "definition": f"{en} ({code}), level {depth}",
            "designation": [
                {"language": "de", "value": de},
                {"language": "en", "use": SYNONYM, "value": words(_EN, 2 + depth)},
            ],
            "property": [
                {"code": "status", "valueCode": "retired" if rng.random() < 0.03 else "active"},
                {"code": "rank", "valueInteger": rng.randint(1, 1000)},
            ],
        }
        if depth == 0:
            c["property"].append({"code": "notSelectable", "valueBoolean": True})
        if depth == 2 and rng.random() < 0.2:
            c["property"].append({"code": "related", "valueCoding": {
                "system": CS_URL, "code": f"C{rng.randint(1, CHAPTERS):02d}"}})
        if children:
            c["concept"] = children
        return c

    chapters = []
    for ch in range(1, CHAPTERS + 1):
        chapter_code = f"C{ch:02d}"
        groups = []
        for g in range(1, GROUPS + 1):
            group_code = f"{chapter_code}.{g:02d}"
            leaves = [concept(f"{group_code}.{leaf:03d}", 2, [])
                      for leaf in range(1, LEAVES + 1)]
            groups.append(concept(group_code, 1, leaves))
        chapters.append(concept(chapter_code, 0, groups))
    cs = {
        "resourceType": "CodeSystem", "id": "bench", "url": CS_URL, "version": CS_VERSION,
        "name": "BenchCodeSystem", "title": "Benchmark Code System", "status": "active",
        "language": "en", "caseSensitive": True, "hierarchyMeaning": "is-a",
        "content": "complete", "count": len(codes),
        "property": [
            {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status",
             "type": "code"},
            {"code": "notSelectable",
             "uri": "http://hl7.org/fhir/concept-properties#notSelectable", "type": "boolean"},
            {"code": "rank", "type": "integer"},
            {"code": "related", "type": "Coding"},
        ],
        "concept": chapters,
    }
    return cs, codes


def value_set() -> dict[str, Any]:
    return {"resourceType": "ValueSet", "id": "bench-all", "url": VS_URL, "version": CS_VERSION,
            "name": "BenchAll", "status": "active",
            "compose": {"include": [{"system": CS_URL}]}}


def enumerated_value_set(codes: list[str]) -> dict[str, Any]:
    """The first ENUM_SIZE leaf codes, listed in compose.include.concept."""
    listed = [c for c in codes if c.count(".") == 2][:ENUM_SIZE]
    return {"resourceType": "ValueSet", "id": "bench-enumerated", "url": ENUM_VS_URL,
            "version": CS_VERSION, "name": "BenchEnumerated", "status": "active",
            "compose": {"include": [{"system": CS_URL,
                                     "concept": [{"code": c} for c in listed]}]}}


def write_package(path: Path, cs: dict[str, Any], codes: list[str]) -> None:
    manifest = {"name": "example.bench", "version": CS_VERSION, "fhirVersions": ["4.0.1"]}
    members = {"package/package.json": manifest, "package/CodeSystem-bench.json": cs,
               "package/ValueSet-bench-all.json": value_set(),
               "package/ValueSet-bench-enumerated.json": enumerated_value_set(codes)}
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            raw = json.dumps(content, ensure_ascii=False).encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB})")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    stamp = DATA / "bench.stamp"
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16] + "|" + args.db
    if not args.force and stamp.exists() and stamp.read_text() == digest \
            and (DATA / "codes.txt").exists():
        print(f"bench data up to date ({args.db})")
        return 0
    cs, codes = build()
    package = DATA / "bench-package.tgz"
    write_package(package, cs, codes)
    (DATA / "codes.txt").write_text("\n".join(codes) + "\n")
    print(f"generated {len(codes):,} concepts; loading {package.name} into {args.db}")
    subprocess.run([sys.executable, "-m", "termserver", "load", "--db", args.db, str(package)],
                   check=True)
    stamp.write_text(digest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
