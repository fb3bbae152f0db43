#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Re-keys mutant lines (equivalent.txt, survivors.txt) from one version of
the sources to another: "path:line:col: ..." lines get the line the same
source line has in the other version (difflib over the file's lines). A
line whose source line changed or went is printed with "# gone: " before it.

    tests/mutants/rekey.py FROM TO < in > out

FROM and TO are git revisions, or "." for the working tree.
"""
import difflib
import re
import subprocess
import sys

cache = {}


def lines_of(rev, path):
    key = (rev, path)
    if key not in cache:
        if rev == ".":
            with open(path) as f:
                text = f.read()
        else:
            text = subprocess.run(["git", "show", f"{rev}:{path}"], check=True,
                                  stdout=subprocess.PIPE, text=True).stdout
        cache[key] = text.splitlines()
    return cache[key]


maps = {}


def line_map(src, dst, path):
    key = (src, dst, path)
    if key not in maps:
        a, b = lines_of(src, path), lines_of(dst, path)
        m = {}
        for tag, i1, i2, j1, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                for k in range(i2 - i1):
                    m[i1 + k + 1] = j1 + k + 1
        maps[key] = m
    return maps[key]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        m = re.match(r"(\S+?):(\d+):(\d+):(.*)", line.rstrip("\n"))
        if not m:
            sys.stdout.write(line)
            continue
        path, ln, col, rest = m.group(1), int(m.group(2)), m.group(3), m.group(4)
        new = line_map(src, dst, path).get(ln)
        if new is None:
            print(f"# gone: {line.rstrip()}")
        else:
            print(f"{path}:{new}:{col}:{rest}")


if __name__ == "__main__":
    main()
