"""FHIR terminology operations as plain functions: typed in, typed out. No web, no JSON.

Stored content and content that arrives with a request (tx-resource) are answered by the same
code: both are reached through `CodeSystemProvider` (provider.py) via a `TxContext`.
"""

from termserver.service.lookup import lookup, resolve_code_system

__all__ = ["lookup", "resolve_code_system"]
