"""Swagger UI's and ReDoc's files for ``/docs`` and ``/redoc``, from their npm packages.

``python -m devtools.docs_assets`` (``make install`` runs it) puts the three
files the pages load, and the licence texts that come with them, into
``chalicelib/docs_assets/`` (not in git), where ``chalicelib/routes/docs.py``
serves them from and ``chalice package`` ships them with the code.

Each package is pinned by version and by the registry's sha512 integrity of
its tarball: ``npm pack`` fetches the tarball (from npm's cache when it has
it), this module checks the digest and extracts only the named files. No
``node_modules``, no JavaScript dependency tree, nothing else in the Lambda
package: the bundles are self-contained builds. Running it again with the
files in place and the pins unchanged does nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
ASSET_DIR = PROJECT_DIR / "chalicelib" / "docs_assets"
MANIFEST = "versions.json"
LICENCE_DIR = "licenses"


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str
    """The tarball's ``dist.integrity`` (``npm view NAME@VERSION dist.integrity``)."""
    files: tuple[str, ...]
    """Paths in the tarball (under ``package/``) of the files the pages load."""
    licences: tuple[str, ...]
    """Licence texts: the package's own, and the bundled third-party notices."""

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


PACKAGES = (
    NpmPackage(
        name="swagger-ui-dist",
        version="5.35.0",
        integrity=(
            "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
        ),
        files=("swagger-ui-bundle.js", "swagger-ui.css"),
        licences=("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"),
    ),
    NpmPackage(
        name="redoc",
        version="2.5.4",
        integrity=(
            "sha512-M6jWhG1qoBnH6TFmzJnstyCZ87HmOY/UzDm78mHiYihEdlV/YcS9ogOo1NlElnJMeLsyxHFe2yFc4sNjHTrABQ=="
        ),
        files=("bundles/redoc.standalone.js",),
        licences=("LICENSE", "bundles/redoc.standalone.js.LICENSE.txt"),
    ),
)


class AssetError(RuntimeError):
    """A tarball that could not be fetched, or is not the pinned one."""


def manifest() -> dict[str, str]:
    return {package.name: package.version for package in PACKAGES}


def up_to_date(directory: Path = ASSET_DIR) -> bool:
    path = directory / MANIFEST
    if not path.exists() or json.loads(path.read_text()) != manifest():
        return False
    return all((directory / Path(file).name).exists() for p in PACKAGES for file in p.files)


def integrity_of(tarball: Path) -> str:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def fetch(package: NpmPackage, directory: Path) -> Path:
    """The package's tarball, through ``npm pack``, checked against its pinned integrity."""
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is needed to fetch Swagger UI and ReDoc (apt-get install npm)")
    command = [npm, "pack", package.spec, "--prefer-offline", "--json", "--pack-destination"]
    finished = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise AssetError(f"npm pack {package.spec} failed:\n{finished.stderr}")
    [packed] = json.loads(finished.stdout)
    tarball = directory / str(packed["filename"])
    found = integrity_of(tarball)
    if found != package.integrity:
        raise AssetError(f"{package.spec}: tarball integrity {found}, pinned {package.integrity}")
    return tarball


def extract(package: NpmPackage, tarball: Path, directory: Path) -> None:
    """The package's files into ``directory``, its licences into ``licenses/<name>/``."""
    licences = directory / LICENCE_DIR / package.name
    licences.mkdir(parents=True, exist_ok=True)
    wanted = {f"package/{file}": directory / Path(file).name for file in package.files}
    wanted |= {f"package/{file}": licences / Path(file).name for file in package.licences}
    with tarfile.open(tarball, "r:gz") as archive:
        for member, target in wanted.items():
            source = archive.extractfile(member)
            if source is None:
                raise AssetError(f"{package.spec} has no file {member}")
            target.write_bytes(source.read())


def install(directory: Path = ASSET_DIR) -> bool:
    """Fetch and extract every package unless already in place; say whether it did."""
    if up_to_date(directory):
        return False
    staging = directory.with_name(directory.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as downloads:
        for package in PACKAGES:
            extract(package, fetch(package, Path(downloads)), staging)
    (staging / MANIFEST).write_text(json.dumps(manifest(), indent=2) + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    return True


def main() -> int:
    changed = install()
    state = "installed" if changed else "already in place"
    print(f"docs assets {state}: {ASSET_DIR.relative_to(PROJECT_DIR)} {manifest()}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
