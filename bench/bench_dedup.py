"""Benchmark: duplicate detection + resolution proposals over 10 million relations (DESIGN §7:
≤ 30 s and ≤ 4 GB on 2 cores).

    python bench/bench_dedup.py                       # 10 000 000 relations, data in /tmp (reused if present)
    python bench/bench_dedup.py --relations 1000000   # a quicker run
    python bench/bench_dedup.py --engine spark        # the same job on Spark local[2]

The synthetic population (``yibao synth``, seed 1, 0.5 % planted duplicates and 0.5 % decoys) is
generated once into ``--dir`` and reused. The job runs in a child process; the parent samples the
resident memory of the child and of its worker processes (summed) every 50 ms from /proc, and
prints wall time per stage, peak memory, and the verdicts. It also checks the proposals against
the planted truth (found, missed, false positives).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

BUDGET_SECONDS = 30.0
BUDGET_BYTES = 4 * 1024**3


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_job(folder: Path, engine: str, workers: int, on: date, decide_on: str = "executors") -> None:
    """The measured job (child process): prints one JSON line of figures."""
    import pyarrow.parquet as pq

    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if done >= total:
            stages[stage] = round(time.perf_counter() - started, 2)

    if engine == "spark":
        from yibao.batch.spark import detect_parquet_spark, spark_session

        spark_session("local[2]")
        started = time.perf_counter()  # session start-up is not part of the job
        proposals, facts = detect_parquet_spark(folder, on, progress=progress, workers=workers, decide_on=decide_on)
    else:
        from yibao.batch.dedup import detect_parquet

        proposals, facts = detect_parquet(folder, on, progress=progress, workers=workers, threads=2)
    seconds = time.perf_counter() - started
    truth = pq.read_table(folder / "truth.parquet", columns=["first", "second"]).to_pylist()
    planted = {(str(t["first"]), str(t["second"])) for t in truth}
    found = {tuple(sorted(r.split(","), key=int)) for r in proposals.column("relations").to_pylist()}
    print(json.dumps({
        "seconds": seconds, "stages": stages, "relations": facts.population, "candidate_relations": facts.relations.num_rows,
        "candidate_lines": facts.contributions.num_rows, "proposals": proposals.num_rows,
        "planted": len(planted), "missed": len(planted - found), "false_positives": len(found - planted),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relations", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="data folder (default /tmp/yibao-bench-dedup-N)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--workers", type=int, default=2, help="processes for the rule decisions")
    parser.add_argument("--decide-on", choices=("executors", "driver"), default="executors", help="Spark only: where stage 3 runs")
    parser.add_argument("--on", default="2026-01-15")
    parser.add_argument("--job", action="store_true", help=argparse.SUPPRESS)  # internal: run the measured job
    args = parser.parse_args()
    folder = args.dir or Path(f"/tmp/yibao-bench-dedup-{args.relations}")
    if args.job:
        run_job(folder, args.engine, args.workers, date.fromisoformat(args.on), args.decide_on)
        return

    marker = folder / "synth.json"
    if not marker.exists() or json.loads(marker.read_text())["relations"] != args.relations:  # absent, or from an older generator
        from yibao.batch.synth import synthesize

        t = time.perf_counter()
        summary = synthesize(folder, relations=args.relations, seed=1)
        marker.write_text(json.dumps({"relations": summary.relations, "contributions": summary.contributions}))
        print(f"generated {summary.relations:,} relations, {summary.contributions:,} contribution lines in {time.perf_counter() - t:.1f} s → {folder}")
    info = json.loads(marker.read_text())
    print(f"input: {info['relations']:,} relations, {info['contributions']:,} contribution lines ({folder})")

    cmd = [sys.executable, __file__, "--job", "--dir", str(folder), "--engine", args.engine, "--workers", str(args.workers), "--on", args.on, "--decide-on", args.decide_on]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(child.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        sys.exit(f"the job failed (exit {child.returncode})")
    figures = json.loads(output.strip().splitlines()[-1])
    seconds, peak_bytes = figures["seconds"], peak[0]
    where = f", decisions on the {args.decide_on}" if args.engine == "spark" else ""
    print(f"engine: {args.engine}{where}, decision workers: {args.workers}, cores: {os.cpu_count()}")
    print(f"stages (s from start): {figures['stages']}")
    if figures["candidate_relations"]:  # the executors path keeps the candidates' facts on the executors
        print(f"candidates: {figures['candidate_relations']:,} relations, {figures['candidate_lines']:,} lines; proposals: {figures['proposals']:,}")
    else:
        print(f"proposals: {figures['proposals']:,} (candidates decided on the executors)")
    print(f"planted: {figures['planted']:,}  missed: {figures['missed']}  false positives: {figures['false_positives']}")
    print(f"detection + proposals: {seconds:.1f} s (budget ≤ {BUDGET_SECONDS:.0f} s): {'OK' if seconds <= BUDGET_SECONDS else 'MISSED'}")
    print(f"peak memory (job + workers): {peak_bytes / 1024**3:.2f} GB (budget ≤ 4 GB): {'OK' if peak_bytes <= BUDGET_BYTES else 'MISSED'}")


if __name__ == "__main__":
    main()
