"""The batch data layout: one Parquet file (or database table) per fact, as Arrow tables.

==================  ===========================================================================
file                columns
==================  ===========================================================================
documents           psn_no int64, cert_type str, cert_no str (as typed: may need E-12
                    normalisation), nationality str?
relations           relation_id int64, psn_no int64, insutype str, region str, psn_type str,
                    start_date date32, end_date date32? (null = open, E-05)
status_changes      relation_id int64, effective date32, status str (R-CODE-003), reason str
contributions       relation_id int64, kind str, payer str, paid_on date32, amount decimal(14,2),
                    month int32? (YYYYMM, 费款所属期), benefit_year int32? (resident year)
person_context      psn_no int64, habitual_region str?, employment_region str?, study_region str?,
                    student_cause str?, employee_part_time bool, assisted_both bool,
                    assist_choice_region str?, assist_commitment_id str?   (optional file)
==================  ===========================================================================

``truth`` (synthetic only) lists the planted duplicates: psn_no, first, second, kind, split.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from yibao.errors import YibaoError, define

BATCH_INPUT_MISSING = define(
    "BATCH_INPUT_MISSING",
    "批处理输入缺少文件或数据表 {name}（目录 {where}）",
    "the batch input has no file or table {name} (in {where})",
)

AMOUNT = pa.decimal128(14, 2)

SCHEMAS: dict[str, pa.Schema] = {
    "documents": pa.schema(
        [("psn_no", pa.int64()), ("cert_type", pa.string()), ("cert_no", pa.string()), ("nationality", pa.string())]
    ),
    "relations": pa.schema(
        [
            ("relation_id", pa.int64()),
            ("psn_no", pa.int64()),
            ("insutype", pa.string()),
            ("region", pa.string()),
            ("psn_type", pa.string()),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
        ]
    ),
    "status_changes": pa.schema(
        [("relation_id", pa.int64()), ("effective", pa.date32()), ("status", pa.string()), ("reason", pa.string())]
    ),
    "contributions": pa.schema(
        [
            ("relation_id", pa.int64()),
            ("kind", pa.string()),
            ("payer", pa.string()),
            ("paid_on", pa.date32()),
            ("amount", AMOUNT),
            ("month", pa.int32()),
            ("benefit_year", pa.int32()),
        ]
    ),
    "person_context": pa.schema(
        [
            ("psn_no", pa.int64()),
            ("habitual_region", pa.string()),
            ("employment_region", pa.string()),
            ("study_region", pa.string()),
            ("student_cause", pa.string()),
            ("employee_part_time", pa.bool_()),
            ("assisted_both", pa.bool_()),
            ("assist_choice_region", pa.string()),
            ("assist_commitment_id", pa.string()),
        ]
    ),
}
REQUIRED = ("documents", "relations", "status_changes", "contributions")


def parquet_path(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.parquet"


def check_folder(folder: Path) -> dict[str, Path]:
    """The Parquet files of a batch input folder (person_context is optional)."""
    out = {}
    for name in SCHEMAS:
        path = parquet_path(folder, name)
        if path.exists():
            out[name] = path
        elif name in REQUIRED:
            raise YibaoError(BATCH_INPUT_MISSING, field="input", name=f"{name}.parquet", where=str(folder))
    return out


def empty(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()


def write(table: pa.Table, folder: Path, name: str) -> Path:
    path = parquet_path(folder, name)
    pq.write_table(table.cast(SCHEMAS[name]) if name in SCHEMAS else table, path, compression="zstd", row_group_size=1 << 20)
    return path
