"""The FHIR wire layer: the only code that reads or builds FHIR JSON shapes. No SQL, no web."""
