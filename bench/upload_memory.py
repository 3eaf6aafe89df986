"""Peak extra memory (RSS) of uploads and packages of growing decompressed size.

    .venv/bin/python bench/upload_memory.py [--sizes 10,100,1000] [--quick]

Each case runs in a fresh process: the input (a gzip or tar bomb, or the largest input the
limits accept) is written to a temporary folder first, then the child reads it into memory (as
an upload arrives), resets its peak RSS (/proc/self/clear_refs) and runs the code path. Printed:
the case, the decompressed size, the outcome (accepted, or the 4xx text) and the peak RSS above
the child's RSS just before the call. The documented bound (README "Limits") is 256 MB.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
TIMEOUT = 300  # seconds per case


# -- writing the inputs (parent) --------------------------------------------------------------


def _gzip_stream(path: Path, header: bytes, unit: bytes, size: int) -> None:
    block = unit * max(1, (1 << 20) // len(unit))
    with gzip.open(path, "wb", compresslevel=6) as f:
        f.write(header)
        written = 0
        while written < size:
            f.write(block)
            written += len(block)


class _Repeat(io.RawIOBase):
    def __init__(self, unit: bytes, size: int) -> None:
        super().__init__()
        self.unit, self.left, self.at = unit, size, 0
        self.block = unit * max(2, (2 << 20) // len(unit))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left, len(self.block) - len(self.unit))
        buffer[:n] = self.block[self.at:self.at + n]
        self.at = (self.at + n) % len(self.unit)
        self.left -= n
        return n


def _package(path: Path, name: str, unit: bytes, size: int, head: bytes = b"",
             tail: bytes = b"") -> None:
    manifest = b'{"name": "bench.bomb", "version": "1.0.0", "fhirVersions": ["4.0.1"]}'
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("package/package.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        info = tarfile.TarInfo(name)
        info.size = len(head) + size + len(tail)
        stream = io.BufferedReader(_Repeat(unit, size))
        tar.addfile(info, io.BufferedReader(_Joined(head, stream, tail)))


class _Joined(io.RawIOBase):
    def __init__(self, head: bytes, body: IO[bytes], tail: bytes) -> None:
        super().__init__()
        self.parts: list[IO[bytes]] = [io.BytesIO(head), body, io.BytesIO(tail)]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self.parts:
            data = self.parts[0].read(len(buffer))
            if data:
                buffer[:len(data)] = data
                return len(data)
            self.parts.pop(0)
        return 0


def _xlsx_shared_strings(path: Path, count: int) -> None:
    """A workbook whose shared string table holds `count` distinct short strings."""
    import openpyxl  # type: ignore[import-untyped]

    book = openpyxl.Workbook()
    book.active.append(["code", "display"])
    book.active.append(["K", "Kalium"])
    plain = io.BytesIO()
    book.save(plain)
    strings = b"".join(b"<si><t>%x</t></si>" % i for i in range(count))
    table = (b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxmlformats'
             b'.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (count, count)
             + strings + b"</sst>")
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as src, zipfile.ZipFile(
            path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                dst.writestr(info.filename, src.read(info))
        dst.writestr("xl/sharedStrings.xml", table)


# -- the cases (child) ------------------------------------------------------------------------


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def child(kind: str, path: str) -> None:
    from loaders.base import LoadOptions
    from loaders.fhir_package import FhirPackageLoader
    from mappings.importer import read_code_list_bytes
    from mappings.mapimport import concept_map_json
    from termserver.errors import TerminologyError

    raw = Path(path).read_bytes() if kind not in ("package", "load") else b""
    client = _api_client(Path(path)) if kind == "api" else None
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak RSS to the current RSS
    before = _rss("VmRSS")
    started = time.monotonic()
    outcome = "accepted"
    try:
        if client is not None:  # POST /workbench/api/codesystems/import, as a curator would
            r = client.post("/workbench/api/codesystems/import",
                            files={"file": (Path(path).name, raw)},
                            data={"url": "http://hospital.example/CodeSystem/bench"})
            text = r.json().get("issue", [{}])[0].get("details", {}).get("text", "")
            outcome = f"HTTP {r.status_code} {text.split(': ', 1)[-1][:60]}, {len(r.content)} B"
        elif kind == "codes":
            result = read_code_list_bytes(raw, Path(path).name)
            outcome = f"accepted: {len(result.rows):,} rows, {result.bad_row_count:,} bad"
        elif kind == "map-json":
            concept_map_json(raw, Path(path).name)
        elif kind == "load":  # the whole `termserver load` path, into a new SQLite file
            from termserver.ingest import load_path
            from termserver.store import Store

            store = Store(f"sqlite:///{Path(path).with_suffix('.db')}")
            report = load_path(store, FhirPackageLoader(), Path(path), LoadOptions())
            store.close()
            outcome = f"loaded: {dict(report.written)}"
        else:
            n = sum(1 for _ in FhirPackageLoader().read(Path(path), LoadOptions()))
            outcome = f"accepted: {n} resources"
    except TerminologyError as exc:
        outcome = f"{exc.http_status}: {exc.message.split(': ', 1)[-1][:70]}"
    seconds = time.monotonic() - started
    print(f"{(_rss('VmHWM') - before) / MB:.0f}\t{seconds:.1f}\t{outcome}")


def _api_client(path: Path) -> Any:
    from fastapi.testclient import TestClient

    from termserver.api.app import create_app
    from termserver.settings import Settings
    from termserver.store import Store

    db = f"sqlite:///{path.with_suffix('.db')}"
    client = TestClient(create_app(Settings(db=db), Store(db)))
    client.__enter__()
    client.get("/fhir/metadata")
    return client


# -- driver (parent) --------------------------------------------------------------------------


def cases(sizes: list[int], tmp: Path) -> list[tuple[str, str, int, Path]]:
    out: list[tuple[str, str, int, Path]] = []
    for mb in sizes:
        size = mb * MB
        p = tmp / f"dups-{mb}.csv.gz"
        _gzip_stream(p, b"code,display\n", b"K,Kalium\n", size)
        out.append(("codes", "csv.gz, duplicate rows", size, p))
        p = tmp / f"blank-{mb}.csv.gz"
        _gzip_stream(p, b"code,display\n", b"\n", size)
        out.append(("codes", "csv.gz, blank lines", size, p))
        p = tmp / f"wide-{mb}.csv.gz"
        _gzip_stream(p, b"code,display\n", b"A" * 999_998 + b",x\n", size)
        out.append(("codes", "csv.gz, 1 MB rows", size, p))
        p = tmp / f"member-{mb}.tgz"
        _package(p, "package/CodeSystem-big.json", b" ", size)
        out.append(("package", "tgz, one member", size, p))
    p = tmp / "issue-dups.csv.gz"  # the reproduction: 2 M duplicate rows, 7.8 KB
    _gzip_stream(p, b"code,display\n", b"K,Kalium\n", 2_000_000 * 9)
    out.append(("api", "API upload, 2 M duplicate rows", 2_000_000 * 9, p))
    # the largest inputs the limits accept
    p = tmp / "max-rows.csv.gz"
    with gzip.open(p, "wb") as f:
        f.write(b"code,display,unit,specimen,comment\n")
        for i in range(99_999):
            f.write(b"L%06d,Laborwert Nummer %d im Serum,mmol/L,Serum,Kommentar %d\n" % (i, i, i))
    size = len(gzip.decompress(p.read_bytes()))
    out.append(("codes", "csv.gz, 99,999 distinct rows", size, p))
    out.append(("api", "API upload + store, 99,999 distinct rows", size, p))
    p = tmp / "max-xlsx.xlsx"
    _xlsx_shared_strings(p, 1_400_000)
    out.append(("codes", "xlsx, 1.4 M shared strings", 1_400_000 * 18, p))
    p = tmp / "max-json.tgz"
    _package(p, "package/Basic-many.json", b"{},", 1_800_000, b'{"resourceType": "Basic", "x": [',
             b"{}]}")
    out.append(("package", "tgz, JSON of 600,000 {} (budget)", 1_800_000, p))
    p = tmp / "max-string.tgz"
    _package(p, "package/CodeSystem-big.json", b"a", 31 * MB,
             b'{"resourceType": "CodeSystem", "url": "http://x", "status": "active", '
             b'"content": "complete", "description": "', b'"}')
    out.append(("load", "load tgz, CodeSystem with a 31 MB string", 31 * MB, p))
    p = tmp / "max-concepts.tgz"
    concepts = b",".join(b'{"code": "%d", "display": "d"}' % i for i in range(240_000))
    _package(p, "package/CodeSystem-many.json", b" ", 1,  # just inside the JSON budget
             b'{"resourceType": "CodeSystem", "url": "http://y", "status": "active", '
             b'"content": "complete", "concept": [' + concepts, b"]}")
    out.append(("load", "load tgz, CodeSystem of 240,000 concepts", len(concepts), p))
    p = tmp / "map.json"
    p.write_bytes(b'{"resourceType": "ConceptMap", "x": [' + b"{}," * 600_000 + b"{}]}")
    out.append(("map-json", "ConceptMap JSON, 600,000 {} (budget)", p.stat().st_size, p))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000",
                        help="decompressed sizes in MB of the bombs (default 10,100,1000)")
    parser.add_argument("--only", help="run only the cases whose label contains this")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print("case\tdecompressed MB\tpeak extra RSS MB\tseconds\toutcome")
    with tempfile.TemporaryDirectory(prefix="termserver-bench-") as folder:
        for kind, label, size, path in cases(sizes, Path(folder)):
            if args.only and args.only not in label:
                continue
            run = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                                 capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
            line = run.stdout.strip() or f"?\t?\tfailed: {run.stderr.strip()[-200:]}"
            print(f"{label}\t{size / MB:.0f}\t{line}", flush=True)


if __name__ == "__main__":
    main()
