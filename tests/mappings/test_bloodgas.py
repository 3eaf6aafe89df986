"""A blood gas section's haemoglobin derivatives (mappings.hints)."""

from __future__ import annotations

from mappings.hints import axes


def test_a_blood_gas_haemoglobin_derivative_is_a_fraction_of_total_haemoglobin() -> None:
    """CO-oximetry in a blood gas section reports COHb and MetHb as % of total Hb."""
    assert axes("Carboxyhemoglobin", specimen="Blood", category="Blood Gas").properties \
        == {"MFr"}
    assert axes("MetHb", category="Blutgasanalyse").properties == {"MFr"}
    assert axes("Hemoglobin", specimen="Blood", category="Blood Gas").properties == set()
    assert axes("Methemoglobin", specimen="Blood", category="Chemistry").properties == set()
