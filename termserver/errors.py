"""Errors that reach a client as an OperationOutcome (HTTP) or one line (CLI).

* TerminologyError                 exception      500
  x InvalidRequest                 invalid        400   bad, missing or conflicting input
    + MalformedContent             structure      400   body is not JSON / not the right resource
  x NotSupported                   not-supported  400   parameter or feature we do not do
  x MethodNotAllowed               not-supported  405
  x Unauthorized                   login          401   missing or wrong bearer token
  x NotFound                       not-found      404
  x Conflict                       conflict       409   e.g. canonical url|version already exists
  x PreconditionFailed             conflict       412   If-Match does not match the current version
  x BusinessRule                   business-rule  422   resource violates a server rule
  x TooCostly                      too-costly     422   expansion over the configured limit
  x SchemaError                    exception      500   database schema newer than this program
* LoadError                        invalid        400   a source file is not what the loader expects
"""

from __future__ import annotations

from typing import ClassVar, Self

from termserver.model import Issue


class TerminologyError(Exception):
    issue_type: ClassVar[str] = "exception"
    http_status: ClassVar[int] = 500
    tx_code: ClassVar[str | None] = None

    def __init__(self, message: str, *, expression: tuple[str, ...] = (),
                 message_id: str | None = None, tx_code: str | None = None,
                 issues: tuple[Issue, ...] = (), issue_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.message_id = message_id
        self.instance_tx_code = tx_code
        self.extra_issues = issues
        self.issue_code = issue_code  # overrides the class's issue type in the outcome

    def issues(self) -> list[Issue]:
        """The first issue describes this error; `issues=` adds more (e.g. a cause)."""
        first = Issue("error", self.issue_code or self.issue_type, self.message,
                      self.instance_tx_code or self.tx_code, self.expression, self.message_id)
        return [first, *self.extra_issues]

    def detached(self) -> Self:
        """This error without its traceback and context, for an error kept as data (a bulk
        or batch line's answer). Kept with them, its traceback's frames (and their callers')
        hold the very list it is kept in: a reference cycle that only Python's cyclic
        collector frees, late, together with everything those frames held (a whole chunk
        and its read-ahead), so the memory of a long stream grew with its length."""
        self.__traceback__ = None
        self.__context__ = None
        self.__cause__ = None
        return self


class InvalidRequest(TerminologyError):
    issue_type = "invalid"
    http_status = 400


class MalformedContent(InvalidRequest):
    issue_type = "structure"


class NotSupported(TerminologyError):
    issue_type = "not-supported"
    http_status = 400


class MethodNotAllowed(TerminologyError):
    issue_type = "not-supported"
    http_status = 405


class Unauthorized(TerminologyError):
    issue_type = "login"
    http_status = 401


class NotFound(TerminologyError):
    issue_type = "not-found"
    http_status = 404
    tx_code = "not-found"


class Conflict(TerminologyError):
    issue_type = "conflict"
    http_status = 409


class PreconditionFailed(TerminologyError):
    issue_type = "conflict"
    http_status = 412


class BusinessRule(TerminologyError):
    issue_type = "business-rule"
    http_status = 422


class TooCostly(TerminologyError):
    issue_type = "too-costly"
    http_status = 422


class SchemaError(TerminologyError):
    issue_type = "exception"
    http_status = 500


class LoadError(TerminologyError):
    """A source file is not what the loader expects. The message names the file and place."""

    issue_type = "invalid"
    http_status = 400

    def __init__(self, message: str, *, path: str, where: str | None = None,
                 hint: str | None = None) -> None:
        loc = f"{path}:{where}" if where else path
        text = f"{loc}: {message}" + (f" ({hint})" if hint else "")
        super().__init__(text)
        self.path, self.where, self.hint = path, where, hint
