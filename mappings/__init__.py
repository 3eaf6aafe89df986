"""The curation workbench: local codes → scored suggestions → review → published ConceptMap.

`importer` reads local code lists (CSV/TSV/XLSX, bad rows by line); `normalize` and `suggest`
(with `hints`) score target terms for a local name and say why; `textsearch` does the same
over the database text index for big scopes; `model` holds the records (projects, decisions,
audit events, jobs); `workbench` is the service facade (projects, worklist, review, dual
mapping, learning) with `targets` (scope and index cache) and `jobs` (background suggestion
runs); `publish`, `exports`, `mapimport` and `revalidate` turn decisions into ConceptMaps and
files and back, and check them against newer target versions.
"""
