"""What the Lambda package must carry: the functions' import closure, and nothing else.

``chalice package`` installs ``requirements.txt`` with every dependency of
every distribution, including parts no function ever loads. ``prune``
rewrites ``deployment.zip`` without the top-level modules of ``UNUSED``
(each with the reason it is safe to leave out) and without the dist-info of
distributions left with nothing in the package.

``imported_modules`` is the evidence: it unzips the package and runs each
function's entry module in a fresh interpreter that sees only the standard
library and the package (``python -I -S``), the way Lambda loads it, then
drives the code paths that import lazily: a whole session through the API
handler (signup, login with both bodies, password hashing, a movie with
ratings and comments, its detail's concurrent queries, the docs and their
assets, a validation error) with ``SENTRY_DSN`` set so Sentry starts, the
authorizer reading its key from SSM as in a deployed stage, and the stream
handler cleaning up after the deleted movie. DynamoDB and SSM are moto's
server on loopback, started by the caller. Each run prints the top-level
modules it loaded from the package; ``tests/test_package.py`` fails if the
package holds a module that none of them loaded, or lacks one they need.

Run as a script (``python -I -S devtools/lambda_package.py DIR FUNCTION``)
this file is that child, and imports nothing outside the standard library
before it puts ``DIR`` on ``sys.path``; the events it hands the functions
are ``bench/lambda_events.py``'s (standard library only), loaded by path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any


def _load_by_path(path: Path) -> ModuleType:
    """The module in ``path``, loaded by itself: the child (``-I -S``) cannot import ``bench``."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    from bench import lambda_events as events
else:
    events = _load_by_path(Path(__file__).resolve().parent.parent / "bench" / "lambda_events.py")

# Top-level modules ``chalice package`` brings in that no function imports.
UNUSED = {
    "dns": "dnspython: email-validator's DNS deliverability checks, which EmailStr never asks for",
    "cffi": "cffi's build-time API: argon2's compiled bindings load only _cffi_backend",
    "pycparser": "cffi's C parser, used only when building bindings",
}
FUNCTIONS = ("api_handler", "jwt_authorizer", "table_stream")
RESULT = "LAMBDA-IMPORTS "
PASSWORD = "correct horse battery"
NEW_PASSWORD = "analytical engine"


# ---------------------------------------------------------------- the package


def top_level_name(entry: str) -> str | None:
    """The importable top-level name of a zip entry's first path component, if any."""
    first = entry.split("/", 1)[0]
    if first.endswith((".dist-info", ".data")) or first.startswith("__pycache__"):
        return None
    if "/" in entry:
        return first
    if first.endswith(".py"):
        return first[:-3]
    if first.endswith(".so"):
        return first.split(".", 1)[0]
    return None


def top_level_modules(archive: Path) -> set[str]:
    with zipfile.ZipFile(archive) as package:
        names = {top_level_name(entry) for entry in package.namelist()}
    return {name for name in names if name}


def prune(archive: Path, unused: dict[str, str] = UNUSED) -> list[str]:
    """Rewrite ``archive`` without ``unused`` modules, ``*.data`` and orphaned dist-info.

    Returns the top-level entries it removed.
    """
    with zipfile.ZipFile(archive) as package:
        infos = package.infolist()
        contents = {info.filename: package.read(info) for info in infos}
    owners = _record_owners(contents)
    dropped, dropped_modules = set(), set()
    for info in infos:
        first, module = info.filename.split("/", 1)[0], top_level_name(info.filename)
        if module in unused or first.endswith(".data"):
            dropped.add(first)
            dropped_modules.add(module)
    for dist_info, owned in owners.items():
        if owned and owned <= dropped_modules:
            dropped.add(dist_info)
    kept = [info for info in infos if info.filename.split("/", 1)[0] not in dropped]
    staging = archive.with_suffix(".pruning")
    with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as package:
        for info in kept:
            package.writestr(info, contents[info.filename])
    staging.replace(archive)
    return sorted(dropped)


def _record_owners(contents: dict[str, bytes]) -> dict[str, set[str | None]]:
    """Each dist-info directory and the top-level names of the files its RECORD lists."""
    owners: dict[str, set[str | None]] = {}
    for name, data in contents.items():
        parts = name.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "RECORD":
            files = [line.split(",", 1)[0] for line in data.decode().splitlines() if line]
            owners[parts[0]] = {
                top_level_name(file)
                for file in files
                if not file.startswith(("..", parts[0] + "/"))
            }
            owners[parts[0]].discard(None)
    return owners


# ---------------------------------------------------------------- the evidence

REGION = "us-east-1"
STAGE = "dev"
TABLE = "movies-closure"
KEY_PARAMETER = "/movie-listing-api/closure/jwt-secret"
# Sentry starts with any well-formed DSN; this one names a closed port on loopback.
SENTRY_DSN = "http://public@127.0.0.1:9/1"


def imported_modules(archive: Path, scratch: Path) -> dict[str, set[str]]:
    """The top-level modules each function loads from ``archive`` (unzipped into ``scratch``)."""
    import secrets

    import boto3

    from devtools.dynamodb import ensure_table, start_moto_server

    with zipfile.ZipFile(archive) as package:
        package.extractall(scratch)
    server, endpoint = start_moto_server()
    try:
        env = _child_environment(endpoint)
        ensure_table(endpoint, TABLE, REGION)
        ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=REGION)
        ssm.put_parameter(Name=KEY_PARAMETER, Type="SecureString", Value=secrets.token_urlsafe(48))
        session = _run_child(scratch, "api_handler", "", env)
        authorizer = _run_child(scratch, "jwt_authorizer", session["token"], env)
        stream = _run_child(scratch, "table_stream", str(session["movie_id"]), env)
    finally:
        server.stop()
    return {
        "api_handler": set(session["modules"]),
        "jwt_authorizer": set(authorizer["modules"]),
        "table_stream": set(stream["modules"]),
    }


def _child_environment(endpoint: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "HOME", "TMPDIR")
    return {
        **{name: os.environ[name] for name in keep if name in os.environ},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ENDPOINT_URL_SSM": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": "movie-listing-api-dev",
        "STAGE": STAGE,
        "TABLE_NAME": TABLE,
        "JWT_SECRET_PARAMETER": KEY_PARAMETER,
        "SENTRY_DSN": SENTRY_DSN,
    }


def _run_child(directory: Path, function: str, argument: str, env: dict[str, str]) -> Any:
    command = [sys.executable, "-I", "-S", __file__, str(directory), function, argument]
    finished = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    lines = [line for line in finished.stdout.splitlines() if line.startswith(RESULT)]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(f"{function} failed in the package:\n{finished.stderr}{finished.stdout}")
    return json.loads(lines[-1].removeprefix(RESULT))


# ---------------------------------------------------------------- the child


class Session:
    """Calls the API function's handler as Lambda does, checking each status."""

    def __init__(self, handler: Any, authorize: Any) -> None:
        self.handler = handler
        self.authorize = authorize
        self.authorizer: dict[str, Any] | None = None

    def call(self, status: int, method: str, resource: str, path: str = "", **kw: Any) -> Any:
        if "json" in kw:
            kw["body"] = json.dumps(kw.pop("json"))
        event = events.proxy_event(method, resource, path or None, authorizer=self.authorizer, **kw)
        response = self.handler(event, events.LambdaContext())
        if response["statusCode"] != status:
            raise SystemExit(f"{method} {path or resource}: {response}")
        body = response.get("body") or ""
        is_json = response["headers"].get("Content-Type", "").startswith("application/json")
        return json.loads(body) if body and is_json else body

    def log_in(self, token: str) -> None:
        policy = self.authorize(events.token_event(token), events.LambdaContext())
        self.authorizer = {**policy["context"], "principalId": policy["principalId"]}


def api_session() -> dict[str, Any]:
    from app import app
    from chalicelib.auth import jwt_authorizer

    api = Session(app, jwt_authorizer)
    user = {
        "username": "ada",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone_number": "+12345678901",
        "email": "ada@example.com",
        "password": PASSWORD,
    }
    api.call(200, "GET", "/health")
    for resource in ("/openapi.json", "/docs", "/redoc", "/docs/assets/redoc.standalone.js"):
        api.call(200, "GET", resource)
    api.call(200, "POST", "/signup", json=user)
    api.call(422, "POST", "/signup", body="{not json")
    form = f"username=ada&password={PASSWORD.replace(' ', '+')}"
    token = api.call(200, "POST", "/login", body=form, content_type=_FORM)["access_token"]
    api.log_in(token)
    api.call(200, "GET", "/users/me")
    api.call(200, "PUT", "/users/me", json={"first_name": "Augusta"})
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    api.call(200, "PUT", "/users/me/password", json=change)
    login = {"username": "ada", "password": NEW_PASSWORD}
    token = api.call(200, "POST", "/login", json=login)["access_token"]
    movie = api.call(201, "POST", "/movies", json={"title": "Metropolis"})["id"]
    at = f"/movies/{movie}"
    api.call(200, "POST", "/movies/{movie_id}/ratings", f"{at}/ratings", json={"rating": 8})
    api.call(200, "GET", "/movies/{movie_id}/ratings/average", f"{at}/ratings/average")
    comment = {"comment_text": "Fritz Lang!"}
    parent = api.call(200, "POST", "/movies/{movie_id}/comments", f"{at}/comments", json=comment)
    reply = f"/comments/{parent['id']}/replies"
    api.call(200, "POST", "/comments/{parent_id}/replies", reply, json=comment)
    api.call(200, "GET", "/movies/{movie_id}", at)
    api.call(200, "GET", "/movies")
    api.call(204, "DELETE", "/movies/{movie_id}", at)
    return {"token": token, "movie_id": movie}


_FORM = "application/x-www-form-urlencoded"


def authorizer_check(token: str) -> dict[str, Any]:
    from chalicelib.auth import jwt_authorizer

    policy = jwt_authorizer(events.token_event(token), events.LambdaContext())
    if policy["principalId"] == "anonymous":
        raise SystemExit(f"the authorizer refused the token: {policy}")
    return {}


def stream_cleanup(movie_id: int) -> dict[str, Any]:
    from chalicelib.streams import on_table_change

    keys = {"pk": {"S": f"MOVIE#{movie_id}"}, "sk": {"S": "MOVIE"}}
    image = {**keys, "kind": {"S": "movie"}, "id": {"N": str(movie_id)}}
    on_table_change(events.removal_event(keys, image, TABLE), events.LambdaContext())
    return {}


def loaded_from(directory: Path) -> list[str]:
    """The top-level names of the loaded modules whose files are in ``directory``."""
    found = set()
    for name, module in list(sys.modules.items()):
        files = [getattr(module, "__file__", None), *(getattr(module, "__path__", None) or [])]
        if any(file and Path(file).resolve().is_relative_to(directory) for file in files):
            found.add(name.split(".", 1)[0])
    return sorted(found)


def child(directory: Path, function: str, argument: str) -> None:
    sys.path.insert(0, str(directory))
    if function == "api_handler":
        result = api_session()
    elif function == "jwt_authorizer":
        result = authorizer_check(argument)
    else:
        result = stream_cleanup(int(argument))
    sys.stdout.write(f"\n{RESULT}{json.dumps({'modules': loaded_from(directory), **result})}\n")


if __name__ == "__main__":
    child(Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
