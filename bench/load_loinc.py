"""Time a LOINC load: the 2.78 LOINC Table Core (104,054 terms), then the 2.74 German variant.

    python bench/load_loinc.py [--db sqlite:///bench/data/loinc.db] [--core PATH] [--variant PATH]

Runs the real CLI path (`termserver load`) in subprocesses into a fresh database, prints the
wall time and peak memory (RSS) of each load, the counts, and the German display of 2160-0.
The acceptance goal (issue #5): the core table loads in at most 60 s.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "data" / "loinc"
CORE = SHARED / "LoincTableCore_2.78.csv.gz"
VARIANT = SHARED / "loinc-2.74-accessory" / "LinguisticVariants" / "deDE15LinguisticVariant.csv.gz"
GOAL_SECONDS = 60.0


def run(db: str, *args: str) -> tuple[float, float]:
    """Run `termserver --db DB load ARGS`; (wall seconds, peak RSS MiB of the child)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "termserver", "load", "--db", db, *args],
                   check=True, cwd=ROOT)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.monotonic() - started, peak_kib / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'loinc.db'}")
    parser.add_argument("--core", type=Path, default=CORE)
    parser.add_argument("--variant", type=Path, default=VARIANT)
    args = parser.parse_args()
    for path in (args.core, args.variant):
        if not path.exists():
            print(f"missing {path} (real LOINC files from ../shared/data)", file=sys.stderr)
            return 2
    if args.db.startswith("sqlite:///"):
        db_file = Path(args.db[len("sqlite:///"):])
        db_file.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)

    core_s, core_mib = run(args.db, "--format", "loinc", str(args.core))
    variant_s, variant_mib = run(args.db, "--format", "loinc-variant", str(args.variant))

    sys.path.insert(0, str(ROOT))
    from termserver.store import Store

    store = Store(args.db)
    try:
        cs = store.resolve_code_system("http://loinc.org")
        assert cs is not None
        rows = store.count_rows()
        detail = store.concept_detail(cs.pk, "2160-0")
        german = next((d.value for d in (detail.designations if detail else ())
                       if d.language == "de-DE"), None)
    finally:
        store.close()
    verdict = "meets" if core_s <= GOAL_SECONDS else "MISSES"
    print(f"core table {args.core.name}: {core_s:.1f} s, peak RSS {core_mib:.0f} MiB "
          f"({verdict} the {GOAL_SECONDS:.0f} s goal)")
    print(f"German variant {args.variant.name}: {variant_s:.1f} s (peak RSS of all loads so far "
          f"{variant_mib:.0f} MiB)")
    print(f"http://loinc.org|{cs.version}: {cs.concept_count:,} concepts, "
          f"{rows['designation']:,} designations, {rows['concept_property']:,} properties")
    print(f"2160-0 in de-DE: {german}")
    return 0 if core_s <= GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
