"""The curation workbench: local codes → scored suggestions → review → published ConceptMap.

Built so far: `importer` (local code lists from CSV/TSV/XLSX, bad rows reported by line, stored
as a local CodeSystem with `termserver import-codes`), `normalize` (German-aware text folding
and lab abbreviations) and `suggest` (a target index with scored, explained suggestions;
`bench/mapping_eval.py` measures it against gold maps). Projects, review, publishing and the
curator UI are still to come (see the curation issue).
"""
