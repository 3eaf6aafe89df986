"""Load time and peak memory of a SNOMED CT RF2 release into SQLite, then (optionally)
`$lookup` and `$subsumes` rates with bench/run.py's machinery.

    python bench/make_rf2.py                      # the synthetic release (once)
    python bench/load_rf2.py [--release bench/data/rf2] [--db sqlite:///…] [--rates]
    python bench/load_rf2.py --rates-only          # rates on the database loaded before

The load runs as `python -m termserver load --format snomed-rf2` in a child process on a
fresh database; wall time and the child's peak RSS are reported against the targets
(≤ 5 min, ≤ 2 GiB). `--rates` then starts the server on that database and drives GET
`$lookup` (random concepts) and `$subsumes` (random concept pairs and concept/ancestor pairs)
next to the bare FastAPI endpoint, as bench/run.py does.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCT = "http://snomed.info/sct"
TARGET_SECONDS, TARGET_BYTES = 300, 2 << 30


def load(release: Path, db: Path) -> tuple[float, int, str]:
    """(seconds, peak RSS bytes, CLI output) of loading `release` into a fresh `db`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "termserver", "load", "--db", f"sqlite:///{db}",
                           "--format", "snomed-rf2", str(release)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"load failed:\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return seconds, peak, done.stdout.strip()


def sample_codes(db: Path, n: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Random active concepts, and (concept, one of its ancestors) pairs."""
    rnd = random.Random(11)
    with sqlite3.connect(db) as conn:
        codes = [r[0] for r in conn.execute(
            "SELECT code FROM concept WHERE NOT inactive ORDER BY random() LIMIT ?", (n,))]
        pairs = [(r[0], r[1]) for r in conn.execute(
            "SELECT descendant, ancestor FROM concept_ancestor ORDER BY random() LIMIT ?",
            (n // 2,))]
    pairs += [(rnd.choice(codes), rnd.choice(codes)) for _ in range(n // 2)]
    rnd.shuffle(pairs)
    return codes, pairs


def rates(db: Path, args: argparse.Namespace) -> str:
    codes, pairs = sample_codes(db, 20_000)
    s = quote(SCT, safe="")
    ts = [run.Target("bare FastAPI, constant JSON", "bare", ["/constant"]),
          run.Target("SNOMED CT $lookup (GET system, code)", "termserver",
                     [f"/fhir/CodeSystem/$lookup?system={s}&code={c}" for c in codes]),
          run.Target("SNOMED CT $subsumes (GET system, codeA, codeB)", "termserver",
                     [f"/fhir/CodeSystem/$subsumes?system={s}&codeA={b}&codeB={a}"
                      for a, b in pairs])]
    run.measure(ts, f"sqlite:///{db}", args)
    bare = ts[0].median
    lines = ["| target | median req/s | vs bare | non-200 |", "|---|---:|---:|---:|"]
    for t in ts:
        if t.unavailable:
            lines.append(f"| {t.name} | not available ({t.unavailable}) | | |")
        else:
            lines.append(f"| {t.name} | {t.median:,.0f} | {t.median / bare:.0%} | {t.errors} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=HERE / "data" / "rf2")
    parser.add_argument("--db", type=Path, default=HERE / "data" / "rf2.db")
    parser.add_argument("--rates", action="store_true", help="also measure request rates")
    parser.add_argument("--rates-only", action="store_true",
                        help="measure request rates on the database loaded before")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args(argv)
    if args.rates_only:
        print(rates(args.db, args))
        return 0
    if not args.release.exists():
        raise SystemExit(f"{args.release} is missing: run python bench/make_rf2.py first")
    seconds, peak, output = load(args.release, args.db)
    print(output)
    ok = seconds <= TARGET_SECONDS and peak <= TARGET_BYTES
    print(f"load: {seconds:.0f} s (target ≤ {TARGET_SECONDS} s), peak RSS "
          f"{peak / (1 << 20):,.0f} MiB (target ≤ {TARGET_BYTES >> 20:,} MiB): "
          f"{'met' if ok else 'NOT met'}")
    with sqlite3.connect(args.db) as conn:
        for table in ("concept", "designation", "concept_property", "concept_parent",
                      "concept_relationship", "concept_closure", "refset_member"):
            n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            print(f"  {table}: {n:,} rows")
    if args.rates:
        print(rates(args.db, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
