#!/usr/bin/env python3
"""Checks every #include "..." against the layering of DESIGN.md.

A file in folder F may include headers only from the folders F is allowed to use. CMake
cannot see this (a header include needs no link), so CI runs this script as a test.
"""
import pathlib
import re
import sys

# folder -> folders whose headers it may include (besides its own). `burnrate` is
# include/burnrate, the public API.
ALLOWED = {
    "base": {"burnrate"},
    "burnrate": {"burnrate"},
    "storage": {"burnrate", "base"},
    "engine": {"burnrate", "base", "storage"},
    "query": {"burnrate", "base", "engine"},
    "ingest": {"burnrate", "base", "engine"},
    "server": {"burnrate", "base", "engine", "query", "ingest"},
    # tools and bench use the public API; tools may also use ingest (parsers) and the client.
    "tools": {"burnrate", "base", "ingest", "query", "tools"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]([^">]+)[">]')


def layer_of_header(path):
    first = path.split("/", 1)[0]
    if first == "burnrate":
        return "burnrate"
    if first in ALLOWED or first in ("tests", "bench"):
        return first
    return None  # a system or third-party header


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    errors = []
    checked = 0
    for layer in ALLOWED:
        folder = root / ("include/burnrate" if layer == "burnrate" else layer)
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            if f.suffix not in (".h", ".cc"):
                continue
            checked += 1
            for lineno, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = layer_of_header(m.group(1))
                if target is None or target == layer:
                    continue
                if target not in ALLOWED[layer]:
                    errors.append(f"{f.relative_to(root)}:{lineno}: {layer}/ may not include "
                                  f"{m.group(1)} ({target}/)")
    for e in errors:
        print(e)
    print(f"layering: {checked} files checked, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
