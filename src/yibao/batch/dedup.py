"""Duplicate enrollment over a whole population on DuckDB (R-DUP-001…009, R-ID-005, E-05, E-12).

The job has three stages; only the first two are engine-specific (:mod:`yibao.batch.spark` has the
same two on Spark), the third is shared so that every engine gives the same proposals:

1. **Merge persons** (R-ID-005, E-12). Document numbers already in canonical form (ASCII digits
   and capitals, not a 15-digit legacy ID) are keys as they are; the few others go through
   :func:`yibao.ids.validate_document` / :func:`yibao.ids.normalise` — the same code as the
   registry. Person records sharing a key are merged (connected components).
2. **Candidates and facts.** Core relations of the same merged person whose *periods* overlap
   (closed intervals, open end = forever, E-05) — a superset of the duplicates, since covered days
   lie inside the period. For those persons: all relations, status changes, contribution lines.
3. **Decisions.** For each candidate person, :func:`yibao.rules.duplicate.resolve_person` — the
   pure rules decide which candidates are duplicates (paid, normal status) and how to resolve them.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pyarrow as pa

from yibao.batch.tables import AMOUNT, check_folder, empty
from yibao.codes import ContributionKind, InsuStatus, InsuType, PsnType
from yibao.dates import YearMonth
from yibao.errors import YibaoError
from yibao.explain import jsonable
from yibao.model import (
    ContributionLine,
    Enrollment,
    PayerType,
    StatusChange,
    StatusReason,
)
from yibao.policy import Policy, default_policy
from yibao.rules import duplicate as D

CORE_INSUTYPES = tuple(t.value for t in InsuType if t.is_core)
Progress = Callable[[str, int, int], None]  # (stage, done, total)

PROPOSAL_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("relations", pa.string()),
        ("kind", pa.string()),
        ("outcome", pa.string()),
        ("rule_id", pa.string()),
        ("kept", pa.string()),
        ("change_relation", pa.string()),
        ("change_region", pa.string()),
        ("action", pa.string()),
        ("effective", pa.date32()),
        ("overlap_start", pa.date32()),
        ("overlap_end", pa.date32()),  # null: open (E-05)
        ("subsidy_total", AMOUNT),
        ("subsidy_region", pa.string()),
        ("refund_total", AMOUNT),
        ("refund_channels", pa.string()),  # JSON {channel: amount}
        ("notice_from", pa.string()),
        ("notice_to", pa.string()),
        ("review_code", pa.string()),
        ("rule_ids", pa.string()),
        ("reasons", pa.string()),  # JSON, Decision.to_dict()["reasons"]
        ("fingerprint", pa.string()),  # of the facts decided on (a dismissed case returns only if it changes)
    ]
)


@dataclass(frozen=True)
class Facts:
    """Stage-2 output: the candidates' facts as Arrow tables (same layout as the input files)."""

    relations: pa.Table  # + person_id
    status_changes: pa.Table
    contributions: pa.Table
    context: pa.Table  # keyed by person_id
    population: int  # relations scanned


# --- stage 1: person keys (shared by the engines) ---------------------------------------------


def canonical_key(cert_type: str, cert_no: str, nationality: str | None) -> str:
    """The person key (R-ID-005) of a document as typed, as ``type|number|nationality`` (E-12)."""
    from yibao.ids import normalise, validate_document

    try:
        key = validate_document(cert_type, cert_no, nationality=nationality, migration=True).person_key
    except YibaoError:  # keep what can be kept: a document that does not validate still has a normal form
        key = (normalise(cert_type), normalise(cert_no), normalise(nationality or ""))
    return f"{key[0]}|{key[1]}|{key[2] if len(key) > 2 else ''}"


CLEAN_SQL = (
    "regexp_full_match(cert_no, '[0-9A-Z]+') AND NOT (cert_type = '01' AND length(cert_no) = 15) "
    "AND (cert_type <> '08' OR regexp_full_match(coalesce(nationality, ''), '[A-Z]{3}'))"
)


def merge_components(edges: Iterable[tuple[int, str]]) -> dict[int, int]:
    """psn_no → merged person id (the smallest psn_no of its component) for records sharing keys."""
    parent: dict[Any, Any] = {}

    def find(x: Any) -> Any:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    psns = set()
    for psn, key in edges:
        psns.add(psn)
        a, b = find(("p", psn)), find(("k", key))
        if a != b:
            parent[b] = a
    groups: dict[Any, list[int]] = defaultdict(list)
    for psn in psns:
        groups[find(("p", psn))].append(psn)
    return {psn: min(members) for members in groups.values() if len(members) > 1 for psn in members}


# --- stage 3: decisions (shared by the engines) -----------------------------------------------


_KIND = {k.value: k for k in ContributionKind}
_PAYER = {k.value: k for k in PayerType}
_STATUS = {k.value: k for k in InsuStatus}
_REASON = {k.value: k for k in StatusReason}
_INSUTYPE = {k.value: k for k in InsuType}
_PSN_TYPE = {k.value: k for k in PsnType}
_CORE = frozenset(CORE_INSUTYPES)
_OPEN = 10**6


def build_facts(
    relations: list[dict], changes: list[dict], lines: list[dict]
) -> tuple[list[Enrollment], list[ContributionLine]]:
    by_rel: dict[int, list[StatusChange]] = defaultdict(list)
    for c in changes:
        by_rel[c["relation_id"]].append(StatusChange(c["effective"], _STATUS[c["status"]], _REASON.get(c["reason"] or "OTHER", StatusReason.OTHER)))
    enrollments = [
        Enrollment(
            str(r["relation_id"]), _INSUTYPE[r["insutype"]], r["region"], _PSN_TYPE[r["psn_type"]],
            r["start_date"], r["end_date"], tuple(sorted(by_rel.get(r["relation_id"], ()), key=lambda s: s.effective)),
        )
        for r in relations
    ]
    out_lines = [
        ContributionLine(
            str(c["relation_id"]), _KIND[c["kind"]], _PAYER[c["payer"]], c["paid_on"], c["amount"],
            month=YearMonth(c["month"] // 100, c["month"] % 100) if c["month"] is not None else None,
            benefit_year=c["benefit_year"],
        )
        for c in lines
    ]
    return enrollments, out_lines


def may_overlap(relations: list[dict], lines: list[dict]) -> bool:
    """A cheap necessary condition for R-DUP-001, on raw rows: two core relations both paid (any
    positive line) for a common month inside both periods. Covered *days* (what the rules compare)
    lie inside paid months and periods, so a person failing this has no duplicate; the property
    test ``test_batch_detection_equals_the_reference_rules`` checks the batch against the rules."""
    core = {r["relation_id"]: r for r in relations if r["insutype"] in _CORE}
    if len(core) < 2:
        return False
    paid: dict[int, set[int]] = defaultdict(set)
    for c in lines:
        rid = c["relation_id"]
        if rid not in core or c["amount"] <= 0:
            continue
        if c["month"] is not None:
            paid[rid].add((c["month"] // 100) * 12 + c["month"] % 100 - 1)
        elif c["benefit_year"] is not None and c["payer"] != "FISCAL_SUBSIDY":
            paid[rid].update(range(c["benefit_year"] * 12, c["benefit_year"] * 12 + 12))
    spans = []
    for rid, months in paid.items():
        r = core[rid]
        lo = r["start_date"].year * 12 + r["start_date"].month - 1
        hi = r["end_date"].year * 12 + r["end_date"].month - 1 if r["end_date"] is not None else _OPEN
        inside = {m for m in months if lo <= m <= hi}
        if inside:
            spans.append(inside)
    return any(spans[i] & spans[j] for i in range(len(spans)) for j in range(i + 1, len(spans)))


def _context(row: dict | None, detected_on: date) -> D.DuplicateContext:
    row = row or {}
    cause = row.get("student_cause")
    return D.DuplicateContext(
        detected_on=detected_on,
        employment_region=row.get("employment_region"),
        habitual_residence_region=row.get("habitual_region"),
        study_region=row.get("study_region"),
        student_cause=D.StudentCause(cause) if cause else None,
        employee_part_time=bool(row.get("employee_part_time")),
        assisted_both=bool(row.get("assisted_both")),
        assist_choice_region=row.get("assist_choice_region"),
        assist_choice_commitment_id=row.get("assist_commitment_id"),
    )


def decide_person(
    person_id: int, relations: list[dict], changes: list[dict], lines: list[dict], context: dict | None,
    detected_on: date, policy: Policy,
) -> list[dict]:
    """Stage 3 for one person: the rules' decisions as proposal rows (PROPOSAL_SCHEMA)."""
    if not may_overlap(relations, lines):
        return []
    enrollments, contribution_lines = build_facts(relations, changes, lines)
    ctx = _context(context, detected_on)
    decisions = D.resolve_person(str(person_id), enrollments, contribution_lines, ctx, policy)
    if not decisions:
        return []
    fp = D.facts_fingerprint(enrollments, contribution_lines, ctx)
    return [_row(person_id, d, fp) for d in decisions]


def reasons_json(decision) -> str:
    """The decision's reasons for the proposals file: rule, messages, citations, parameters used."""
    return json.dumps(
        [
            {
                "rule_id": r.rule_id,
                "message_zh": r.message_zh,
                "message_en": r.message_en,
                "citations": [str(c) for c in r.all_citations()],
                "parameters": {p.key: jsonable(p.value) for p in r.parameters},
            }
            for r in decision.reasons
        ],
        ensure_ascii=False,
    )


def _row(person_id: int, decision, fp: str) -> dict:
    res: D.Resolution = decision.value
    change = res.changes[0] if res.changes else None
    notice = res.region_notices[0] if res.region_notices else None
    group = res.kind
    deducted = [d for d in res.deductions if d.deduct]
    return {
        "person_id": person_id,
        "relations": ",".join(res.relations),
        "kind": group.value,
        "outcome": res.outcome.value,
        "rule_id": res.rule_id,
        "kept": res.kept,
        "change_relation": change.relation_id if change else None,
        "change_region": change.region if change else None,
        "action": change.action.value if change else None,
        "effective": change.effective if change else None,
        "overlap_start": res.overlap_start,
        "overlap_end": None if res.overlap_end is None or res.overlap_end >= D.END_OF_TIME else res.overlap_end,
        "subsidy_total": res.subsidy_total,
        "subsidy_region": deducted[0].region if deducted else None,
        "refund_total": res.refund_total,
        "refund_channels": json.dumps(jsonable(res.refund.by_channel()), sort_keys=True),
        "notice_from": notice.from_region if notice else None,
        "notice_to": notice.to_region if notice else None,
        "review_code": res.review_code,
        "rule_ids": ",".join(sorted(set(decision.rule_ids))),
        "reasons": reasons_json(decision),
        "fingerprint": fp,
    }


@dataclass
class _Prepared:
    """Stage-3 input as Python column lists, with each person's row indexes (built once, shared by
    forked workers without pickling)."""

    rel: dict[str, list]
    changes: dict[str, list]
    lines: dict[str, list]
    context: dict[int, dict]
    persons: list[int]
    rel_at: list[Any]  # per person: indexes into rel
    change_at: list[Any]
    line_at: list[Any]


def _group(keys: np.ndarray, persons: np.ndarray) -> list[np.ndarray]:
    """Row indexes of ``keys`` (person ids) for each of the sorted ``persons``."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], persons, side="left"), np.searchsorted(keys[order], persons, side="right")
    return [order[a:b] for a, b in zip(*bounds)]


def _prepare(facts: Facts) -> _Prepared:
    rel = {name: facts.relations.column(name).to_pylist() for name in facts.relations.column_names}
    rel_ids = np.asarray(facts.relations.column("relation_id").to_numpy(), dtype=np.int64)
    rel_person = np.asarray(facts.relations.column("person_id").to_numpy(), dtype=np.int64)
    by_id = np.argsort(rel_ids)

    def person_of(relation_ids: pa.ChunkedArray) -> np.ndarray:
        ids = np.asarray(relation_ids.to_numpy(), dtype=np.int64)
        return rel_person[by_id[np.searchsorted(rel_ids[by_id], ids)]] if len(ids) else np.zeros(0, np.int64)

    persons = np.unique(rel_person)
    changes = {name: facts.status_changes.column(name).to_pylist() for name in facts.status_changes.column_names}
    lines = {name: facts.contributions.column(name).to_pylist() for name in facts.contributions.column_names}
    return _Prepared(
        rel, changes, lines, {c["person_id"]: c for c in facts.context.to_pylist()}, persons.tolist(),
        _group(rel_person, persons), _group(person_of(facts.status_changes.column("relation_id")), persons),
        _group(person_of(facts.contributions.column("relation_id")), persons),
    )


def _rows_of(prep: _Prepared, i: int) -> tuple[list[dict], list[dict], list[dict]]:
    def pick(cols: dict[str, list], idx) -> list[dict]:
        names = list(cols)
        return [{n: cols[n][j] for n in names} for j in idx.tolist()]

    return pick(prep.rel, prep.rel_at[i]), pick(prep.changes, prep.change_at[i]), pick(prep.lines, prep.line_at[i])


_SHARED: dict[str, Any] = {}  # the prepared input, inherited by forked workers


def _decide_range(part: int, parts: int, detected_on: date) -> list[dict]:
    prep: _Prepared = _SHARED["prepared"]
    policy: Policy = _SHARED["policy"]
    out: list[dict] = []
    for i in range(part, len(prep.persons), parts):
        person = prep.persons[i]
        out.extend(decide_person(person, *_rows_of(prep, i), prep.context.get(person), detected_on, policy))
    return out


def proposals_from_facts(
    facts: Facts, detected_on: date, policy: Policy | None = None, *, progress: Progress | None = None, workers: int = 1,
    min_parallel: int = 2000,
) -> pa.Table:
    """Stage 3 over all candidates; rows sorted by (person, relations) so engines compare equal.

    With ``workers`` > 1 (and at least ``min_parallel`` persons) the persons are shared out to
    forked processes, which inherit the prepared input instead of receiving it pickled.
    """
    policy = policy or default_policy()
    prep = _prepare(facts)
    total = len(prep.persons)
    rows: list[dict] = []
    if workers > 1 and total >= min_parallel and "fork" in mp.get_all_start_methods():
        _SHARED.update(prepared=prep, policy=policy)
        try:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
                for part in pool.map(_decide_range, range(workers), [workers] * workers, [detected_on] * workers):
                    rows.extend(part)
        finally:
            _SHARED.clear()
        if progress:
            progress("decide", total, total)
    else:
        for i, person in enumerate(prep.persons):
            rows.extend(decide_person(person, *_rows_of(prep, i), prep.context.get(person), detected_on, policy))
            if progress and (i % 500 == 0 or i == total - 1):
                progress("decide", i + 1, total)
    rows.sort(key=lambda r: (r["person_id"], r["relations"]))
    return pa.Table.from_pylist(rows, schema=PROPOSAL_SCHEMA)


# --- stages 1 and 2 on DuckDB ---------------------------------------------------------------


def _connect(threads: int | None = None, memory_limit: str | None = None):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads or os.cpu_count() or 1}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def register_parquet(con, folder: Path) -> None:
    files = check_folder(Path(folder))
    for name in ("documents", "relations", "status_changes", "contributions", "person_context"):
        if name in files:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{files[name].as_posix()}')")
        else:
            con.register(f"{name}_empty", empty(name))
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_empty")


def register_arrow(con, tables: dict[str, pa.Table]) -> None:
    for name in ("documents", "relations", "status_changes", "contributions", "person_context"):
        con.register(f"{name}_arrow", tables.get(name, empty(name)))
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_arrow")


# The SQL of stages 1–2, shared by DuckDB and Spark (only the "already canonical" test differs).
_CORE_LIST = ", ".join(f"'{t}'" for t in CORE_INSUTYPES)


def shared_keys_sql(clean: str) -> str:
    """Person records sharing a key: canonical numbers as typed, the others from ``fixed_keys``."""
    return f"""
        WITH keys AS (
            SELECT psn_no, cert_type || '|' || cert_no || '|' || coalesce(nationality, '') AS key
            FROM documents WHERE {clean}
            UNION ALL SELECT psn_no, key FROM fixed_keys
        ), shared AS (SELECT key FROM keys GROUP BY key HAVING count(DISTINCT psn_no) > 1)
        SELECT DISTINCT k.psn_no, k.key FROM keys k JOIN shared s ON k.key = s.key
    """


def dirty_documents_sql(clean: str) -> str:
    return f"SELECT psn_no, cert_type, cert_no, nationality FROM documents WHERE NOT ({clean})"


REL_SQL = "SELECT r.*, coalesce(m.person_id, r.psn_no) AS person_id FROM relations r LEFT JOIN person_map m ON r.psn_no = m.psn_no"
# A relation never in status 1 (not normal from its start, never restored) has no covered day
# (E-05): it is left out before the self-join. Everything else is decided by the rules.
CANDIDATE_PERSONS_SQL = f"""
    WITH never_normal AS (
        SELECT s.relation_id FROM status_changes s JOIN rel r ON s.relation_id = r.relation_id
        GROUP BY s.relation_id
        HAVING max(CASE WHEN s.status <> '1' AND s.effective <= r.start_date THEN 1 ELSE 0 END) = 1
           AND max(CASE WHEN s.status = '1' THEN 1 ELSE 0 END) = 0
    ), c AS (
        SELECT relation_id, person_id, start_date, coalesce(end_date, DATE '9999-12-31') AS end_date
        FROM rel WHERE insutype IN ({_CORE_LIST}) AND relation_id NOT IN (SELECT relation_id FROM never_normal)
    )
    SELECT DISTINCT a.person_id FROM c a JOIN c b
      ON a.person_id = b.person_id AND a.relation_id < b.relation_id
     AND a.start_date <= b.end_date AND b.start_date <= a.end_date
"""
CANDIDATE_RELATIONS_SQL = "SELECT rel.* FROM rel JOIN cand_person c ON rel.person_id = c.person_id"
FACTS_SQL = {
    "relations": "SELECT relation_id, psn_no, insutype, region, psn_type, start_date, end_date, person_id FROM cand_rel ORDER BY relation_id",
    "status_changes": "SELECT relation_id, effective, status, reason FROM status_changes WHERE relation_id IN (SELECT relation_id FROM cand_rel)",
    "contributions": (
        "SELECT relation_id, kind, payer, paid_on, amount, month, benefit_year FROM contributions "
        "WHERE relation_id IN (SELECT relation_id FROM cand_rel)"
    ),
    "context": """
        SELECT m.person_id, max(habitual_region) AS habitual_region, max(employment_region) AS employment_region,
               max(study_region) AS study_region, max(student_cause) AS student_cause,
               bool_or(employee_part_time) AS employee_part_time, bool_or(assisted_both) AS assisted_both,
               max(assist_choice_region) AS assist_choice_region, max(assist_commitment_id) AS assist_commitment_id
        FROM person_context p JOIN (SELECT DISTINCT psn_no, person_id FROM cand_rel) m ON p.psn_no = m.psn_no
        GROUP BY m.person_id
    """,
}


def fixed_keys(dirty: Iterable[tuple]) -> pa.Table:
    """Keys of the documents that are not canonical as typed, through yibao.ids (E-12)."""
    dirty = list(dirty)
    return pa.table(
        {
            "psn_no": pa.array([int(d[0]) for d in dirty], pa.int64()),
            "key": pa.array([canonical_key(d[1], d[2], d[3]) for d in dirty], pa.string()),
        }
    )


def person_map(shared: Iterable[tuple[int, str]]) -> pa.Table:
    merged = merge_components((int(p), k) for p, k in shared)
    return pa.table({"psn_no": pa.array(list(merged), pa.int64()), "person_id": pa.array(list(merged.values()), pa.int64())})


def duckdb_facts(con, *, progress: Progress | None = None) -> Facts:
    """Stages 1 and 2 on a DuckDB connection whose views hold the five input tables."""
    step = progress or (lambda *_: None)
    con.register("fixed_keys", fixed_keys(con.execute(dirty_documents_sql(CLEAN_SQL)).fetchall()))
    persons = person_map(con.execute(shared_keys_sql(CLEAN_SQL)).fetchall())
    con.register("person_map", persons)
    step("persons", persons.num_rows, persons.num_rows)
    con.execute(f"CREATE OR REPLACE TEMP TABLE rel AS {REL_SQL}")
    population = con.execute("SELECT count(*) FROM rel").fetchone()[0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE cand_person AS {CANDIDATE_PERSONS_SQL}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE cand_rel AS {CANDIDATE_RELATIONS_SQL}")
    step("candidates", population, population)
    tables = {name: con.sql(sql).to_arrow_table() for name, sql in FACTS_SQL.items()}
    step("facts", tables["contributions"].num_rows, tables["contributions"].num_rows)
    return Facts(tables["relations"], tables["status_changes"], tables["contributions"], tables["context"], population)


def _run_duckdb(register: Callable[[Any], None], detected_on: date, policy: Policy | None, progress: Progress | None,
                workers: int, threads: int | None) -> tuple[pa.Table, Facts]:
    con = _connect(threads)
    try:
        register(con)
        facts = duckdb_facts(con, progress=progress)
    finally:
        con.close()
    return proposals_from_facts(facts, detected_on, policy, progress=progress, workers=workers), facts


def detect_parquet(
    folder: Path, detected_on: date, policy: Policy | None = None, *, progress: Progress | None = None,
    workers: int = 1, threads: int | None = None,
) -> tuple[pa.Table, Facts]:
    """The whole job on DuckDB over a folder of Parquet files: (proposals, candidate facts)."""
    return _run_duckdb(lambda con: register_parquet(con, folder), detected_on, policy, progress, workers, threads)


def detect_arrow(
    tables: dict[str, pa.Table], detected_on: date, policy: Policy | None = None, *, progress: Progress | None = None,
    workers: int = 1, threads: int | None = None,
) -> tuple[pa.Table, Facts]:
    """The same over in-memory Arrow tables (e.g. read from the database)."""
    return _run_duckdb(lambda con: register_arrow(con, tables), detected_on, policy, progress, workers, threads)
