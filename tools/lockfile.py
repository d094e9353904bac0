"""The version lock: the exact releases the whole suite last passed with.

`make test` installs the course's requirements under requirements-lock.txt (a pip
constraints file), so a fresh clone tests what was tested, whatever was released since.
`make test-latest` installs the newest releases instead, prints how they drift from
the lock (this script's ``drift``) and runs the suite; when it passes, `make lock`
writes the new lock (``write``).

    python -m tools.lockfile drift requirements-lock.txt   # lock vs this environment
    python -m tools.lockfile write requirements-lock.txt   # this environment -> lock
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
from pathlib import Path

HEADER = """\
# The releases `make test` installs (pip constraints: -c requirements-lock.txt), those
# the whole suite (ruff, unit tests, every notebook under nbval) last passed with, on
# Python {python} ({machine}). Written by `make lock` after `make test-latest` passed;
# do not edit by hand. Packages this platform does not need are ignored by pip.
"""
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, tuple[str, str]]:
    """{canonical name: (name, version)} of the ``name==version`` lines."""
    found = {}
    for line in lines:
        match = PIN.match(line.split("#")[0].strip())
        if match:
            found[canonical(match[1])] = (match[1], match[2])
    return found


def installed() -> dict[str, tuple[str, str]]:
    """The pins of this environment (``pip freeze``, editable installs left out)."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return pins(frozen.splitlines())


def drift(lock: Path) -> list[str]:
    """One line per installed package whose release differs from the lock's (locked
    packages this environment does not install are left out: pip ignores them too)."""
    locked, now = pins(lock.read_text().splitlines()), installed()
    return [
        f"{name}: {locked.get(key, (name, 'not locked'))[1]} -> {version}"
        for key, (name, version) in sorted(now.items())
        if locked.get(key, (name, None))[1] != version
    ]


def write(lock: Path) -> None:
    """Write this environment's releases as the lock."""
    header = HEADER.format(python=platform.python_version(), machine=platform.machine())
    body = [f"{name}=={version}" for name, version in sorted(installed().values())]
    lock.write_text(header + "\n".join(body) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["drift", "write"])
    parser.add_argument("lock", type=Path)
    args = parser.parse_args()
    if args.command == "write":
        write(args.lock)
        print(f"wrote {args.lock} ({len(installed())} releases)")
        return
    changes = drift(args.lock)
    print(
        f"{len(changes)} releases differ from {args.lock}:" if changes else "no drift"
    )
    print("\n".join(f"  {line}" for line in changes))


if __name__ == "__main__":
    main()
