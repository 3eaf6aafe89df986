"""Loaders: streaming parsers of release files that yield plain records.

A loader never touches the database, the web layer or FHIR JSON building. Each is found by its
CLI word in REGISTRY and imported only when used (so `serve` never imports owlready2 or pandas).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from loaders.base import Loader

REGISTRY: dict[str, str] = {
    "fhir-package": "loaders.fhir_package:FhirPackageLoader",
    "snomed-rf2": "loaders.snomed:SnomedRf2Loader",
    "loinc-lab-orders": "loaders.loinc_lab_orders:LoincLabOrdersLoader",  # before loinc
    "loinc": "loaders.loinc:LoincLoader",
    "loinc-variant": "loaders.loinc_variant:LoincVariantLoader",
    "owl": "loaders.owl:OwlLoader",
    "claml": "loaders.claml:ClamlLoader",
    "bfarm-txt": "loaders.bfarm_txt:BfarmTxtLoader",
    "bfarm-umsteiger": "loaders.umsteiger:UmsteigerLoader",
    "alpha-id": "loaders.alpha_id:AlphaIdLoader",
}


def get_loader(name: str) -> Loader:
    try:
        module_name, _, cls_name = REGISTRY[name].partition(":")
    except KeyError:
        raise LookupError(
            f"unknown format {name!r}; choose one of {', '.join(sorted(REGISTRY))}"
        ) from None
    loader: Loader = getattr(importlib.import_module(module_name), cls_name)()
    return loader


def detect(path: Path) -> Loader | None:
    """The first loader whose cheap `detect` accepts `path`, or None."""
    for name in REGISTRY:
        loader = get_loader(name)
        if loader.detect(path):
            return loader
    return None
