"""Search and paged expansion at scale (issue 13), over real HTTP against `termserver serve`.

    python bench/search_bench.py [--db sqlite:///bench/data/search/search.db | postgresql+psycopg://…]
                                 [--reuse] [--port 0] [--max-seconds 60] [--timeout 30] …

Loads (unless --reuse finds it loaded) the real LOINC 2.78 table with the deDE variant, every
ICD-10-GM year in ../shared/data (2015–2017 DIMDI ZIPs, 2021/2024/2025 BfArM kodes) and the
synthetic SNOMED-scale RF2 release (bench/make_rf2.py, 370,000 concepts), starts the server
(uvicorn, one worker) and measures, with the queries of bench/search_queries.py:

* one client (keep-alive): p50/p95 of `$lookup` (the yardstick), unfiltered pages (`count=20`),
  filtered pages (`filter=…&count=20`) and ECL + filter (`?fhir_vs=ecl/<<X`), interleaved in
  blocks; every kind bounded by --requests and --max-seconds, every request by --timeout;
* several clients (--clients, default 1 and 4): requests/s of the kinds fast enough for it;
* the hit rate of the judged queries of tests/test_search_quality.py over HTTP;
* the server's RSS before and after --memory-requests filtered expansions;
* tracemalloc peak of one LOINC page of 20 (create_app + TestClient, in a child process);
* the workbench: first suggestion after a server restart vs a warm one, real LOINC.

Results go to bench/search_results.md (--output). `--server-root DIR` runs the loads, server
and allocation child from another checkout (e.g. `git archive HEAD` unpacked) for a baseline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402
import run  # noqa: E402
import search_queries as sq  # noqa: E402
import search_workbench as wbench  # noqa: E402
from loadtime import reset_database  # noqa: E402

if TYPE_CHECKING:
    from tests.test_search_quality import Judged

SHARED = Path(os.environ.get("TERMSERVER_SHARED", ROOT.parent / "shared")) / "data"
LOINC_CORE = SHARED / "loinc" / "LoincTableCore_2.78.csv.gz"
LOINC_DE = (SHARED / "loinc" / "loinc-2.74-accessory" / "LinguisticVariants"
            / "deDE15LinguisticVariant.csv.gz")
ICD_FILES = (*(SHARED / "icd10gm" / "dimdi-metadaten-zips" / f"x1gmt{y}.zip"
               for y in (2015, 2016, 2017)),
             *(SHARED / "icd10gm" / "bfarm-metadaten-txt" / f"icd10gm{y}syst_kodes.txt.gz"
               for y in (2021, 2024, 2025)))
ICD_2025 = ICD_FILES[-1]
DATA = HERE / "data" / "search"
LOINC, ICD, SCT = "http://loinc.org", "http://fhir.de/CodeSystem/bfarm/icd-10-gm", \
    "http://snomed.info/sct"
LOINC_VS, SCT_VS = "http://loinc.org/vs", "http://snomed.info/sct?fhir_vs"
ICD_IMPLICIT = f"{ICD}?fhir_vs"
ICD_STORED = "http://example.org/fhir/ValueSet/bench-icd-10-gm-all"
HOST = "127.0.0.1"


@dataclass
class Kind:
    """One kind of request measured at one client."""

    name: str
    group: str  # lookup | page | filter | ecl
    paths: list[str]
    seconds: list[float] = field(default_factory=list)  # latencies of 200 answers
    statuses: Counter[int] = field(default_factory=Counter)
    timeouts: int = 0
    sent: int = 0
    stopped: str = ""
    rates: dict[int, tuple[float, int]] = field(default_factory=dict)  # clients -> (req/s, !200)

    def pct(self, q: float) -> float | None:
        if not self.seconds:
            return None
        s = sorted(self.seconds)
        return s[min(len(s) - 1, int(q * len(s)))]


class Client:
    """One keep-alive HTTP/1.1 connection; a request past `timeout` answers status None."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int | None, float, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        started = time.perf_counter()
        try:
            self.conn.request("GET", path, headers={"Accept": "application/fhir+json"})
            resp = self.conn.getresponse()
            body = resp.read()
        except TimeoutError:
            self.close()
            return None, time.perf_counter() - started, b""
        except (ConnectionError, http.client.HTTPException):
            self.close()
            return 599, time.perf_counter() - started, b""
        if resp.getheader("connection", "").lower() == "close":
            self.close()
        return resp.status, time.perf_counter() - started, body

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Server:
    """`termserver serve` in a child process (from --server-root), restartable."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.port = args.port or run.free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "termserver", "serve", "--db", self.args.db,
               "--host", HOST, "--port", str(self.port)]
        log = (DATA / "server.log").open("ab")  # a pipe could fill up and stall the server
        self.proc = subprocess.Popen(cmd, cwd=self.args.server_root, env=child_env(self.args),
                                     stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (DATA / "server.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"the server exited early:\n{tail}")
            try:
                if loadgen.probe(HOST, self.port, "/fhir/metadata")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def wait_quiet(self, limit: float = 180.0) -> float:
        """After a timed-out request: wait (at most `limit` s) until the server stops burning
        CPU on it, so the next measurements do not share the CPU with it."""
        assert self.proc is not None
        started = time.monotonic()
        before = run.cpu_seconds(self.proc.pid) or 0.0
        while time.monotonic() - started < limit:
            time.sleep(1.0)
            now = run.cpu_seconds(self.proc.pid) or 0.0
            if now - before < 0.1:
                break
            before = now
        return time.monotonic() - started


def child_env(args: argparse.Namespace) -> dict[str, str]:
    env = {**os.environ, "TERMSERVER_LOG_LEVEL": "WARNING", "TERMSERVER_DB": args.db}
    for name in ("TERMSERVER_API_TOKENS", "TERMSERVER_READ_TOKENS"):
        env.pop(name, None)
    if args.server_root != ROOT:
        env["PYTHONPATH"] = str(args.server_root)
    return env


# -- loading ---------------------------------------------------------------------------------


def loaded(args: argparse.Namespace) -> str:
    done = subprocess.run([sys.executable, "-m", "termserver", "status", "--db", args.db],
                          cwd=args.server_root, env=child_env(args), capture_output=True,
                          text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def load(args: argparse.Namespace) -> list[str]:
    """Load what the benchmark needs; returns one line per load (file, seconds)."""
    missing = [p for p in (LOINC_CORE, LOINC_DE, *ICD_FILES) if not p.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(map(str, missing))} (real data from ../shared/data)")
    if not (args.rf2 / "Snapshot").exists():
        subprocess.run([sys.executable, str(HERE / "make_rf2.py"), "--out", str(args.rf2)],
                       check=True)
    status = loaded(args) if args.reuse else ""
    if not args.reuse:
        reset_database(args.db)
    present = {tuple(line.split()[:2]) for line in status.splitlines() if line.count(" ") > 1}
    urls = {url for url, _ in present}
    plan: list[tuple[str, Path]] = []
    if LOINC not in urls:  # the variant is loaded right after the table
        plan += [("loinc", LOINC_CORE), ("loinc-variant", LOINC_DE)]
    for path in ICD_FILES:
        year = "".join(ch for ch in path.name if ch.isdigit())[-4:]
        if (ICD, year) not in present:
            plan.append(("bfarm-txt", path))
    if SCT not in urls:
        plan.append(("snomed-rf2", args.rf2))
    lines = []
    for fmt, path in plan:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "termserver", "load", "--db", args.db,
                        "--format", fmt, str(path)], cwd=args.server_root,
                       env=child_env(args), check=True)
        lines.append(f"{path.name} ({fmt}): {time.monotonic() - started:.0f} s")
        print(lines[-1], flush=True)
    if args.reindex:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "termserver", "reindex", "--db", args.db],
                       cwd=args.server_root, env=child_env(args), check=True)
        lines.append(f"termserver reindex: {time.monotonic() - started:.0f} s")
    return lines


# -- requests --------------------------------------------------------------------------------


def expand_path(url: str, **params: str) -> str:
    return "/fhir/ValueSet/$expand?" + urlencode({"url": url, **params}, quote_via=quote)


def icd_value_set(port: int) -> str:
    """The ICD-10-GM implicit value set url when the server knows one, else a stored ValueSet
    of the whole (newest) code system, PUT once."""
    status, _ = loadgen.probe(HOST, port, expand_path(ICD_IMPLICIT, count="1"))
    if status == 200:
        return ICD_IMPLICIT
    vs = {"resourceType": "ValueSet", "id": "bench-icd-10-gm-all", "url": ICD_STORED,
          "status": "active", "compose": {"include": [{"system": ICD}]}}
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request("PUT", "/fhir/ValueSet/bench-icd-10-gm-all", body=json.dumps(vs),
                 headers={"Content-Type": "application/fhir+json"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    if resp.status not in (200, 201):
        raise SystemExit(f"storing {ICD_STORED}: HTTP {resp.status}")
    return ICD_STORED


def kinds(qs: sq.QuerySet, icd_vs: str, args: argparse.Namespace) -> list[Kind]:
    urls = {"loinc": LOINC_VS, "icd": icd_vs, "snomed": SCT_VS}
    names = {"loinc": "LOINC", "icd": "ICD-10-GM", "snomed": "SNOMED CT"}
    systems = {"loinc": LOINC, "icd": ICD, "snomed": SCT}
    out: list[Kind] = []
    for s in ("loinc", "icd", "snomed"):
        out.append(Kind(f"$lookup {names[s]}", "lookup", [
            "/fhir/CodeSystem/$lookup?" + urlencode({"system": systems[s], "code": c})
            for c in qs.lookups[s]]))
    for s in ("loinc", "icd", "snomed"):
        offsets = [0, 20, 40, 60, 80, 100, 200, 500, 1000, 5000]
        out.append(Kind(f"page of 20 {names[s]}", "page", [
            expand_path(urls[s], count="20", offset=str(o)) for o in offsets]))
    for s in ("loinc", "icd", "snomed"):
        out.append(Kind(f"filter, page of 20 {names[s]}", "filter", [
            expand_path(urls[s], filter=q.text, count="20") for q in qs.queries
            if q.system == s]))
    sct_text = [q.text for q in qs.queries if q.system == "snomed" and q.origin != "code"]
    out.append(Kind("ECL <<X + filter, page of 20 SNOMED CT", "ecl", [
        expand_path(f"{SCT}?fhir_vs=ecl/<<{root}", filter=sct_text[i % len(sct_text)],
                    count="20")
        for i, (root, _) in enumerate(qs.ecl_roots * 8)]))
    return out


def one_client(ks: list[Kind], server: Server, args: argparse.Namespace) -> None:
    """Every kind in interleaved blocks of --block requests, until its --requests are sent,
    its --max-seconds are spent or --max-timeouts requests timed out."""
    client = Client(server.port, args.timeout)
    spent = dict.fromkeys((k.name for k in ks), 0.0)
    for k in ks:  # warm-up: one request of each kind, not counted (but a timeout is)
        if client.get(k.paths[0])[0] is None:
            k.timeouts += 1
            server.wait_quiet()
    while any(not k.stopped for k in ks):
        for k in ks:
            for _ in range(args.block):
                if k.stopped:
                    break
                if k.sent >= args.requests:
                    k.stopped = "done"
                    break
                if spent[k.name] >= args.max_seconds:
                    k.stopped = f"--max-seconds {args.max_seconds:g} reached"
                    break
                status, took, _ = client.get(k.paths[k.sent % len(k.paths)])
                k.sent += 1
                spent[k.name] += took
                if status is None:
                    k.timeouts += 1
                    quiet = server.wait_quiet()
                    print(f"  timeout: {k.name} (server busy {quiet:.0f} s more)", flush=True)
                    if k.timeouts >= args.max_timeouts:
                        k.stopped = f"{k.timeouts} timeouts of {args.timeout:g} s"
                    continue
                k.statuses[status] += 1
                if status == 200:
                    k.seconds.append(took)
        print("  " + ", ".join(f"{k.name.split(',')[0][:18]} {len(k.seconds)}" for k in ks),
              flush=True)
    client.close()


def many_clients(ks: list[Kind], server: Server, args: argparse.Namespace) -> None:
    """Requests/s at each of --clients connections, for kinds whose p95 is under --rate-limit."""
    for k in ks:
        p95 = k.pct(0.95)
        if p95 is None or p95 > args.rate_limit:
            continue
        for c in args.clients:
            res = loadgen.run(HOST, server.port, k.paths, connections=c,
                              seconds=args.rate_seconds, warmup=0.5)
            k.rates[c] = (res.rate, res.errors)


def judged_hits(server: Server, icd_vs: str, args: argparse.Namespace,
                items: tuple[Judged, ...]) -> list[tuple[Judged, bool | None, list[str]]]:
    """(judged, hit or None on error, top codes) over HTTP, as tests/test_search_quality.py;
    after --max-timeouts timeouts the rest is not asked."""
    client = Client(server.port, args.timeout)
    out: list[tuple[Judged, bool | None, list[str]]] = []
    timeouts: Counter[str] = Counter()  # per system
    started = time.monotonic()
    for j in items:
        url = LOINC_VS if j.system == "loinc" else icd_vs
        if timeouts[j.system] >= args.max_timeouts \
                or time.monotonic() - started > args.judged_seconds:
            out.append((j, None, []))  # not asked
            continue
        status, _, body = client.get(expand_path(url, filter=j.query, count="10"))
        if status is None:
            timeouts[j.system] += 1
            server.wait_quiet()
        if status != 200:
            out.append((j, None, [f"HTTP {status}" if status else "timeout"]))
            continue
        codes = [c["code"] for c in json.loads(body)["expansion"].get("contains", [])]
        first_ok = bool(codes) and codes[0] in j.expected
        out.append((j, first_ok if j.exact else any(c in j.expected for c in codes[:10]),
                    codes))
    client.close()
    return out


def memory(server: Server, paths: list[str], args: argparse.Namespace
           ) -> tuple[list[tuple[int, float]], str]:
    """Server RSS (MiB) every 1,000 of --memory-requests filtered expansions."""
    client = Client(server.port, args.timeout)
    samples = [(0, server.rss_mib())]
    started = time.monotonic()
    stop, timeouts, n = "done", 0, 0
    for n in range(1, args.memory_requests + 1):
        status, _, _ = client.get(paths[n % len(paths)])
        if status is None:
            timeouts += 1
            server.wait_quiet()
            if timeouts >= args.max_timeouts:
                stop = f"{timeouts} timeouts"
                break
        if n % 1000 == 0:
            samples.append((n, server.rss_mib()))
            print(f"  memory: {n:,} requests, RSS {samples[-1][1]:.0f} MiB", flush=True)
        if time.monotonic() - started > args.memory_seconds:
            stop = f"--memory-seconds {args.memory_seconds:g} reached"
            break
    if samples[-1][0] != n:
        samples.append((n, server.rss_mib()))
    client.close()
    return samples, stop


def allocation(args: argparse.Namespace) -> dict[str, float | str]:
    """tracemalloc peak of one LOINC page of 20 (unfiltered and filtered), in a child process
    running this file with --alloc-child."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--alloc-child", "--db", args.db,
           "--server-root", str(args.server_root)]
    try:
        done = subprocess.run(cmd, cwd=args.server_root, env=child_env(args),
                              capture_output=True, text=True, timeout=args.alloc_timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.alloc_timeout:g} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, float | str] = json.loads(lines[-1])
    return result


def alloc_child(db: str, server_root: Path) -> int:
    import tracemalloc

    sys.path.insert(0, str(server_root))  # before ROOT: the code under test

    from fastapi.testclient import TestClient

    from termserver.api.app import create_app
    from termserver.settings import Settings

    out: dict[str, float] = {}
    with TestClient(create_app(Settings(db=db, log_level="WARNING"))) as c:
        for name, params in (("page", {"url": LOINC_VS, "count": "20"}),
                             ("filtered", {"url": LOINC_VS, "filter": "Natrium",
                                           "count": "20"})):
            c.get("/fhir/ValueSet/$expand", params=params)  # warm-up: caches are not the page
            tracemalloc.start()
            started = time.perf_counter()
            r = c.get("/fhir/ValueSet/$expand", params=params)
            out[f"{name}_seconds"] = time.perf_counter() - started
            out[f"{name}_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            out[f"{name}_status"] = r.status_code
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default=f"sqlite:///{DATA / 'search.db'}")
    p.add_argument("--reuse", action="store_true",
                   help="keep the database and load only what `termserver status` lacks")
    p.add_argument("--rf2", type=Path, default=DATA / "rf2")
    p.add_argument("--server-root", type=Path, default=ROOT,
                   help="checkout whose code loads and serves (default: this one)")
    p.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    p.add_argument("--requests", type=int, default=200, help="most requests per kind")
    p.add_argument("--max-seconds", type=float, default=60.0, help="time budget per kind")
    p.add_argument("--timeout", type=float, default=30.0, help="per request")
    p.add_argument("--max-timeouts", type=int, default=2, help="per kind, then it stops")
    p.add_argument("--block", type=int, default=10)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    p.add_argument("--rate-seconds", type=float, default=5.0)
    p.add_argument("--rate-limit", type=float, default=1.0,
                   help="rates only for kinds whose one-client p95 is below this (s)")
    p.add_argument("--judged-seconds", type=float, default=600.0)
    p.add_argument("--memory-requests", type=int, default=10_000)
    p.add_argument("--memory-seconds", type=float, default=600.0)
    p.add_argument("--alloc-timeout", type=float, default=300.0)
    p.add_argument("--wb-timeout", type=float, default=300.0)
    p.add_argument("--wb-restarts", type=int, default=3,
                   help="workbench cold starts measured (medians reported)")
    p.add_argument("--skip", nargs="*", default=[],
                   choices=["rates", "judged", "memory", "alloc", "workbench"])
    p.add_argument("--load-only", action="store_true", help="load, sample queries, stop")
    p.add_argument("--reindex", action="store_true",
                   help="run `termserver reindex` first (a database loaded by older code)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--output", type=Path, default=HERE / "search_results.md")
    p.add_argument("--alloc-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.alloc_child:
        return alloc_child(args.db, args.server_root.resolve())
    args.server_root = args.server_root.resolve()
    DATA.mkdir(parents=True, exist_ok=True)
    import search_report

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    loads = load(args)
    qs = sq.cached(DATA / f"queries-{args.seed}.json", LOINC_CORE, LOINC_DE, ICD_2025, args.rf2,
                   seed=args.seed)
    if args.load_only:
        return 0
    res: dict[str, object] = {"loads": loads, "queries": qs, "started": started}
    server = Server(args)
    server.start()
    try:
        res["rss_start"] = server.rss_mib()
        icd_vs = icd_value_set(server.port)
        res["icd_vs"] = icd_vs
        ks = kinds(qs, icd_vs, args)
        print(f"one client: {sum(len(k.paths) for k in ks):,} paths in {len(ks)} kinds",
              flush=True)
        one_client(ks, server, args)
        res["kinds"] = ks
        if "rates" not in args.skip:
            many_clients(ks, server, args)
        if "judged" not in args.skip:
            from tests.test_search_quality import HARDER, JUDGED

            res["judged"] = judged_hits(server, icd_vs, args, JUDGED)
            res["harder"] = judged_hits(server, icd_vs, args, HARDER)
        if "memory" not in args.skip:
            paths = [p for k in ks if k.group == "filter" for p in k.paths]
            res["memory"] = memory(server, paths, args)
        if "workbench" not in args.skip:
            res["workbench"] = wbench.repeated(server, args, args.wb_restarts)
    finally:
        server.stop()
    if "alloc" not in args.skip:
        res["alloc"] = allocation(args)
    text = search_report.render(res, args)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
