"""Load the LOINC Universal Lab Orders value set (format `loinc-lab-orders`) onto the LOINC
version already loaded, as the term property ORDER_OBS ("Order", "Observation", "Both").

`LoincUniversalLabOrdersValueSet.csv` (LOINC accessory files, `Other/`; plain, .gz, or inside
a folder or zip; any name when its header is LOINC_NUM, …, ORDER_OBS) names the terms most
often ordered; the LOINC table core has no ORDER_OBS
column, and mapping suggestions use it as a commonness signal. The result is a
`CodeSystemAddition` that replaces every ORDER_OBS property of
`http://loinc.org|{--version, else the newest loaded}`, so loading it again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from loaders.base import CodeSystemAddition, LoadItem, LoadOptions, Progress
from loaders.loinc_files import LOINC_NUM, CsvFile, Release, release_of, sniff
from termserver.errors import LoadError
from termserver.model import ConceptProperty

SYSTEM = "http://loinc.org"
LAB_ORDERS = re.compile(r"^LoincUniversalLabOrdersValueSet\.csv$", re.IGNORECASE)
PROPERTY = "ORDER_OBS"


class LoincLabOrdersLoader:
    name: ClassVar[str] = "loinc-lab-orders"

    def detect(self, path: Path) -> bool:
        base = path.name[:-3] if path.name.endswith(".gz") else path.name
        return path.is_file() and (LAB_ORDERS.match(base) is not None
                                   or sniff(path) == "loinc-lab-orders")

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        found = Release(path).all(LAB_ORDERS)
        if not found:
            raise LoadError("no LoincUniversalLabOrdersValueSet.csv (LOINC accessory files, "
                            "Other/)", path=str(path))
        source, evidence = release_of(path, Release(path))
        yield CodeSystemAddition(SYSTEM, options.version, order_obs(found[0], progress),
                                 replace_properties=(PROPERTY,),
                                 label=f"{PROPERTY} from {found[0].base}",
                                 source_version=source, source_evidence=evidence,
                                 check_release=True)


def order_obs(f: CsvFile, progress: Progress | None = None) -> Iterator[ConceptProperty]:
    """One string property ORDER_OBS per row of the value set file `f` that has a value."""
    for n, row in enumerate(f.rows(("LOINC_NUM", PROPERTY)), start=1):
        code = row.code("LOINC_NUM", LOINC_NUM, "LOINC code")
        value = row[PROPERTY]
        if value:
            yield ConceptProperty(code, PROPERTY, value, "string")
        if progress is not None and n % 1000 == 0:
            progress(n, None)
