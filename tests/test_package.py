"""The IAM policies of each function, and what the Lambda package holds.

The policy tests check the policy files against ``package.FUNCTIONS`` and the
storage code's calls. The package tests build the real ``deployment.zip``
once (``chalice package``, then ``devtools.lambda_package.prune``) and run
each function from it.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import lambda_package, package
from tests.helpers.template import policy_file


def table_grants(stage: package.Stage, function: package.Function) -> set[str]:
    """The DynamoDB actions ``function``'s policy file grants on the table and its indexes."""
    return {
        action
        for statement in policy_file(stage, function)["Statement"]
        if statement["Sid"] in ("Table", "Indexes")
        for action in statement["Action"]
    }


def storage_calls() -> set[str]:
    """The actions the storage code's calls need, by ``package.STORAGE_CALLS``."""
    source = "\n".join(
        path.read_text() for path in (package.PROJECT_DIR / "chalicelib" / "storage").glob("*.py")
    )
    return {
        action for pattern, action in package.STORAGE_CALLS.items() if re.search(pattern, source)
    }


def statements(stage: package.Stage) -> list[dict[str, Any]]:
    return [
        statement
        for function in package.FUNCTIONS
        for statement in policy_file(stage, function)["Statement"]
    ]


# ---------------------------------------------------------------- IAM


def test_each_function_uses_its_own_policy_file(stage: package.Stage) -> None:
    config = package.load_config()["stages"][stage.name]["lambda_functions"]
    for function in package.FUNCTIONS:
        assert config[function.name]["iam_policy_file"] == stage.policy_file(function)


def test_the_policy_files_are_the_generated_policies(stage: package.Stage) -> None:
    for function in package.FUNCTIONS:
        assert policy_file(stage, function) == package.policy(stage, function), (
            f"{stage.policy_file(function)} is stale: run `make policies`"
        )


def test_policies_grant_exactly_the_dynamodb_actions_the_storage_code_calls(
    stage: package.Stage,
) -> None:
    granted: set[str] = set()
    for function in package.FUNCTIONS:
        grants = table_grants(stage, function)
        index_queries = {"dynamodb:Query"} if function.queries_indexes else set()
        assert grants == set(function.table_actions) | index_queries
        granted |= grants
    assert granted == storage_calls()


def test_no_policy_grants_table_metadata_scans_or_wildcard_actions(stage: package.Stage) -> None:
    every_action = {action for statement in statements(stage) for action in statement["Action"]}
    assert every_action.isdisjoint({"dynamodb:DescribeTable", "dynamodb:Scan"})
    assert not any(action.endswith("*") for action in every_action)


def test_only_the_stream_handler_reads_the_stream_and_the_authorizer_only_gets_items(
    stage: package.Stage,
) -> None:
    def sids(function: package.Function) -> set[str]:
        return {statement["Sid"] for statement in policy_file(stage, function)["Statement"]}

    assert "TableStream" in sids(package.TABLE_STREAM)
    assert "TableStream" not in sids(package.API_HANDLER) | sids(package.JWT_AUTHORIZER)
    assert "Indexes" not in sids(package.JWT_AUTHORIZER)
    assert table_grants(stage, package.JWT_AUTHORIZER) == {"dynamodb:GetItem"}
    assert "JwtKey" not in sids(package.TABLE_STREAM)


def test_no_statement_grants_every_resource_except_x_ray(stage: package.Stage) -> None:
    for statement in statements(stage):
        if "*" in statement["Resource"]:
            assert statement["Sid"] == package.XRAY_STATEMENT
            assert set(statement["Action"]) <= set(package.XRAY_ACTIONS)


def test_x_ray_may_be_written_only_where_tracing_is_on(stage: package.Stage) -> None:
    traced = [s for s in statements(stage) if s["Sid"] == package.XRAY_STATEMENT]
    assert len(traced) == (len(package.FUNCTIONS) if stage.xray else 0)


def test_the_jwt_key_is_decrypted_only_through_ssm_for_its_parameter(
    stage: package.Stage,
) -> None:
    parameter = f"arn:aws:ssm:*:*:parameter{stage.jwt_secret_parameter}"
    for statement in statements(stage):
        if statement["Sid"] == "JwtKey":
            assert statement["Resource"] == [parameter]
        if statement["Sid"] == "JwtKeyDecrypt":
            assert statement["Condition"]["StringLike"] == {
                "kms:ViaService": "ssm.*.amazonaws.com",
                "kms:EncryptionContext:PARAMETER_ARN": parameter,
            }


# ---------------------------------------------------------------- the Lambda package


@pytest.fixture(scope="module")
def deployment_zip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The dev stage's ``deployment.zip``, as ``make package`` builds it (both stages share it)."""
    out = tmp_path_factory.mktemp("package")
    package.package(package.load_stage("dev"), out)
    yield out / "deployment.zip"


@pytest.fixture(scope="module")
def imported(deployment_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    return lambda_package.imported_modules(deployment_zip, tmp_path_factory.mktemp("unzipped"))


def entries(archive: Path) -> list[str]:
    with zipfile.ZipFile(archive) as opened:
        return opened.namelist()


def test_every_module_in_the_package_is_imported_by_some_function(
    deployment_zip: Path, imported: dict[str, set[str]]
) -> None:
    """Each function ran from the unzipped package alone, through its lazy imports too."""
    assert set(imported) == {function.name for function in package.FUNCTIONS}
    used = set().union(*imported.values())
    assert lambda_package.top_level_modules(deployment_zip) - used == set()
    assert used <= lambda_package.top_level_modules(deployment_zip)


def test_the_authorizer_and_the_stream_handler_load_no_web_or_hashing_code(
    imported: dict[str, set[str]],
) -> None:
    assert imported["jwt_authorizer"].isdisjoint({"pynamodb", "pydantic", "passlib", "argon2"})
    assert imported["table_stream"].isdisjoint({"pydantic", "passlib", "argon2", "jwt"})
    assert {"sentry_sdk", "passlib", "argon2", "email_validator"} <= imported["api_handler"]


def test_the_package_has_no_web_framework_wheel_data_or_pruned_module(
    deployment_zip: Path,
) -> None:
    firsts = {entry.split("/", 1)[0] for entry in entries(deployment_zip)}
    tops = lambda_package.top_level_modules(deployment_zip)
    assert tops.isdisjoint({"fastapi", "fastapi_offline", "starlette", "anyio", "opentelemetry"})
    assert tops.isdisjoint(lambda_package.UNUSED)
    assert not [first for first in firsts if first.endswith(".data")]
    assert not [first for first in firsts if first.startswith(("dnspython-", "pycparser-"))]


def test_the_package_ships_the_docs_assets_with_their_licences(deployment_zip: Path) -> None:
    names = set(entries(deployment_zip))
    for file in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert f"chalicelib/docs_assets/{file}" in names
    for licence in ("swagger-ui-dist/LICENSE", "swagger-ui-dist/NOTICE", "redoc/LICENSE"):
        assert f"chalicelib/docs_assets/licenses/{licence}" in names


def test_pruning_drops_the_modules_wheel_data_and_orphaned_dist_info(tmp_path: Path) -> None:
    archive = tmp_path / "deployment.zip"
    files = {
        "keep/__init__.py": "",
        "keep-1.0.dist-info/RECORD": "keep/__init__.py,,\n",
        "gone/__init__.py": "",
        "gone/sub.py": "",
        "gone-1.0.dist-info/RECORD": "gone/__init__.py,,\ngone/sub.py,,\n",
        "half/__init__.py": "",
        "_half_backend.so": "",
        "half-1.0.dist-info/RECORD": "half/__init__.py,,\n_half_backend.so,,\n",
        "tool-1.0.data/scripts/tool": "",
    }
    with zipfile.ZipFile(archive, "w") as opened:
        for name, text in files.items():
            opened.writestr(name, text)
    dropped = lambda_package.prune(archive, {"gone": "unused", "half": "unused"})
    assert dropped == ["gone", "gone-1.0.dist-info", "half", "tool-1.0.data"]
    assert set(entries(archive)) == {
        "keep/__init__.py",
        "keep-1.0.dist-info/RECORD",
        "_half_backend.so",
        "half-1.0.dist-info/RECORD",
    }
