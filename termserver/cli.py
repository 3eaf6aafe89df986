"""The `termserver` command: serve, load, status, remove. The composition root.

Each command imports what it needs lazily: `load` never imports FastAPI, `serve` never imports
pandas or owlready2. User and data errors print one line and exit 1; `--debug` shows tracebacks.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from loaders.base import Loader, LoadItem, LoadOptions, Progress
    from termserver.settings import Settings
    from termserver.store import Store

EXIT_USER_ERROR = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    from termserver.errors import TerminologyError

    try:
        result: int = args.func(args)
        return result
    except (TerminologyError, LookupError, OSError) as exc:
        if args.debug:
            raise
        message = exc.message if isinstance(exc, TerminologyError) else _os_message(exc)
        print(f"termserver: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("termserver: interrupted; nothing from the unfinished step was kept",
              file=sys.stderr)
        return 130


def _os_message(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file or directory"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc).strip("'\"")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="termserver", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--db", help="database URL or SQLite path (default: $TERMSERVER_DB)")
        p.add_argument("--debug", action="store_true", help="show tracebacks")
        return p

    serve = add("serve", "serve FHIR over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument("--demo-dir", type=Path,
                       help="load these demo packages first if the database is empty "
                       "(default: $TERMSERVER_DEMO_DIR when TERMSERVER_DEMO=1)")
    serve.set_defaults(func=cmd_serve)

    load = add("load", "load release files or FHIR packages (format auto-detected)")
    load.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    load.add_argument("--format", help="loader to use instead of auto-detection")
    load.add_argument("--version", help="code system version to record (overrides the file)")
    load.add_argument("--system", help="canonical URL for formats that carry none (OWL)")
    load.add_argument("--code-annotation", help="OWL: annotation holding the code (e.g. "
                      "skos:notation); default: the IRI fragment")
    load.add_argument("--replace", action="store_true",
                      help="replace a loaded code system version even when the new content "
                      "lacks designations or properties it holds (e.g. a linguistic variant "
                      "or lab-orders flags loaded separately); what is dropped is listed")
    load.set_defaults(func=cmd_load)

    status = add("status", "list what is loaded")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    remove = add("remove", "remove a code system (all versions, or one)")
    remove.add_argument("system", metavar="SYSTEM", help="canonical URL")
    remove.add_argument("--version", help="only this version")
    remove.set_defaults(func=cmd_remove)

    normalize = add("normalize", "split ICD-10-GM notation (I25.11† N08.3*, J65 U69.12) into "
                    "bare codes with roles")
    normalize.add_argument("codes", nargs="+", metavar="CODE", help="one string per argument")
    normalize.add_argument("--version", help="ICD-10-GM year to check the codes against")
    normalize.add_argument("--json", action="store_true", help="FHIR Parameters per string")
    normalize.set_defaults(func=cmd_normalize)

    imp = add("import-codes", "import a local code list (CSV, TSV, XLSX, .gz) as a CodeSystem")
    imp.add_argument("path", type=Path, metavar="PATH")
    imp.add_argument("--url", required=True, help="canonical URL of the local CodeSystem")
    imp.add_argument("--version", required=True, help="CodeSystem version to record")
    imp.add_argument("--name", help="CodeSystem.name (default: from the file name)")
    imp.add_argument("--title", help="CodeSystem.title")
    imp.add_argument("--sheet", help="XLSX: sheet to read (default: the first)")
    imp.add_argument("--encoding", help="text encoding (default: UTF-8, else cp1252/latin-1)")
    for column, default in (("code", "code"), ("display", "display"), ("unit", None),
                            ("specimen", None), ("category", None), ("frequency", None),
                            ("comment", None)):
        imp.add_argument(f"--{column}-column", default=default, metavar="HEADER",
                         help=f"header of the {column} column"
                         + (f" (default: {default})" if default else ""))
    imp.set_defaults(func=cmd_import_codes)

    reindex = add("reindex", "build the text indexes an upgrade left missing (with progress)")
    reindex.set_defaults(func=cmd_reindex)

    from termserver import cli_bulk

    cli_bulk.add_commands(add)  # translate, validate, lookup: table in, table out
    from termserver import cli_db

    cli_db.add_commands(sub)  # db upgrade, db current
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from termserver.settings import Settings

    settings = Settings.from_env().with_overrides(db=args.db)
    if settings.data_dir is not None:  # the default database's folder; a named one must exist
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _store(args: argparse.Namespace) -> Store:
    from termserver.store import open_store

    settings = _settings(args)
    return open_store(settings.db, upgrade=settings.db_upgrade)


# -- commands -----------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    """Bind the port first (a clash is an error before anything else happens), open the
    database (and load the demo), then serve; "serving … at …" is printed once uvicorn
    listens (with --workers: once the port is bound and the workers are starting)."""
    from termserver.api.accesslog import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    sock = _bind(args.host, args.port)
    try:
        return _serve(args, settings, sock)
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (not yet listening), or a clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only for such a socket;
    # without it every response waits for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from termserver.errors import InvalidRequest

        raise InvalidRequest(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is "
                             "another server using it? choose another with --port)") from None
    sock.set_inheritable(True)
    return sock


def _serve(args: argparse.Namespace, settings: Settings, sock: socket.socket) -> int:
    import uvicorn

    from termserver.store import open_store, search

    store = open_store(settings.db, upgrade=settings.db_upgrade)
    demo_dir = args.demo_dir or settings.demo_dir
    if demo_dir is not None:
        _load_demo(store, demo_dir)
    if search.missing(store):
        print("termserver: text indexes are missing (after an upgrade): run `termserver "
              "reindex`; until then text filters of those code systems are slow", file=sys.stderr)
    port = sock.getsockname()[1]  # --port 0: the one the system chose
    line = f"termserver: serving {store.display_url} at http://{args.host}:{port}/fhir"
    options = {"host": args.host, "port": port, "log_level": "warning",
               "access_log": False, "log_config": None}  # termserver.api.accesslog logs
    if args.workers > 1:
        return _serve_workers(args.workers, settings, store, sock, line, options)
    from termserver.api.app import create_app

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(line, file=sys.stderr, flush=True)

    server = Announcing(uvicorn.Config(create_app(settings, store), **options))
    server.run(sockets=[sock])
    return 0 if server.started else EXIT_USER_ERROR


def _serve_workers(workers: int, settings: Settings, store: Store, sock: socket.socket,
                   line: str, options: dict[str, Any]) -> int:
    """uvicorn's worker supervisor on the bound socket; metrics shared through a temporary
    PROMETHEUS_MULTIPROC_DIR unless one is set."""
    import shutil
    import tempfile

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    store.close()
    os.environ["TERMSERVER_DB"] = settings.db
    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="termserver-metrics-")
    try:
        config = uvicorn.Config("termserver.api.app:create_app", factory=True,
                                workers=workers, **options)
        print(f"{line} ({workers} worker processes)", file=sys.stderr, flush=True)
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


def _load_demo(store: Store, demo_dir: Path) -> None:
    """First start on an empty database: the demo packages, a LOINC lab subset with its German
    names and Universal Lab Orders flags, and a demo map project (demo/labor-demo.csv → LOINC)
    for the workbench."""
    from termserver.model import SearchQuery

    total, _ = store.search(SearchQuery("CodeSystem", count=1), with_json=False)
    if total:
        return
    paths = sorted(demo_dir.glob("*.tgz"))
    print(f"termserver: first start, loading demo content from {demo_dir} …", file=sys.stderr)
    _load_paths(store, paths, None, _options(None, None))
    loinc = demo_dir / "loinc"
    if (loinc / "LoincTableCore.csv.gz").exists():
        _load_fragment(store, loinc / "LoincTableCore.csv.gz", "loinc", _options("2.78", None))
        _load_paths(store, [loinc / "deDE15LinguisticVariant.csv.gz"], "loinc-variant",
                    _options(None, None))
        orders = loinc / "LoincUniversalLabOrdersValueSet.csv.gz"
        if orders.exists():
            _load_paths(store, [orders], "loinc-lab-orders", _options(None, None))
    codes = demo_dir / "labor-demo.csv"
    if codes.exists():
        _demo_project(store, codes)
    _build_indexes(store)


class _AsFragment:
    """A loader whose code systems are stored as `content: fragment`: the demo's LOINC is a
    subset, and a validator must not call the codes it leaves out unknown."""

    name: ClassVar[str] = "fragment"

    def __init__(self, inner: Loader) -> None:
        self.inner = inner

    def detect(self, path: Path) -> bool:
        return self.inner.detect(path)

    def read(self, path: Path, options: LoadOptions,
             progress: Progress | None = None) -> Iterator[LoadItem]:
        from dataclasses import replace

        from loaders.base import CodeSystemContent

        for item in self.inner.read(path, options, progress):
            if isinstance(item, CodeSystemContent):
                info = item.info
                header = {**info.resource, "content": "fragment"} if info.resource else None
                item = CodeSystemContent(replace(info, content="fragment", resource=header),
                                         item.records)
            yield item


def _load_fragment(store: Store, path: Path, fmt: str, options: LoadOptions) -> None:
    """Load `path` with loader `fmt`, its code systems marked `content: fragment`."""
    import loaders
    from termserver.ingest import load_path

    report = load_path(store, _AsFragment(loaders.get_loader(fmt)), path, options)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.written.items()))
    print(f"{path}: {counts or 'nothing to load'} (content: fragment)")


def _demo_project(store: Store, path: Path) -> None:
    from mappings.importer import ColumnMapping, read_code_list
    from mappings.model import Project
    from mappings.workbench import Workbench

    url = "http://klinikum.example/fhir/CodeSystem/labor"
    result = read_code_list(path, ColumnMapping(
        code="Kürzel", display="Bezeichnung", unit="Einheit", specimen="Material",
        frequency="Anzahl 2025"))
    wb = Workbench(store)
    wb.import_codes(result, url, "2025", name="LaborDemo", title="Demo-Laborkatalog",
                    author="demo")
    wb.create_project(Project("demo-labor", "Demo-Laborkatalog → LOINC", url, "2025",
                              "http://loinc.org", description="demo project"), "demo")
    print(f"{path}: {len(result.rows)} local lab codes; map project 'demo-labor' at /workbench")


def cmd_load(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        _load_paths(store, args.paths, args.format,
                    _options(args.version, args.system, args.code_annotation),
                    replace=args.replace)
        _build_indexes(store)
    finally:
        store.close()
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        _build_indexes(store)
    finally:
        store.close()
    return 0


def _build_indexes(store: Store) -> None:
    """Text indexes missing after an upgrade (the one index of `$expand`'s filter and the
    workbench's target search and suggestions), so no request waits for one; progress on
    stderr: a line per code system, and a bar on a terminal."""
    from mappings.textsearch import build_indexes
    from termserver.store import search

    bars: dict[str, ProgressBar] = {}

    def expand_index(label: str, done: int, total: int | None) -> None:
        bar = bars.get(label)
        if bar is None:
            print(f"text index of {label}: building …", file=sys.stderr)
            bar = bars[label] = ProgressBar(f"text index {label}")
        bar(done, total)

    todo = search.missing(store)
    if todo:
        print(f"{len(todo)} text index(es) to build (new format or missing); until each is "
              "built, the workbench answers 'index being built' for its code system",
              file=sys.stderr)
    for pk in search.build_missing(store, expand_index):
        for bar in bars.values():
            bar.done()
        bars.clear()
        print(f"text index of code system {pk} built", file=sys.stderr)
    build_indexes(store, lambda note: print(f"workbench: {note}", file=sys.stderr))


def _options(version: str | None, system: str | None,
             code_annotation: str | None = None) -> LoadOptions:
    from loaders.base import LoadOptions

    return LoadOptions(version=version, system=system, code_annotation=code_annotation)


def _load_paths(store: Store, paths: Sequence[Path], fmt: str | None,
                options: LoadOptions, *, replace: bool = False) -> None:
    import loaders
    from termserver.errors import InvalidRequest
    from termserver.ingest import load_path
    from termserver.load_safety import choose_loader

    for path in paths:
        if not path.exists():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        loader = choose_loader(path, fmt)
        if loader is None:
            raise InvalidRequest(f"{path}: cannot tell what this file is; pass --format "
                                 f"(one of {', '.join(sorted(loaders.REGISTRY))})")
        started = time.monotonic()
        bar = ProgressBar(path.name)
        try:
            report = load_path(store, loader, path, options, bar, replace=replace)
        except Exception as exc:
            failure = _load_failure(exc, path)
            if failure is exc:
                raise
            raise failure from exc
        finally:
            bar.done()
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(report.written.items()))
        print(f"{path}: {counts or 'nothing to load'} ({time.monotonic() - started:.1f} s)")
        for note in report.skipped:
            print(f"  note: {note}", file=sys.stderr)


def _load_failure(exc: Exception, path: Path) -> Exception:
    """What `load` reports for an error while loading `path`: our own errors as they are, any
    other (a database refusing a value, a bug) as one line naming the file, never a traceback
    (`--debug` shows it)."""
    from termserver.errors import LoadError, TerminologyError

    if isinstance(exc, TerminologyError | LookupError | OSError):
        return exc
    if isinstance(exc, RecursionError):
        return LoadError("content nested too deeply to load", path=str(path))
    text = (str(exc).strip().splitlines() or [""])[0][:200]
    return LoadError(f"cannot be loaded ({type(exc).__name__}: {text})", path=str(path))


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal, at most 10 times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        if total:
            filled = int(30 * done / total)
            line = f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        else:
            line = f"{self.label} {done:,} records"
        sys.stderr.write("\r" + line[:100])
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.last:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def cmd_status(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        _print_status(store, as_json=args.json)
    finally:
        store.close()
    return 0


def _print_status(store: Store, *, as_json: bool) -> None:
    from termserver.model import SearchQuery

    systems = store.code_systems()
    counts = {rtype: store.search(SearchQuery(rtype, count=0), with_json=False)[0]
              for rtype in ("CodeSystem", "ValueSet", "ConceptMap")}
    if as_json:
        print(json.dumps({
            "database": store.display_url, "resources": counts,
            "codeSystems": [{"url": cs.url, "version": cs.version, "content": cs.content,
                             "concepts": cs.concept_count, "id": cs.resource_id}
                            for cs in systems]}, indent=2))
        return
    print(f"database: {store.display_url}")
    print(f"{counts['CodeSystem']} code systems, {counts['ValueSet']} value sets, "
          f"{counts['ConceptMap']} concept maps")
    if systems:
        width = min(max(len(cs.url) for cs in systems), 70)
        print(f"{'SYSTEM':<{width}}  {'VERSION':<12} {'CONTENT':<12} {'CONCEPTS':>9}")
        for cs in systems:
            print(f"{cs.url:<{width}}  {cs.version or '-':<12} {cs.content:<12} "
                  f"{cs.concept_count:>9,}")


def cmd_remove(args: argparse.Namespace) -> int:
    from termserver.ingest import remove_code_system

    store = _store(args)
    try:
        for what in remove_code_system(store, args.system, args.version):
            print(f"removed {what}")
    finally:
        store.close()
    return 0


def cmd_normalize(args: argparse.Namespace) -> int:
    """One line per string: the string, then `code role` per bare code (and whether the
    loaded ICD-10-GM has it), tab-separated; or the $normalize Parameters with --json."""
    from termserver.fhir.notation import normalize_to_parameters
    from termserver.service.context import TxContext
    from termserver.service.icd_notation import normalize

    store = _store(args)
    try:
        ctx = TxContext(store)
        for text in args.codes:
            result = normalize(ctx, text, version=args.version)
            if args.json:
                print(json.dumps(normalize_to_parameters(result), ensure_ascii=False))
                continue
            cells = [text]
            for c in result.codes:
                known = "" if c.found is None else " found" if c.found else " unknown"
                cells.append(f"{c.part.code} {c.part.role}{known}")
            n = result.notation
            cells += [f"certainty {n.certainty}"] if n.certainty else []
            cells += [f"laterality {n.laterality}"] if n.laterality else []
            cells += [f"unparsed {n.rest}"] if n.rest else []
            print("\t".join(cells))
    finally:
        store.close()
    return 0


def cmd_import_codes(args: argparse.Namespace) -> int:
    """Read the list, store it as one CodeSystem in one transaction (accepted decisions on
    changed codes go back to review), print the bad rows and what changed."""
    import getpass
    import re

    from mappings.importer import ColumnMapping, read_code_list
    from mappings.workbench import Workbench
    from termserver.errors import InvalidRequest

    mapping = ColumnMapping(
        code=args.code_column, display=args.display_column, unit=args.unit_column,
        specimen=args.specimen_column, category=args.category_column,
        frequency=args.frequency_column, comment=args.comment_column)
    result = read_code_list(args.path, mapping, sheet=args.sheet, encoding=args.encoding)
    if not result.rows:
        raise InvalidRequest(f"{args.path}: no importable codes "
                             f"({result.bad_row_count} bad rows)")
    stem = args.path.name.split(".")[0]
    name = args.name or re.sub(r"[^A-Za-z0-9_]", "_", stem)[:255] or "LocalCodes"
    store = _store(args)
    try:
        outcome, changes = Workbench(store).import_codes(
            result, args.url, args.version, name=name, title=args.title,
            author=getpass.getuser())
    finally:
        store.close()
    print(f"{args.path}: {len(result.rows)} codes imported as {args.url}|{args.version} "
          f"({outcome}), {result.bad_row_count} bad rows"
          + (f", encoding {result.encoding}" if result.encoding else ""))
    print(f"  compared with the stored list: {len(changes.added)} added, "
          f"{len(changes.removed)} removed, {len(changes.changed)} changed")
    for bad in result.bad_rows:
        print(f"  {bad}")
    if result.unlisted_bad_rows:
        print(f"  … and {result.unlisted_bad_rows} more bad rows")
    return 0
