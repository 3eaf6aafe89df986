"""One router module per FHIR concern; each route is parse → call → render."""
