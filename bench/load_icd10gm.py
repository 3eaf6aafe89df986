"""Time an ICD-10-GM load: one BfArM "Metadaten TXT" year (`--format bfarm-txt`), then the next.

    python bench/load_icd10gm.py [--db sqlite:///bench/data/icd10gm.db] [PATH ...]

Runs the real CLI path (`termserver load`) in subprocesses into a fresh database, one process
per file, and prints the wall and CPU time and peak memory (RSS) of each load and the concept
count of each stored year. Default files: the 2025 and 2024 kodes files and the 2017 DIMDI ZIP from
../shared/data/icd10gm. The acceptance goal (issue #4): one year in at most 10 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadtime import fresh_sqlite, timed_load  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "data" / "icd10gm"
DEFAULT = (SHARED / "bfarm-metadaten-txt" / "icd10gm2025syst_kodes.txt.gz",
           SHARED / "bfarm-metadaten-txt" / "icd10gm2024syst_kodes.txt.gz",
           SHARED / "dimdi-metadaten-zips" / "x1gmt2017.zip")
GOAL_SECONDS = 10.0
ICD = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'icd10gm.db'}")
    parser.add_argument("paths", nargs="*", type=Path, default=list(DEFAULT))
    args = parser.parse_args()
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"missing {', '.join(map(str, missing))} (real BfArM files from ../shared/data)",
              file=sys.stderr)
        return 2
    fresh_sqlite(args.db)
    timings = [(path, *timed_load(args.db, "--format", "bfarm-txt", str(path)))
               for path in args.paths]

    sys.path.insert(0, str(ROOT))
    from termserver.store import Store

    store = Store(args.db)
    try:
        counts = {cs.version: cs.concept_count for cs in store.code_systems(ICD)}
    finally:
        store.close()
    print()
    print(f"{'file':<34} {'wall':>7} {'CPU':>7} {'peak RSS':>9}")
    for path, wall, cpu, mib in timings:
        print(f"{path.name:<34} {wall:>6.1f}s {cpu:>6.1f}s {mib:>6.0f} MiB")
    print("stored:", ", ".join(f"{v}: {n:,} concepts" for v, n in sorted(counts.items())))
    # CPU time is what one load costs; wall time grows with whatever else the machine runs
    slowest = max(cpu for _, _, cpu, _ in timings)
    verdict = "met" if slowest <= GOAL_SECONDS else "MISSED"
    print(f"goal: one year in at most {GOAL_SECONDS:.0f} s (CPU) — {verdict} "
          f"(slowest {slowest:.1f} s)")
    return 0 if slowest <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
