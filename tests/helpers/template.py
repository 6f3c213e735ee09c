"""The deploy template of each deployed stage, as ``devtools.package`` merges it.

The ``stage`` fixture (one run per deployed stage) is registered for every
test by ``tests/conftest.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools import package


@pytest.fixture(params=package.DEPLOYED_STAGES)
def stage(request: pytest.FixtureRequest) -> package.Stage:
    return package.load_stage(request.param)


def resources(stage: package.Stage) -> dict[str, Any]:
    resources: dict[str, Any] = package.merge_template(stage)["Resources"]
    return resources


def policy_file(stage: package.Stage, function: package.Function) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (package.CHALICE_DIR / stage.policy_file(function)).read_text()
    )
    return document
