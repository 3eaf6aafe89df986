"""SNOMED CT edition names for messages, from the module id in a version URI
(`http://snomed.info/sct/{module}/version/{date}`).

A module that is not a known edition (a test or local extension) is named after the known
edition its release depends on: the modules its module dependency reference set
(900000000000534007) references, International first.
"""

from __future__ import annotations

import re

from termserver.store import Store

MODULE_DEPENDENCY = "900000000000534007"
INTERNATIONAL = "900000000000207008"
EDITIONS = {
    INTERNATIONAL: "International Edition",
    "449081005": "International Spanish Edition",
    "11000221109": "Argentinian Edition",
    "32506021000036107": "Australian Edition (with drug extension)",
    "11000234105": "Austrian Edition",
    "11000172109": "Belgian Edition",
    "20621000087109": "Canadian English Edition",
    "20611000087101": "Canadian Canadian French Edition",
    "21000325107": "Chilean Edition",
    "11000279109": "Czech Edition",
    "554471000005108": "Danish Edition",
    "11000181102": "Estonian Edition",
    "11000229106": "Finnish Edition",
    "11000274103": "German Edition",
    "1121000189102": "Indian Edition",
    "827022005": "IPS Terminology",
    "11000220105": "Irish Edition",
    "11000146104": "Netherlands Edition",
    "21000210109": "New Zealand Edition",
    "51000202101": "Norwegian Edition",
    "11000267109": "Republic of Korea Edition (South Korea)",
    "900000001000122104": "Spanish National Edition",
    "45991000052106": "Swedish Edition",
    "2011000195101": "Swiss Edition",
    "83821000000107": "UK Edition",
    "999000021000000109": "UK Clinical Edition",
    "5631000179106": "Uruguay Edition",
    "731000124108": "US Edition",
    "5991000124107": "US Edition (with ICD-10-CM maps)",
}
_MODULE = re.compile(r"/x?sct/(\d+)(?:/version/|$)")


def edition_name(store: Store, cs_pk: int, version: str | None) -> str:
    """The edition's name, or "unknown"."""
    m = _MODULE.search(version or "")
    if m is None:
        return "unknown"
    module = m.group(1)
    if module in EDITIONS:
        return EDITIONS[module]
    depends = store.refset_members(cs_pk, MODULE_DEPENDENCY)
    known = sorted((d for d in depends if d in EDITIONS), key=lambda d: d != INTERNATIONAL)
    return EDITIONS[known[0]] if known else "unknown"
