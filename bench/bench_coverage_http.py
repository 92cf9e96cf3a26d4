"""Benchmark: the hospital-facing "covered on D?" lookup over HTTP against PostgreSQL.

Budget (issue): with 1 million people in PostgreSQL, ``GET /api/v1/coverage?cert_type=&number=&on=``
sustains ≥ 1 000 requests/s with p99 ≤ 50 ms on 2 cores. The figures are printed; this is not a test.

What it does:

1. uses ``--database URL`` (an existing PostgreSQL; migrated to head, people added if it holds
   fewer demo people than ``--people``), or by default starts a throw-away PostgreSQL server in a
   temporary directory (initdb + pg_ctl, Unix socket only, fsync off; as root it runs as the
   ``postgres`` OS user or ``yibao-pg``, created if absent) and stops it at the end;
2. loads ``--people`` people of the demo population (``yibao.demo.population``) with the bulk
   loader ``yibao.store.bulk.bulk_add_facts`` (COPY; the same rows as ``add_facts``, a test checks
   it) in large transactions (``--batch`` people each), in ``--load-jobs`` processes, computes each
   person's coverage projection from the same facts in memory (``index_from_facts``, what the
   service computes; a sample is checked against the service's own computation from the
   database), and prints the load rate; a person whose document collides with an earlier one
   (the generator draws ID numbers at random) is skipped and counted;
3. creates a read-only system token (auditor, every region) in process;
4. starts ``uvicorn yibao.cli_serve:app_from_env --factory --workers N`` on 127.0.0.1 (a free port);
5. samples a few thousand (cert_type, number) pairs of current documents from the database and
   drives ``/api/v1/coverage`` with a closed-loop async client (httpx, ``--concurrency`` requests in
   flight, one connection each) for ``--seconds``, then prints requests/s, latency percentiles,
   errors and the verdict against the budget.

Client and server share the machine: on 2 cores the Python client itself takes a large share of
the CPU, so the figures are a lower bound for the server (``--client wrk`` uses wrk if installed,
which is much lighter).

    python bench/bench_coverage_http.py                              # 1 000 000 people (long load)
    python bench/bench_coverage_http.py --people 20000 --seconds 15  # quick run
    python bench/bench_coverage_http.py --database postgresql+psycopg://user@host/db --people 0
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from yibao.store.throwaway import PostgresServer, find_binaries

BUDGET_RPS = 1000.0
BUDGET_P99_MS = 50.0
DEMO_BY = "demo-loader"  # the same recorder as ``yibao serve``'s demo, so serve reuses the people


# ------------------------------------------------------------------ a throw-away PostgreSQL server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throwaway_postgres() -> PostgresServer:
    """The tests' throw-away server (yibao.store.throwaway), tuned for load: more connections and memory."""
    bins = find_binaries()
    if bins is None:
        sys.exit("PostgreSQL binaries (initdb, pg_ctl, postgres) not found: install PostgreSQL or pass --database")
    server = PostgresServer(bins, extra_options="-c max_connections=200 -c shared_buffers=256MB -c max_wal_size=4GB", prefix="yibao-bench-pg-")
    return server.start()


# ------------------------------------------------------------------------------------- loading


def _load_part(url: str, size: int, part: int, parts: int, batch: int, skip_below: int, queue) -> None:
    """Add the demo people ``i`` with ``i % parts == part`` and ``i >= skip_below``, ``batch`` per transaction.

    Every process generates the whole (deterministic) population and keeps its share, so the
    people are the same whatever the number of processes."""
    from sqlalchemy import bindparam, update
    from sqlalchemy.exc import IntegrityError

    from yibao import demo
    from yibao.errors import YibaoError
    from yibao.rules import coverage_codec
    from yibao.service.coverage import index_from_facts
    from yibao.service.records import RecordsService
    from yibao.store.bulk import bulk_add_facts
    from yibao.store.projection import CoverageProjectionRow

    service = RecordsService.open(url, migrate_first=False)
    today = service.today()
    pending: list = []
    seen: set[tuple[str, str, str]] = set()  # document keys of the whole population, in order
    skipped = 0
    table = CoverageProjectionRow.__table__
    keep = (
        update(table)
        .where(table.c.psn_no == bindparam("b_psn"), table.c.revision == 1)
        .values(payload=bindparam("b_payload"), known_on=today, stable_through=bindparam("b_through"), regions=bindparam("b_regions"),
                computed_at=bindparam("b_at"))
    )

    def write(people: list) -> list:
        """The people written (all of them, or one by one after a conflict)."""
        try:
            with service.sessions() as session, session.begin():
                bulk_add_facts(session, [p.facts for p in people], by=DEMO_BY)
            return people
        except (IntegrityError, YibaoError):  # e.g. a document already in the database: one savepoint per person
            ok = []
            with service.sessions() as session, session.begin():
                for p in people:
                    try:
                        with session.begin_nested():
                            bulk_add_facts(session, [p.facts], by=DEMO_BY)
                        ok.append(p)
                    except (IntegrityError, YibaoError):
                        pass
            return ok

    def flush(people: list) -> tuple[int, int]:
        """Write the people, then their coverage projections computed from the same facts in memory
        (what the service computes from the database; ``verify_projections`` checks a sample)."""
        ok = write(people)
        values = []
        for p in ok:
            index, regions = index_from_facts(p.facts.known_on(today), p.facts, service.policy, today)
            values.append({"b_psn": p.facts.person_id, "b_payload": coverage_codec.encode(index), "b_through": index.stable_through,
                           "b_regions": ",".join(sorted(regions)), "b_at": service.clock()})
        if values:
            with service.sessions() as session, session.begin():
                session.connection().execute(keep, values)  # Core executemany
        return len(ok), len(people) - len(ok)

    try:
        for i, person in enumerate(demo.population(size, today=today)):
            keys = [(str(d.cert_type), d.number, d.nationality or "") for d in person.facts.documents]
            collides = any(k in seen for k in keys)
            seen.update(keys)
            if i % parts != part or i < skip_below:
                continue
            if collides:  # the generator drew an ID number an earlier person holds: skip (every process agrees)
                skipped += 1
                continue
            pending.append(person)
            if len(pending) >= batch:
                queue.put(flush(pending))
                pending = []
        if pending:
            queue.put(flush(pending))
        queue.put((0, skipped))
    finally:
        queue.put(None)
        service.engine.dispose()


def load_people(url: str, size: int, jobs: int, batch: int) -> tuple[int, int, float]:
    """Load the demo population up to ``size`` people; (added, skipped, seconds)."""
    from sqlalchemy import func, select

    from yibao.service.records import RecordsService
    from yibao.store.models import PersonRow

    service = RecordsService.open(url)  # creates and migrates
    with service.sessions() as s:
        have = s.scalar(select(func.count()).select_from(PersonRow).where(PersonRow.recorded_by == DEMO_BY)) or 0
    service.engine.dispose()
    if have >= size:
        print(f"database already holds {have} demo people: nothing to load")
        return 0, 0, 0.0
    # demo people are D000001, D000002, … in order: resume after the highest one present
    # (an interrupted parallel load may leave holes; they are simply not refilled)
    with service.sessions() as s:
        top = s.scalar(
            select(PersonRow.psn_no).where(PersonRow.recorded_by == DEMO_BY)
            .order_by(func.length(PersonRow.psn_no).desc(), PersonRow.psn_no.desc()).limit(1)
        )
    start = int(top[1:]) if top else 0
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_load_part, args=(url, size, j, jobs, batch, start, queue)) for j in range(jobs)]
    for p in procs:
        p.start()
    added = skipped = done = 0
    last = t0
    while done < jobs:
        item = queue.get()
        if item is None:
            done += 1
            continue
        added, skipped = added + item[0], skipped + item[1]
        now = time.perf_counter()
        if now - last >= 10:
            print(f"  … {added} people in {now - t0:.0f} s ({added / (now - t0):.0f} people/s)", flush=True)
            last = now
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"a loader process failed (exit code {p.exitcode})")
    seconds = time.perf_counter() - t0
    service.engine.dispose()
    return added, skipped, seconds


def verify_projections(url: str, n: int = 200, seed: int = 11) -> None:
    """The loader computed the projections from the facts in memory: check a sample against what the
    service computes from the database (the payloads must be identical); exit if one differs."""
    from sqlalchemy import text

    from yibao.rules import coverage_codec
    from yibao.service.coverage import index_from_facts
    from yibao.service.records import RecordsService
    from yibao.store import repository as repo

    service = RecordsService.open(url, migrate_first=False)
    with service.sessions() as s:
        rows = s.execute(text(
            "SELECT psn_no, payload, known_on FROM coverage_projection TABLESAMPLE SYSTEM (1) REPEATABLE (:seed) WHERE payload IS NOT NULL LIMIT :n"
        ), {"seed": seed, "n": n}).all()
        if len(rows) < n:
            rows = s.execute(text("SELECT psn_no, payload, known_on FROM coverage_projection WHERE payload IS NOT NULL LIMIT :n"), {"n": n}).all()
        for psn_no, payload, known_on in rows:
            known = repo.load_facts(s, psn_no, as_known_on=known_on)
            index, _ = index_from_facts(known, repo.load_facts(s, psn_no), service.policy, known_on)
            if coverage_codec.encode(index) != payload:
                sys.exit(f"the loaded projection of {psn_no} differs from the service's: loader bug")
    service.engine.dispose()
    print(f"verified {len(rows)} loaded coverage projections against the service's own computation: identical")


def sample_documents(url: str, n: int, seed: int = 7) -> list[tuple[str, str]]:
    """``n`` random (cert_type, number) pairs of current documents (TABLESAMPLE on big tables)."""
    from sqlalchemy import text

    from yibao.store.db import create_engine_for

    engine = create_engine_for(url)
    with engine.connect() as c:
        c.execute(text("ANALYZE person_document"))
        total = c.scalar(text("SELECT count(*) FROM person_document WHERE superseded_at IS NULL")) or 0
        if total == 0:
            sys.exit("the database holds no documents: load people first (--people)")
        pct = min(100.0, max(0.01, 100.0 * n * 3 / total))
        rows = c.execute(text(
            f"SELECT cert_type, number FROM person_document TABLESAMPLE BERNOULLI ({pct:.4f}) REPEATABLE ({seed}) "
            "WHERE superseded_at IS NULL LIMIT :n"), {"n": n}).all()
    engine.dispose()
    pairs = [(str(ct), num) for ct, num in rows]
    random.Random(seed).shuffle(pairs)
    return pairs


def system_token(url: str) -> str:
    from yibao.api.security import AccessStore
    from yibao.service.records import RecordsService

    service = RecordsService.open(url, migrate_first=False)
    access = AccessStore(service.sessions, known_regions=service.policy.regions(), clock=service.clock)
    secret, _row = access.create_system_token(name=f"bench-{int(time.time())}", role="auditor", regions=["*"], expires_at=None, by="bench")
    service.engine.dispose()
    return secret


# ------------------------------------------------------------------------------------- the API


# One uvicorn process per worker, each on its own SO_REUSEPORT socket: the kernel spreads new
# connections over the processes. (uvicorn --workers shares one socket, and the asyncio accept loop
# of whichever process wakes first takes a whole burst of connections — with a few keep-alive
# clients all of them may land in one process and the other core idles.)
_REUSEPORT_WORKER = """
import socket, sys, uvicorn
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
config = uvicorn.Config("yibao.cli_serve:app_from_env", factory=True, access_log=False, log_level="warning")
uvicorn.Server(config).run(sockets=[sock])
"""


def start_api(url: str, port: int, workers: int, balance: str = "reuseport") -> subprocess.Popen:
    env = {**os.environ, "YIBAO_DATABASE_URL": url}
    if balance == "reuseport":
        # a shell as the process group leader, so that stop_api ends every worker
        workers_cmd = " & ".join(f"{sys.executable} -c {shlex.quote(_REUSEPORT_WORKER)} {port}" for _ in range(workers))
        cmd = ["bash", "-c", f"{workers_cmd} & wait"]
    else:
        cmd = [
            sys.executable, "-m", "uvicorn", "yibao.cli_serve:app_from_env", "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", "warning",
        ]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"uvicorn exited with {proc.returncode}")
        try:
            # every worker listening (a connection made before a worker binds goes to the others)
            ready = balance != "reuseport" or _listening(port) >= workers
            if ready and httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_api(proc)
    sys.exit("the API did not answer /healthz within 60 s")


def _listening(port: int) -> int:
    """How many sockets listen on 127.0.0.1:``port`` (Linux /proc/net/tcp)."""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return sum(1 for line in f.readlines()[1:] if line.split()[1] == wanted and line.split()[3] == "0A")


def stop_api(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


async def _drive(base: str, token: str, pairs: list[tuple[str, str]], on: str, seconds: float, concurrency: int, warmup: float):
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(10**12))
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10.0) as client:
        async def one(measure: bool) -> None:
            cert_type, number = pairs[next(counter) % len(pairs)]
            t0 = time.perf_counter()
            try:
                r = await client.get("/api/v1/coverage", params={"cert_type": cert_type, "number": number, "on": on})
                status = r.status_code
                if status == 200:
                    r.json()
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if measure:
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1

        async def worker(stop_at: float, measure: bool) -> None:
            while time.perf_counter() < stop_at:
                await one(measure)

        if warmup > 0:
            end = time.perf_counter() + warmup
            await asyncio.gather(*(worker(end, False) for _ in range(concurrency)))
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return latencies, errors, elapsed


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, max(0, int(round(q * len(sorted_ms))) - 1))]


def run_wrk(base: str, token: str, pairs: list[tuple[str, str]], on: str, seconds: float, concurrency: int) -> None:
    """wrk with a Lua script cycling through the sampled documents (loopback only)."""
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    paths = ",\n".join(f'"/api/v1/coverage?cert_type={ct}&number={num}&on={on}"' for ct, num in pairs)
    lua.write_text(
        f"local paths = {{\n{paths}\n}}\nlocal i = 0\n"
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n"
        "done = function(summary, latency, requests)\n"
        "  io.write(string.format(\"wrk: %d requests, %d errors (status %d, timeouts %d)\\n\", summary.requests,"
        " summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,"
        " summary.errors.status, summary.errors.timeout))\n"
        "  io.write(string.format(\"wrk: %.0f requests/s   p50 %.1f ms   p95 %.1f ms   p99 %.1f ms\\n\","
        " summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,"
        " latency:percentile(99) / 1000))\nend\n"
    )
    try:
        done = subprocess.run(["wrk", "-t", "1", "-c", str(concurrency), "-d", f"{int(seconds)}s", "--latency", "-s", str(lua), base],
                              check=True, capture_output=True, text=True)
    finally:
        lua.unlink(missing_ok=True)
    print(done.stdout, end="")
    figures = re.search(r"wrk: (\d+) requests/s .* p99 ([\d.]+) ms", done.stdout)
    errors = re.search(r"wrk: \d+ requests, (\d+) errors", done.stdout)
    if figures and errors:
        rps, p99, n_err = float(figures[1]), float(figures[2]), int(errors[1])
        ok_rps, ok_p99 = rps >= BUDGET_RPS, p99 <= BUDGET_P99_MS
        print(f"budget ≥ {BUDGET_RPS:.0f} requests/s: {'OK' if ok_rps else 'MISSED'}   p99 ≤ {BUDGET_P99_MS:.0f} ms: "
              f"{'OK' if ok_p99 else 'MISSED'}   -> {'OK' if ok_rps and ok_p99 and n_err == 0 else 'OVER BUDGET'}")


# ------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="an existing PostgreSQL URL (default: a throw-away server in a temp dir)")
    parser.add_argument("--people", type=int, default=1_000_000, help="demo people in the database (default 1 000 000)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--balance", choices=("reuseport", "uvicorn"), default="reuseport",
                        help="one process per worker on SO_REUSEPORT sockets (default), or uvicorn --workers on one shared socket")
    parser.add_argument("--seconds", type=float, default=20, help="load duration (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured warm-up seconds before the load (default 3)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--sample", type=int, default=5000, help="documents to sample for the requests (default 5000)")
    parser.add_argument("--on", default=None, help="the day asked about, YYYY-MM-DD (default: today)")
    parser.add_argument("--batch", type=int, default=2000, help="people per loading transaction (default 2000)")
    parser.add_argument("--load-jobs", type=int, default=2, help="loader processes (default 2)")
    parser.add_argument("--client", choices=("httpx", "wrk"), default="wrk" if shutil.which("wrk") else "httpx",
                        help="load generator (default wrk if installed: it takes far less of the shared CPUs than httpx)")
    parser.add_argument("--load-only", action="store_true", help="load (and verify) the people, then stop (use with --database)")
    args = parser.parse_args()

    pg = None
    api = None
    try:
        if args.database:
            url = args.database
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://"):]
        else:
            pg = throwaway_postgres()
            url = pg.url()
            print(f"throw-away PostgreSQL at {pg.base} (port {pg.port}, Unix socket)")

        if args.people > 0:
            added, skipped, secs = load_people(url, args.people, args.load_jobs, args.batch)
            if added:
                print(f"loaded {added} people in {secs:.1f} s ({added / secs:.0f} people/s; {args.load_jobs} loader processes, "
                      f"{args.batch} per transaction; {skipped} skipped for a colliding generated ID number)")
        verify_projections(url)
        if args.load_only:
            return
        from sqlalchemy import func, select

        from yibao.service.records import RecordsService
        from yibao.store.models import LineRow, PersonRow

        service = RecordsService.open(url)
        with service.sessions() as s:
            people = s.scalar(select(func.count()).select_from(PersonRow)) or 0
            lines = s.scalar(select(func.count()).select_from(LineRow)) or 0
        counts = service.coverage_counts()
        service.engine.dispose()
        print(f"people in the database: {people} ({lines} contribution lines); coverage projections usable today: {counts['fresh']}, "
              f"stale or missing: {counts['stale']} (computed on first lookup, or by `yibao coverage refresh`)")

        pairs = sample_documents(url, args.sample)
        token = system_token(url)
        on = args.on or date.today().isoformat()
        port = _free_port()
        api = start_api(url, port, args.workers, args.balance)
        base = f"http://127.0.0.1:{port}"
        print(f"API: uvicorn, {args.workers} workers ({args.balance}), {base}; {len(pairs)} sampled documents; on={on}; "
              f"client {args.client}, concurrency {args.concurrency}, {args.seconds:g} s (+{args.warmup:g} s warm-up); "
              f"{os.cpu_count()} CPUs shared by client, server and PostgreSQL")

        if args.client == "wrk":
            if not shutil.which("wrk"):
                sys.exit("wrk is not installed (Debian package wrk)")
            run_wrk(base, token, pairs, on, args.seconds, args.concurrency)
            return

        latencies, errors, elapsed = asyncio.run(_drive(base, token, pairs, on, args.seconds, args.concurrency, args.warmup))
        ms = sorted(x * 1000 for x in latencies)
        total = len(ms)
        rps = total / elapsed if elapsed else 0.0
        p50, p95, p99 = _pct(ms, 0.50), _pct(ms, 0.95), _pct(ms, 0.99)
        n_err = sum(errors.values())
        print(f"requests: {total} in {elapsed:.1f} s = {rps:.0f} requests/s")
        print(f"latency:  p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   max {ms[-1] if ms else float('nan'):.1f} ms")
        print(f"errors:   {n_err}" + (f" {errors}" if errors else ""))
        ok_rps, ok_p99 = rps >= BUDGET_RPS, p99 <= BUDGET_P99_MS
        verdict = "OK" if ok_rps and ok_p99 and n_err == 0 else "OVER BUDGET"
        print(f"budget ≥ {BUDGET_RPS:.0f} requests/s: {'OK' if ok_rps else 'MISSED'}   "
              f"p99 ≤ {BUDGET_P99_MS:.0f} ms: {'OK' if ok_p99 else 'MISSED'}   -> {verdict} "
              f"(people {people}; client and server share the CPUs)")
    finally:
        if api is not None:
            stop_api(api)
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
