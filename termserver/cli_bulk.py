"""`termserver translate` / `validate` / `lookup`: a table of codes in (CSV, TSV, NDJSON,
Parquet; a file or stdin), the same table out with result columns appended, every row in
its place. Streams through the bulk endpoints with termserver.client: against a remote
server (--server, the FHIR base) or in-process on --db (the app over httpx's ASGITransport:
the same code path). A progress bar on a terminal, a summary on stderr; exit code 0, 3 with
--fail-on-unmapped when a row was unmapped or invalid, 2 on a usage error, 1 on other errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from termserver.cli_bulk_io import FORMATS, Reader, Row, UsageError, Writer, cell, format_of

EXIT_FAILED_ROWS = 3
EXIT_USAGE = 2
EXIT_ERROR = 1

#: Result columns appended per command (before --prefix).
COLUMNS = {
    "translate": ("target_system", "target_code", "target_display", "relationship", "message"),
    "validate": ("valid", "display", "message"),
    "lookup": ("display", "inactive", "message"),
}

AddCommand = Callable[[str, str], argparse.ArgumentParser]


def add_commands(add: AddCommand) -> None:
    """Register translate, validate and lookup with termserver.cli's `add(name, help)`."""
    specs = (("translate", "translate a column of codes through a ConceptMap (table in, "
                           "table out)"),
             ("validate", "validate a column of codes against a code system or value set"),
             ("lookup", "look up a column of codes (display, inactive)"))
    for name, help in specs:
        p = add(name, help)
        p.add_argument("--input", "-i", default="-", help="input file, or - for stdin "
                       "(.csv .tsv .ndjson .parquet, optionally .gz)")
        p.add_argument("--output", "-o", default="-", help="output file (default: stdout)")
        p.add_argument("--format", choices=FORMATS, help="input format (default: from the "
                       "name; stdin: csv)")
        p.add_argument("--output-format", choices=FORMATS, help="default: the input's")
        p.add_argument("--column", default="code", help="column holding the codes "
                       "(default: code)")
        p.add_argument("--system", help="code system of the codes")
        p.add_argument("--system-column", help="column holding each row's code system")
        p.add_argument("--server", help="FHIR base URL of a termserver (default: in-process "
                       "on --db)")
        p.add_argument("--token", default=os.environ.get("TERMSERVER_TOKEN"),
                       help="bearer token for --server (default: $TERMSERVER_TOKEN)")
        p.add_argument("--batch-size", type=int, default=10_000, help="lines per bulk request")
        p.add_argument("--cache-size", type=int, default=100_000,
                       help="answers kept client-side (0: none; repeated codes are still sent "
                       "once per batch)")
        p.add_argument("--prefix", default="", help="prefix of the added column names")
        p.add_argument("--fail-on-unmapped", action="store_true",
                       help="exit 3 when a row is unmapped or invalid")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar (default: when stderr is a terminal)")
        p.add_argument("--encoding", default="utf-8", help="input text encoding")
        if name == "translate":
            p.add_argument("--conceptmap", help="canonical URL of the ConceptMap")
            p.add_argument("--targetsystem", help="target code system")
            p.add_argument("--reverse", action="store_true", help="translate target → source")
        if name == "validate":
            p.add_argument("--valueset", help="canonical URL of the ValueSet (default: the "
                           "code system)")
        p.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry (`python -m termserver.cli_bulk translate …`), as termserver.cli."""
    parser = argparse.ArgumentParser(prog="termserver")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--db", help="database URL or SQLite path (default: $TERMSERVER_DB)")
        p.add_argument("--debug", action="store_true", help="show tracebacks")
        return p

    add_commands(add)
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except OSError as exc:
        if args.debug:
            raise
        _say(f"termserver: error: {exc}")
        return EXIT_ERROR


def run(args: argparse.Namespace) -> int:
    """The command: check the flags, stream the table, print the summary."""
    try:
        job = Job.from_args(args)
        return asyncio.run(job.run())
    except UsageError as exc:
        _say(f"termserver {args.command}: error: {exc}")
        return EXIT_USAGE
    except Exception as exc:
        import httpx

        from termserver.client import TermserverError

        if args.debug or not isinstance(exc, TermserverError | httpx.HTTPError):
            raise
        what = "the server refused" if isinstance(exc, TermserverError) else "cannot reach " \
            f"the server ({type(exc).__name__})"
        _say(f"termserver {args.command}: {what}: {exc}")
        return EXIT_ERROR


@dataclass
class Summary:
    """Counts of one run: rows by outcome, and reasons (of unmapped / invalid rows)."""

    kind: str
    started: float = field(default_factory=time.monotonic)
    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        return self.outcomes["unmapped"] + self.outcomes["invalid"] + self.outcomes["not found"]

    def text(self, seconds: float) -> str:
        rate = self.rows / seconds if seconds > 0 else 0.0
        order = {"translate": ("translated", "unmapped", "invalid", "empty"),
                 "validate": ("valid", "invalid", "empty"),
                 "lookup": ("found", "not found", "invalid", "empty")}[self.kind]
        parts = [f"{self.outcomes[o]:,} {o}" for o in order]
        lines = [f"{self.rows:,} rows: {', '.join(parts)} ({seconds:.1f} s, {rate:,.0f} rows/s)"]
        for reason, n in self.reasons.most_common(20):
            lines.append(f"  {n:>10,}  {reason}")
        if len(self.reasons) > 20:
            lines.append(f"  … and {len(self.reasons) - 20} more reasons")
        return "\n".join(lines)


def outcome(kind: str, result: Any) -> tuple[str, str | None, list[str | None]]:
    """(outcome, reason or None, the result column values) of one row's result."""
    if result is None:
        return "empty", None, [None] * len(COLUMNS[kind])
    error = getattr(result, "error", None)
    if error is not None:
        state = "not found" if kind == "lookup" and error.code == "not-found" else "invalid"
        return state, f"{state}: {error.message_id or error.code}", \
            [*([None] * (len(COLUMNS[kind]) - 1)), error.message]
    if kind == "translate":
        best = result.best
        if best is None:
            why = "noMap (not-related-to)" if result.matches else "no match"
            return "unmapped", f"unmapped: {why}", [None, None, None, None, result.message]
        return "translated", f"translated: {best.relationship}", [
            best.system, best.code, best.display, best.relationship, result.message]
    if kind == "validate":
        valid = "true" if result.result else "false"
        if result.result:
            return "valid", None, [valid, result.display, result.message]
        issue = next((i for i in result.issues if i.severity in ("error", "fatal")), None)
        return "invalid", f"invalid: {issue.code if issue else 'not valid'}", \
            [valid, result.display, result.message]
    inactive = None if result.inactive is None else ("true" if result.inactive else "false")
    return "found", None, [result.display, inactive, None]


class Progress:
    """One line on stderr, at most 5 times a second: rows, rate, percent and ETA (when the
    input's size is known)."""

    def __init__(self, enabled: bool, total: int | None, done: Callable[[], int]) -> None:
        self.enabled, self.total, self.done = enabled, total, done
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        line = f"{rows:,} rows  {rows / elapsed:,.0f} rows/s"
        done = self.done() if self.total else 0
        if self.total and done:
            fraction = min(done / self.total, 1.0)
            filled = int(25 * fraction)
            eta = elapsed * (1 - fraction) / fraction if fraction else 0
            line = (f"[{'#' * filled}{'.' * (25 - filled)}] {fraction:4.0%}  {line}  "
                    f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
        sys.stderr.write("\r" + line + "\x1b[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


@dataclass
class Job:
    kind: str
    args: argparse.Namespace
    params: dict[str, Any]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Job:
        kind = args.command
        if args.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if args.server and args.db:
            raise UsageError("give --server or --db, not both")
        if args.system and args.system_column:
            raise UsageError("give --system or --system-column, not both")
        params: dict[str, Any] = {}
        if kind == "translate":
            if not (args.conceptmap or args.targetsystem):
                raise UsageError("translate needs --conceptmap or --targetsystem")
            params = {"conceptmap": args.conceptmap, "targetsystem": args.targetsystem,
                      "reverse": args.reverse}
        elif kind == "validate":
            if not (args.valueset or args.system or args.system_column):
                raise UsageError("validate needs --valueset, --system or --system-column")
            params = {"valueset": args.valueset}
        elif not (args.system or args.system_column):
            raise UsageError("lookup needs --system or --system-column")
        return cls(kind, args, params)

    async def run(self) -> int:
        a = self.args
        reader = Reader(a.input, format_of(a.input, a.format), a.encoding).open()
        summary = Summary(self.kind)
        try:
            index = self._index(reader.columns, a.column)
            sindex = self._index(reader.columns, a.system_column) if a.system_column else -1
            extra = [a.prefix + c for c in COLUMNS[self.kind]]
            clash = sorted(set(extra) & set(reader.columns))
            if clash:
                raise UsageError(f"the input already has the column(s) {', '.join(clash)}; "
                                 "pass --prefix")
            out_fmt = a.output_format or (format_of(a.output, None) if a.output != "-"
                                          else reader.fmt)
            schema = reader._raw.schema_arrow if reader.fmt == "parquet" == out_fmt else None
            writer = Writer(a.output, out_fmt, reader.columns, extra, schema)
            parquet = reader.fmt == "parquet"
            progress = Progress(sys.stderr.isatty() if a.progress is None else a.progress,
                                reader.total, (lambda: summary.rows) if parquet
                                else reader.done)
            try:
                async with AsyncExitStack() as stack:
                    client = await stack.enter_async_context(self._client(stack))
                    await self._stream(client, reader, writer, index, sindex, summary,
                                       progress)
            finally:
                progress.close()
                writer.close()
        finally:
            reader.close()
        _say(f"termserver {self.kind}: " + summary.text(time.monotonic() - summary.started))
        if a.fail_on_unmapped and summary.failed:
            return EXIT_FAILED_ROWS
        return 0

    async def _stream(self, client: Any, reader: Reader, writer: Writer, index: int,
                      sindex: int, summary: Summary, progress: Progress) -> None:
        """Rows wait in `pending` while their batch is out; results come back in order."""
        pending: deque[Row] = deque()
        column, scol = self.args.column, self.args.system_column
        system = self.args.system

        def items() -> Iterator[Any]:
            for row in reader.rows():
                pending.append(row)
                code = row[index] if type(row) is list and index < len(row) \
                    else cell(row, column, index)
                if scol:
                    yield {"system": cell(row, scol, sindex), "code": code}
                else:
                    yield code

        summary.started = progress.started = time.monotonic()  # the server is ready
        iterate = {"translate": client.iter_translate, "validate": client.iter_validate,
                   "lookup": client.iter_lookup}[self.kind]
        seen: dict[int, tuple[Any, str, str | None, list[str | None]]] = {}
        outcomes, reasons = summary.outcomes, summary.reasons
        rows = 0
        async for result in iterate(items(), system=system, **self.params):
            row = pending.popleft()
            known = seen.get(id(result))  # cached answers repeat: their outcome too
            if known is None:
                if len(seen) > 100_000:
                    seen.clear()
                known = seen[id(result)] = (result, *outcome(self.kind, result))
            _, state, reason, values = known
            rows += 1
            outcomes[state] += 1
            if reason:
                reasons[reason] += 1
            writer.write(row, values)
            if not rows % 1000:
                summary.rows = rows
                progress(rows)
        summary.rows = rows

    def _client(self, stack: AsyncExitStack) -> Any:
        from termserver.client import AsyncClient

        a = self.args
        if a.server:
            return AsyncClient(a.server, token=a.token, batch_size=a.batch_size,
                               cache_size=a.cache_size, concurrency=2, timeout=300)
        import httpx

        app, store = _in_process_app(a.db)
        stack.callback(store.close)
        return AsyncClient("http://termserver.local/fhir", batch_size=a.batch_size,
                           cache_size=a.cache_size, timeout=None,
                           transport=httpx.ASGITransport(app=app))

    @staticmethod
    def _index(columns: list[str], name: str) -> int:
        if columns and name not in columns:
            raise UsageError(f"no column {name!r} in the input (columns: "
                             f"{', '.join(columns[:20])})")
        return columns.index(name) if name in columns else -1


def _in_process_app(db: str | None) -> tuple[Any, Any]:
    """The server app on `db` (default $TERMSERVER_DB) and its open store; without the
    app's request logging and tokens (whoever can open the database needs none)."""
    import logging
    from dataclasses import replace

    from termserver.api.app import create_app
    from termserver.api.routes import bulk
    from termserver.settings import Settings
    from termserver.store import Store

    settings = replace(Settings.from_env().with_overrides(db=db), log_level="WARNING",
                       api_tokens=frozenset(), read_tokens=frozenset(), token_names=())
    store = Store(settings.db)
    app = create_app(settings, store)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not any(getattr(r, "path", "") == "/fhir/$translate-bulk" for r in app.routes):
        app.include_router(bulk.router, prefix="/fhir")  # until the app registers it
    return app, store


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
