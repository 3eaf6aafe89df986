"""The lexical layer of the ECL parser: positions, whitespace and comments, tokens,
backtracking (`attempt`) and the nesting limit (`nested`, memoized)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn, TypeVar, cast

T = TypeVar("T")

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
#: Most levels of nested sub-expressions and refinements (parentheses, filters, groups): deep
#: enough for any real constraint, shallow enough that parsing and evaluation stay bounded.
MAX_NESTING = 50


class Fail(Exception):
    """A failed alternative: `attempt` tries the next one; `parse` reports the furthest."""

    def __init__(self, pos: int, expected: str, *, plain: bool = False) -> None:
        super().__init__(expected)
        self.pos, self.expected, self.plain = pos, expected, plain


class TooDeep(Exception):
    """Nesting beyond MAX_NESTING: final (no alternative is tried, unlike a Fail)."""

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


class Scanner:
    """A position in an ECL text and the token-level operations on it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.memo: dict[tuple[str, int], tuple[object, int]] = {}

    def fail(self, expected: str, pos: int | None = None, *, plain: bool = False) -> NoReturn:
        raise Fail(self.pos if pos is None else pos, expected, plain=plain)

    def ws(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            if text[self.pos] in " \t\r\n":
                self.pos += 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self.fail("'*/' closing the comment", len(text))
                self.pos = end + 2
            else:
                break

    def peek(self, token: str) -> bool:
        self.ws()
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str, what: str | None = None) -> None:
        if not self.accept(token):
            self.fail(what or f"'{token}'")

    def peek_keyword(self, word: str) -> bool:
        self.ws()
        end = self.pos + len(word)
        if self.text[self.pos:end].lower() != word.lower():
            return False
        return end >= len(self.text) or not (self.text[end].isalnum() or self.text[end] in "_-")

    def accept_keyword(self, word: str) -> bool:
        if self.peek_keyword(word):
            self.pos += len(word)
            return True
        return False

    def name(self, what: str) -> str:
        self.ws()
        m = NAME.match(self.text, self.pos)
        if not m:
            self.fail(what)
        self.pos = m.end()
        return m.group()

    def nested(self, rule: str, parse: Callable[[], T]) -> T:
        """`parse()` one level deeper (beyond MAX_NESTING the whole parse fails), memoized by
        rule and position so that backtracking (`attempt`) never parses a span twice."""
        key = (rule, self.pos)
        if key in self.memo:
            found, self.pos = self.memo[key]
            if isinstance(found, Fail):
                raise found
            return cast(T, found)
        if self.depth >= MAX_NESTING:
            raise TooDeep(self.pos)
        self.depth += 1
        try:
            result: object = parse()
        except Fail as fail:
            result = fail
        finally:
            self.depth -= 1
        self.memo[key] = (result, self.pos)
        if isinstance(result, Fail):
            raise result
        return cast(T, result)

    def attempt(self, *options: Callable[[], T]) -> T:
        """Try alternatives in order (backtracking); re-raise the failure that got furthest."""
        start, best = self.pos, None
        for option in options:
            try:
                return option()
            except Fail as fail:
                if best is None or fail.pos > best.pos:
                    best = fail
                self.pos = start
        assert best is not None
        raise best

