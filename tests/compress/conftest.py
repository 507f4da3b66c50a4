"""Compression tests run the compress stage in the test process.

The palettization tests run scikit-learn's k-means (OpenMP) in the test process; a stage
worker forked from it and running k-means again deadlocks in OpenMP (libgomp is not
fork-safe). The CLI's runner never runs k-means itself, so real runs keep the worker.
"""

import pytest

from pipeline_runner.engine.worker import IN_PROCESS_ENV


@pytest.fixture(autouse=True)
def _stages_in_process(monkeypatch):
    monkeypatch.setenv(IN_PROCESS_ENV, "1")
