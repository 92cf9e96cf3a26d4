"""Fixtures of the batch suite: one small synthetic population and one Spark session per run."""

from __future__ import annotations

import shutil

import pytest

from yibao.batch.synth import synthesize


@pytest.fixture(scope="session")
def population(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    summary = synthesize(folder, relations=20_000, seed=11, dup_rate=0.01, decoy_rate=0.01)
    return summary


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    from yibao.batch.spark import spark_session

    session = spark_session("local[2]")
    yield session
