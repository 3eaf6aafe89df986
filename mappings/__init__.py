"""The curation workbench: local codes → scored suggestions → review → published ConceptMap.

Not built yet (see the curation issue); the package exists so the layering rules hold from
the start.
"""
