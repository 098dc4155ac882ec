"""Build the Relais image where no image registry is reachable (this machine,
CI), from the same Dockerfile as everyone else.

The Dockerfile's bases are build arguments: ``PYTHON_IMAGE`` (``python:3.11-slim``
by default) and ``WEB_ASSETS`` (by default the stage that runs ``npm ci`` in
``node:20-slim``). Here they are images made on this machine:

- a Python base: Debian bookworm from the Debian mirror apt uses (``debootstrap``,
  then ``docker import``) with Python, pip, tini and WeasyPrint's libraries, plus
  a wheelhouse of the project's dependencies downloaded on the host by pip, which
  pip inside the build installs from (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``);
- the web pages' browser files, as ``scripts/lib.sh`` (``ensure_web_assets``)
  built them from the npm registry, imported as an image of files only.

Each piece is kept between runs in ``CACHE`` (outside the repository), keyed by a
hash of what it is made from, so a second run builds only what changed.
Docker's own BuildKit (Debian's ``docker.io`` CLI) builds the image: it skips
the unused ``npm ci`` stage, which the classic builder would try to pull.

    python -m devtools.offline_image      # prints the image's tag
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("RELAIS_IMAGE_CACHE", "/var/cache/relais-image"))
DOCKER = "/usr/bin/docker"   # Debian's docker.io: BuildKit without the buildx plugin
SUITE = "bookworm"           # python:3.11-slim's Debian, with its Python 3.11
# What python:3.11-slim has and the Dockerfile relies on (python, pip).
PYTHON_PACKAGES = ("python3", "python3-pip", "python-is-python3")
DEBIAN_PYTHON = "/usr/bin/python3"   # bookworm's python3 with python3-pip (scripts/lib.sh)
WEB_VENDOR = ROOT / "web" / "static" / "vendor"


def docker(*args, **kwargs):
    return subprocess.run([DOCKER, *args], check=True, **kwargs)


def has_image(tag):
    return subprocess.run([DOCKER, "image", "inspect", tag], capture_output=True).returncode == 0


def digest(*parts):
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def apt_mirror():
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    sources = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
    for path in sources:
        if path.exists():
            for uri in re.findall(r"(?:^URIs:\s*|^deb\s+(?:\[[^]]*\]\s+)?)(\S+)",
                                  path.read_text(), re.MULTILINE):
                if uri.rstrip("/").endswith("/debian"):
                    return uri
    return "http://deb.debian.org/debian"


def dockerfile_packages():
    """The Debian packages the Dockerfile's apt-get step installs when missing:
    the base has them already, so the build needs no Debian mirror."""
    (packages,) = re.findall(r'^RUN packages="([^"]+)"', (ROOT / "Dockerfile").read_text(),
                             re.MULTILINE)
    return tuple(packages.split())


def log(message):
    print(f"offline image: {message}", file=sys.stderr, flush=True)


# -- the Debian base ------------------------------------------------------------

def debian_base():
    """``relais-debian:<hash>``: debootstrap's bookworm with Python and the
    Dockerfile's packages."""
    mirror, packages = apt_mirror(), PYTHON_PACKAGES + dockerfile_packages()
    tag = f"relais-debian:{digest(SUITE, mirror, *packages)}"
    if has_image(tag):
        return tag
    tarball = CACHE / f"{tag.replace(':', '-')}.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            rootfs = Path(work) / "rootfs"
            log(f"debootstrap {SUITE} from {mirror} (a few minutes, once)")
            subprocess.run(["debootstrap", "--variant=minbase",
                            "--include=" + ",".join(packages), SUITE, str(rootfs), mirror],
                           check=True, stdout=subprocess.DEVNULL)
            # The image's Python is the application's own (as in python:3.11-slim):
            # pip may install into it.
            for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
                marker.unlink()
            shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
            (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True)
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."],
                           check=True)
            partial.rename(tarball)
    log(f"docker import {tarball.name}")
    docker("import", "--change", "ENV LANG=C.UTF-8", "--change", 'CMD ["python3"]',
           str(tarball), tag, stdout=subprocess.DEVNULL)
    return tag


# -- the wheelhouse -------------------------------------------------------------

def requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return project["project"]["dependencies"] + project["build-system"]["requires"] + ["wheel"]


def wheelhouse():
    """A folder of wheels for every dependency (and the build backend), made
    by the host's Debian Python: the image's own Python, so that pip resolves
    the same environment markers (redis wants async-timeout below 3.11.3)."""
    wanted = requirements()
    python = subprocess.run([DEBIAN_PYTHON, "--version"], check=True, capture_output=True,
                            text=True).stdout.strip()
    folder = CACHE / f"wheels-{digest(python, *wanted)}"
    if not folder.exists():
        partial = folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        log(f"pip wheel: {len(wanted)} requirements into {folder.name}")
        subprocess.run([DEBIAN_PYTHON, "-m", "pip", "wheel", "--quiet", "--wheel-dir",
                        str(partial), *wanted], check=True)
        partial.rename(folder)
    return folder


def python_base():
    """``relais-python:<hash>``: the Debian base with the wheelhouse, where pip
    installs from the wheels only."""
    base, wheels = debian_base(), wheelhouse()
    tag = f"relais-python:{digest(base, wheels.name)}"
    if has_image(tag):
        return tag
    with tempfile.TemporaryDirectory() as context:
        shutil.copytree(wheels, Path(context) / "wheels")
        (Path(context) / "Dockerfile").write_text(
            f"FROM {base}\nCOPY wheels /wheels\n"
            "ENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels PIP_DISABLE_PIP_VERSION_CHECK=1\n")
        log(f"building {tag}")
        docker("build", "--quiet", "-t", tag, context, stdout=subprocess.DEVNULL,
               env=dict(os.environ, DOCKER_BUILDKIT="1"))
    return tag


# -- the web pages' files -------------------------------------------------------

def web_assets():
    """``relais-web-assets:<hash>``: /vendor as ``ensure_web_assets`` built it
    from web/package-lock.json (what the Dockerfile's npm stage makes)."""
    lock = (ROOT / "web" / "package-lock.json").read_text()
    tag = f"relais-web-assets:{digest(lock)}"
    if has_image(tag):
        return tag
    if not (WEB_VENDOR / "leaflet" / "leaflet.js").exists():
        raise RuntimeError("web/static/vendor is missing: run scripts/test or scripts/run "
                           "(ensure_web_assets builds it)")
    with tempfile.NamedTemporaryFile(suffix=".tar") as archive:
        with tarfile.open(archive.name, "w") as tar:
            tar.add(WEB_VENDOR, arcname="vendor")
        docker("import", archive.name, tag, stdout=subprocess.DEVNULL)
    return tag


# -- the image ------------------------------------------------------------------

def build(tag="relais:offline"):
    """The project's image from its Dockerfile, on the bases above."""
    python_image, assets = python_base(), web_assets()
    log(f"docker build {tag} (PYTHON_IMAGE={python_image}, WEB_ASSETS={assets})")
    docker("build", "--network", "none", "--build-arg", f"PYTHON_IMAGE={python_image}",
           "--build-arg", f"WEB_ASSETS={assets}", "-t", tag, str(ROOT),
           env=dict(os.environ, DOCKER_BUILDKIT="1", BUILDKIT_PROGRESS="plain"),
           stdout=subprocess.DEVNULL)
    return tag


if __name__ == "__main__":
    print(build())
