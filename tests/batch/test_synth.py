"""`yibao synth`: deterministic, valid documents, duplicates planted at the stated rate."""

from __future__ import annotations

import pyarrow.parquet as pq

from yibao.batch.synth import messy_spelling, synthesize
from yibao.batch.tables import SCHEMAS
from yibao.ids import validate_document

NAMES = ("documents", "relations", "status_changes", "contributions", "person_context", "truth")


def _tables(folder):
    return {n: pq.read_table(folder / f"{n}.parquet") for n in NAMES}


def test_same_seed_same_population_other_seed_other(tmp_path) -> None:
    a = synthesize(tmp_path / "a", relations=3000, seed=5)
    b = synthesize(tmp_path / "b", relations=3000, seed=5)
    c = synthesize(tmp_path / "c", relations=3000, seed=6)
    ta, tb, tc = _tables(a.folder), _tables(b.folder), _tables(c.folder)
    assert all(ta[n].equals(tb[n]) for n in NAMES)
    assert not ta["relations"].equals(tc["relations"])


def test_layout_and_sizes(population) -> None:
    tables = _tables(population.folder)
    for name, schema in SCHEMAS.items():
        assert tables[name].schema.equals(schema), name
    assert tables["relations"].num_rows == population.relations
    assert population.relations == 20_000  # exactly as asked
    assert population.planted == round(0.01 * population.persons) == tables["truth"].num_rows
    kinds = set(tables["truth"].column("kind").to_pylist())
    assert kinds == {"EMPLOYEE_EMPLOYEE", "RESIDENT_RESIDENT", "CROSS_SCHEME"}
    insutypes = tables["relations"].column("insutype").to_pylist()
    share_310 = insutypes.count("310") / len(insutypes)
    assert 0.45 < share_310 < 0.65
    assert tables["relations"].column("end_date").null_count > 0  # open-ended current relations (E-05)


def test_documents_are_valid_and_split_records_are_other_spellings(population) -> None:
    docs = pq.read_table(population.folder / "documents.parquet").to_pylist()
    keys: dict[tuple, list[int]] = {}
    for d in docs:
        keys.setdefault(validate_document(d["cert_type"], d["cert_no"], migration=True).person_key, []).append(d["psn_no"])
    shared = [v for v in keys.values() if len(v) > 1]
    truth = pq.read_table(population.folder / "truth.parquet")
    assert len(shared) == sum(truth.column("split").to_pylist())
    assert all(len(v) == 2 for v in shared)
    clean = {d["cert_no"] for d in docs if d["psn_no"] <= population.persons}
    assert len(clean) == population.persons  # one person, one number


def test_messy_spellings_normalise_to_the_number() -> None:
    number = "11010119900307002X"
    for how in range(5):
        assert validate_document("01", messy_spelling(number, how), migration=True).number == number
    assert messy_spelling("110101199003070011", 3) == "110101900307001"  # E-12: 15-digit legacy form
