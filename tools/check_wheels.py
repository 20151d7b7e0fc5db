#!/usr/bin/env python3
"""Does the course install on machines we cannot run here? Ask the package index.

For every supported (Python, platform) pair, pip resolves the learner's
requirements (``requirements.txt``) as if it ran on that machine, accepting
wheels only (``--only-binary=:all:``): a requirement that has no wheel there
would need a compiler on the learner's laptop, and the pair fails. pip
evaluates environment markers against the machine it runs on, not the target,
so this script evaluates them itself: first the markers in requirements.txt,
then, for every package pip resolved, the markers of its own dependencies
(``pywinpty`` is needed on Windows only, ``appnope`` on macOS only), and checks
that each such extra dependency has a wheel too.

    python tools/check_wheels.py                 # the table, every pair
    python tools/check_wheels.py --pair 3.13-windows-amd64
    python tools/check_wheels.py download --pair 3.12-windows-amd64 --dest wheelhouse
                                                 # what a teacher copies to USB sticks

Exit code 0 when every pair installs from wheels, 1 when one does not, 3 when
the index cannot be reached (a test then skips, saying so).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # a bare Python: pip carries its own copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
PYTHONS = ("3.11", "3.12", "3.13")


@dataclass(frozen=True)
class Platform:
    name: str
    tags: tuple[str, ...]          # pip --platform values, most specific first
    env: dict[str, str] = field(hash=False, compare=False)


def _manylinux(arch: str) -> tuple[str, ...]:
    return tuple(f"manylinux_2_{minor}_{arch}" for minor in range(34, 16, -1)) + (
        f"manylinux2014_{arch}",)


def _macos(arch: str, first: int) -> tuple[str, ...]:
    versions = [f"{major}_0" for major in range(15, 10, -1)]
    if first == 10:
        versions += [f"10_{minor}" for minor in range(15, 8, -1)]
    return tuple(f"macosx_{v}_{a}" for v in versions for a in (arch, "universal2"))


def _env(system: str, machine: str) -> dict[str, str]:
    return {
        "Linux": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"},
        "Darwin": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"},
        "Windows": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"},
    }[system] | {"platform_machine": machine}


PLATFORMS = (
    Platform("linux-x86_64", _manylinux("x86_64"), _env("Linux", "x86_64")),
    Platform("linux-aarch64", _manylinux("aarch64"), _env("Linux", "aarch64")),
    Platform("macos-x86_64", _macos("x86_64", 10), _env("Darwin", "x86_64")),
    Platform("macos-arm64", _macos("arm64", 11), _env("Darwin", "arm64")),
    Platform("windows-amd64", ("win_amd64",), _env("Windows", "AMD64")),
)


def marker_env(python: str, platform: Platform, extra: str = "") -> dict[str, str]:
    return {
        **platform.env, "python_version": python, "python_full_version": f"{python}.0",
        "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "platform_release": "", "platform_version": "", "implementation_version": f"{python}.0",
        "extra": extra,
    }


def learner_requirements(python: str, platform: Platform) -> list[Requirement]:
    """requirements.txt after its markers, for that machine (the local project itself left out:
    it is pure Python)."""
    wanted = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(marker_env(python, platform)):
            requirement.marker = None
            wanted.append(requirement)
    return wanted


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_CONSTRAINT": ""}
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          env=env)


def _target_args(python: str, platform: Platform) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for tag in platform.tags:
        args += ["--platform", tag]
    return args


@dataclass
class Result:
    python: str
    platform: str
    packages: int = 0
    missing: list[str] = field(default_factory=list)   # no wheel for these
    unreachable: bool = False
    detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unreachable


_NO_WHEEL = re.compile(r"(?:No matching distribution found for|from versions: none\)[^\n]*for) ?([A-Za-z0-9_.\-\[\]]+)")


def _failure(result: Result, output: str) -> Result:
    if re.search(r"(Max retries exceeded|NewConnectionError|Temporary failure in name resolution|"
                 r"Network is unreachable)", output):
        result.unreachable = True
    names = _NO_WHEEL.findall(output) or ["(see pip's message)"]
    result.missing.extend(sorted(set(names)))
    result.detail = output.strip().splitlines()[-1] if output.strip() else ""
    return result


def check_pair(python: str, platform: Platform, download_to: Path | None = None) -> Result:
    """Resolve the learner requirements for one machine, wheels only. With
    ``download_to``, the platform-only dependencies found are downloaded there too."""
    result = Result(python, platform.name)
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text("\n".join(str(r) for r in learner_requirements(python, platform)) + "\n")
        report = Path(tmp) / "report.json"
        done = _pip("install", "--dry-run", "--ignore-installed", "--quiet", "--target",
                    str(Path(tmp) / "t"), "--report", str(report), *_target_args(python, platform),
                    "-r", str(reqs))
        if done.returncode != 0:
            return _failure(result, done.stdout + done.stderr)
        items = json.loads(report.read_text())["install"]
        resolved = {canonicalize_name(i["metadata"]["name"]) for i in items}
        result.packages = len(resolved)
        # dependencies whose markers pip judged for this machine, not the target
        extra: set[str] = set()
        for item in items:
            extras = item.get("requested_extras") or []
            for spec in item["metadata"].get("requires_dist") or []:
                requirement = Requirement(spec)
                name = canonicalize_name(requirement.name)
                if name in resolved or requirement.marker is None:
                    continue
                if any(requirement.marker.evaluate(marker_env(python, platform, e)) for e in extras or [""]):
                    extra.add(str(requirement.name) + str(requirement.specifier))
        for spec in sorted(extra):
            got = _pip("download", "--no-deps", "--quiet", "-d", str(download_to or Path(tmp) / "d"),
                       *_target_args(python, platform), spec)
            if got.returncode != 0:
                _failure(result, got.stdout + got.stderr)
            else:
                result.packages += 1
    return result


def download(python: str, platform: Platform, dest: Path) -> int:
    """Fill ``dest`` with every wheel the learner environment needs on that machine
    (plus setuptools, to install the course itself with no index)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        specs = [str(r) for r in learner_requirements(python, platform)] + ["setuptools>=68", "wheel"]
        reqs.write_text("\n".join(specs) + "\n")
        code = subprocess.call([sys.executable, "-m", "pip", "download", "-d", str(dest),
                                *_target_args(python, platform), "-r", str(reqs)])
        if code != 0:
            return code
    # the platform-only dependencies pip could not see from here (pywinpty on Windows...)
    result = check_pair(python, platform, download_to=dest)
    if not result.ok:
        print(f"missing for {python}-{platform.name}: {', '.join(result.missing)}", file=sys.stderr)
    return 0 if result.ok else 1


def pairs(selected: list[str]) -> list[tuple[str, Platform]]:
    every = [(py, plat) for py in PYTHONS for plat in PLATFORMS]
    if not selected:
        return every
    chosen = [(py, plat) for py, plat in every if f"{py}-{plat.name}" in selected]
    unknown = set(selected) - {f"{py}-{plat.name}" for py, plat in every}
    if unknown:
        raise SystemExit(f"unknown pair(s): {', '.join(sorted(unknown))}; pairs look like "
                         f"3.12-windows-amd64 ({', '.join(p.name for p in PLATFORMS)})")
    return chosen


def table(results: list[Result]) -> str:
    names = [p.name for p in PLATFORMS]
    by = {(r.python, r.platform): r for r in results}
    lines = ["| Python | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for python in PYTHONS:
        cells = []
        for name in names:
            r = by.get((python, name))
            cells.append("" if r is None else "wheels only" if r.ok else
                         "index unreachable" if r.unreachable else "needs: " + ", ".join(r.missing))
        lines.append(f"| {python} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Check (or download) the course's wheels per platform.")
    parser.add_argument("action", nargs="?", choices=("check", "download"), default="check")
    parser.add_argument("--pair", action="append", default=[], help="e.g. 3.12-windows-amd64 (repeatable)")
    parser.add_argument("--dest", type=Path, default=ROOT / "wheelhouse")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    chosen = pairs(args.pair)
    if args.action == "download":
        return max(download(py, plat, args.dest) for py, plat in chosen)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda pair: check_pair(*pair), chosen))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"ok": r.ok} for r in results], indent=1))
    if any(r.unreachable for r in results):
        return 3
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
