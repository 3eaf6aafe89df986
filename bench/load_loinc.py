"""Time a LOINC load: the 2.78 LOINC Table Core (104,054 terms) with LOINC's English consumer
names, then the 2.74 German variants (deDE15 and the Austrian deAT24, as designations) and the
Universal Lab Orders value set (term property ORDER_OBS).

    python bench/load_loinc.py [--db sqlite:///bench/data/loinc.db] [--core PATH]
                               [--consumer-names PATH] [--variant PATH...]
                               [--lab-orders PATH]

The consumer names (`ConsumerName.csv` of the accessory files, `Other/`: "Lutropin (LH;
Luteinizing Hormone), Blood") load with the table, as a release folder holds them: the core
table and the consumer names are linked into one temporary folder, loaded as one release
(en-US designations with use CONSUMER_NAME, loaders/loinc.py); `--consumer-names ''` leaves
them out.

Runs the real CLI path (`termserver load`) in subprocesses into a fresh database, prints the
wall time and peak memory (RSS) of each load, the counts, and the German display of 2160-0.
The acceptance goal (issue #5): the core table loads in at most 60 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadtime import fresh_sqlite, timed_load  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("TERMSERVER_SHARED", ROOT.parent / "shared")) / "data" / "loinc"
CORE = SHARED / "LoincTableCore_2.78.csv.gz"
VARIANTS = tuple(SHARED / "loinc-2.74-accessory" / "LinguisticVariants"
                 / f"{v}LinguisticVariant.csv.gz" for v in ("deDE15", "deAT24"))
LAB_ORDERS = SHARED / "loinc-2.74-accessory" / "Other" / "LoincUniversalLabOrdersValueSet.csv"
CONSUMER_NAMES = SHARED / "loinc-2.74-accessory" / "Other" / "ConsumerName.csv.gz"
GOAL_SECONDS = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'loinc.db'}")
    parser.add_argument("--core", type=Path, default=CORE)
    parser.add_argument("--consumer-names", default=str(CONSUMER_NAMES),
                        help="ConsumerName.csv(.gz), loaded with the table ('' to leave out)")
    parser.add_argument("--variant", type=Path, nargs="*", default=list(VARIANTS),
                        help="German variants loaded as designations (default deDE15 and deAT24)")
    parser.add_argument("--lab-orders", type=Path, default=LAB_ORDERS)
    args = parser.parse_args()
    consumer = Path(args.consumer_names) if args.consumer_names else None
    for path in (args.core, *args.variant, args.lab_orders, *([consumer] if consumer else [])):
        if not path.exists():
            print(f"missing {path} (real LOINC files from ../shared/data)", file=sys.stderr)
            return 2
    fresh_sqlite(args.db)
    with tempfile.TemporaryDirectory() as tmp:
        core = args.core
        if consumer is not None:  # one release folder: the table and its consumer names
            # the folder is named like the table (LoincTableCore_2.78): the version comes from it
            core = Path(tmp) / args.core.name.split(".csv")[0]
            core.mkdir()
            (core / args.core.name).symlink_to(args.core.resolve())
            (core / consumer.name).symlink_to(consumer.resolve())
        core_s, _, core_mib = timed_load(args.db, "--format", "loinc", str(core))
    variant_s, variant_mib = 0.0, 0.0
    for variant in args.variant:
        seconds, _, variant_mib = timed_load(args.db, "--format", "loinc-variant", str(variant))
        variant_s += seconds
    orders_s, _, _ = timed_load(args.db, "--format", "loinc-lab-orders", str(args.lab_orders))

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
        order_obs = [p.value for p in (detail.properties if detail else ())
                     if p.property == "ORDER_OBS"]
    finally:
        store.close()
    verdict = "meets" if core_s <= GOAL_SECONDS else "MISSES"
    names_too = f" with {consumer.name}" if consumer is not None else ""
    print(f"core table {args.core.name}{names_too}: {core_s:.1f} s, peak RSS {core_mib:.0f} MiB "
          f"({verdict} the {GOAL_SECONDS:.0f} s goal)")
    names = ", ".join(v.name for v in args.variant)
    print(f"German variants {names}: {variant_s:.1f} s (peak RSS of all loads so far "
          f"{variant_mib:.0f} MiB)")
    print(f"http://loinc.org|{cs.version}: {cs.concept_count:,} concepts, "
          f"{rows['designation']:,} designations, {rows['concept_property']:,} properties")
    print(f"Universal Lab Orders {args.lab_orders.name}: {orders_s:.1f} s")
    print(f"2160-0 in de-DE: {german}; ORDER_OBS {order_obs}")
    return 0 if core_s <= GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
