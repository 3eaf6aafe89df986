"""Alembic scripts of the schema: env.py and one revision per schema change in versions/.

termserver.store.migrations runs them (server start, `termserver db upgrade`); revisions
0001..0007 are the schema versions 1..7 of the hand-rolled migrations they replace; 0008
on is Alembic only.
"""
