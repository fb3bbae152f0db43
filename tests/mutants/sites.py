# SPDX-License-Identifier: Apache-2.0
"""Mutation sites of a C file, for tests/mutants/mutate.py.

A site is one single change to the source text: a relational operator
flipped (< <=, > >=, == !=), && and || swapped, binary + and - swapped
(and += -=), an integer constant plus or minus one, a simple statement
deleted (an expression statement, `return;` or `continue;`), or the value
of a `return` in a function returning bool negated.

Comments, string and character literals, preprocessor lines and assertions
(SE_ASSERT, _Static_assert, assert) are left alone.
"""

import re
from dataclasses import dataclass

ASSERTS = re.compile(r"\b(SE_ASSERT\w*|_Static_assert|static_assert|assert)\s*\(")
KEYWORDS = {
    "if", "else", "for", "while", "do", "switch", "case", "default", "break",
    "goto", "struct", "union", "enum", "typedef", "static", "const", "volatile",
    "extern", "register", "inline", "sizeof", "return", "continue",
}


@dataclass
class Mutant:
    path: str
    line: int  # 1-based, where the change starts
    col: int  # 1-based
    start: int  # offsets in the file's text
    end: int
    new: str
    kind: str
    old: str

    def describe(self):
        old = " ".join(self.old.split())
        new = " ".join(self.new.split())
        return f"{self.path}:{self.line}:{self.col}: {self.kind}: `{old}` -> `{new}`"

    def apply(self, text):
        return text[: self.start] + self.new + text[self.end :]


def blank_out(text):
    """The text with comments, literals and preprocessor lines made spaces
    (newlines kept), so that offsets stay those of the original."""
    out = list(text)
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#" or (line_start and c in " \t" and _pp_ahead(text, i)):
            j = i
            while j < n and not (text[j] == "\n" and text[j - 1] != "\\"):
                j += 1
            _blank(out, i, j)
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            _blank(out, i, j)
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            _blank(out, i, j)
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            _blank(out, i, j + 1)
            i = j + 1
            line_start = False
            continue
        line_start = c == "\n" or (line_start and c in " \t")
        i += 1
    return "".join(out)


def _pp_ahead(text, i):
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    return j < len(text) and text[j] == "#"


def _blank(out, i, j):
    for k in range(i, min(j, len(out))):
        if out[k] != "\n":
            out[k] = " "


def _close_paren(code, i):
    """Offset just past the parenthesis that closes the one at i."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] == "(":
            depth += 1
        elif code[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(code)


def assertion_ranges(code):
    ranges = []
    for m in ASSERTS.finditer(code):
        ranges.append((m.start(), _close_paren(code, m.end() - 1)))
    return ranges


def _statement_starts(code):
    """(offset, brace depth) of every place a statement may start."""
    starts = []
    depth = paren = 0
    header_close = set()  # offsets just past an if/for/while header
    for m in re.finditer(r"\b(if|for|while|switch)\s*\(", code):
        header_close.add(_close_paren(code, m.end() - 1))
    for m in re.finditer(r"\belse\b|\bdo\b", code):
        header_close.add(m.end())
    for m in re.finditer(r"\b(case\b[^;:?]*|default\s*):(?!:)", code):
        header_close.add(m.end())
    for i, c in enumerate(code):
        if c == "(":
            paren += 1
        elif c == ")":
            paren -= 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if paren == 0 and (c in ";{}" or (i + 1) in header_close):
            j = i + 1
            while j < len(code) and code[j] in " \t\n":
                j += 1
            starts.append((j, depth))
    return starts


def _statement_end(code, i):
    paren = brace = 0
    for j in range(i, len(code)):
        c = code[j]
        if c in "({[":
            paren += 1
        elif c in ")}]":
            paren -= 1
            if paren < 0:
                return -1
        elif c == ";" and paren == 0:
            return j + 1
    return -1


def _simple_statement(stmt):
    """True for statements whose deletion is a mutant worth building."""
    s = " ".join(stmt.split())
    if s in ("return;", "continue;"):
        return True
    m = re.match(r"[A-Za-z_]\w*", s)
    if m is None:
        return s.startswith(("*", "(", "++", "--"))
    word = m.group(0)
    if word in KEYWORDS or word in ("break", "goto"):
        return False
    # a declaration: a type name then a name ("int x", "struct se_x *p", "size_t n")
    if re.match(r"[A-Za-z_]\w*\s+\**\s*[A-Za-z_]", s) or re.match(r"[A-Za-z_]\w*\s*\*+\s*[A-Za-z_]\w*\s*[=;,\[]", s):
        return False
    return True


def _bool_functions(code):
    """(body start, body end) of each function definition returning bool."""
    out = []
    depth = 0
    last_top = 0  # where the current top-level text began
    for i, c in enumerate(code):
        if c == "{":
            if depth == 0:
                header = code[last_top:i]
                if re.search(r"\bbool\s+[A-Za-z_]\w*\s*\(", header) and header.rstrip().endswith(")"):
                    out.append([i, None])
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if out and out[-1][1] is None:
                    out[-1][1] = i
                last_top = i + 1
        elif c == ";" and depth == 0:
            last_top = i + 1
    return [(a, b) for a, b in out if b is not None]


def find(path, text):
    code = blank_out(text)
    skip = assertion_ranges(code)
    line_of = _line_index(text)
    found = []

    def skipped(a, b):
        return any(s < b and a < e for s, e in skip)

    def add(a, b, new, kind):
        if skipped(a, b):
            return
        line = line_of(a)
        col = a - text.rfind("\n", 0, a)
        found.append(Mutant(path, line, col, a, b, new, kind, text[a:b]))

    in_function = _function_bodies(code)

    for m in re.finditer(r"&&|\|\|", code):
        add(m.start(), m.end(), "||" if m.group(0) == "&&" else "&&", "logical")
    rel = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
    for m in re.finditer(r"(?<![<>=!\-])(<=|>=|==|!=|<|>)(?![<>=])", code):
        if not in_function(m.start()):
            continue
        add(m.start(), m.end(), rel[m.group(0)], "relational")
    for m in re.finditer(r"(?<![+\-])([+\-])(=?)(?![+\->=])", code):
        op, eq = m.group(1), m.group(2)
        prev = code[: m.start()].rstrip()[-1:]
        if not in_function(m.start()):
            continue
        if eq or (prev and (prev.isalnum() or prev in "_)]")):
            add(m.start(), m.end(), ("-" if op == "+" else "+") + eq, "arithmetic")
    for m in re.finditer(r"(?<![\w.])(0[xX][0-9a-fA-F]+|\d+)([uUlL]*)(?![\w.])", code):
        if not in_function(m.start()):
            continue
        v = int(m.group(1), 0)
        suffix = m.group(2)
        for nv in (v + 1, v - 1):
            if nv >= 0:
                add(m.start(), m.end(), f"{nv}{suffix}", "constant")
    for start, depth in _statement_starts(code):
        if depth < 1 or not in_function(start):
            continue
        end = _statement_end(code, start)
        if end < 0 or not _simple_statement(code[start:end]):
            continue
        add(start, end, "{}", "delete")
    for body_start, body_end in _bool_functions(code):
        for m in re.finditer(r"\breturn\b([^;]+);", code[body_start:body_end]):
            a = body_start + m.start(1)
            b = body_start + m.end(1)
            expr = text[a:b].strip()
            add(a, b, f" !({expr})", "negate-return")
    found.sort(key=lambda mu: (mu.start, mu.kind, mu.new))
    return found


def _function_bodies(code):
    """A predicate: is the offset inside the body of a function?"""
    bodies = []
    depth = 0
    last_top = 0
    open_at = None
    for i, c in enumerate(code):
        if c == "{":
            if depth == 0:
                header = code[last_top:i].rstrip()
                open_at = i if header.endswith(")") else None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                if open_at is not None:
                    bodies.append((open_at, i))
                last_top = i + 1
        elif c == ";" and depth == 0:
            last_top = i + 1

    def inside(off):
        return any(a < off < b for a, b in bodies)

    return inside


def _line_index(text):
    starts = [0]
    for i, c in enumerate(text):
        if c == "\n":
            starts.append(i + 1)
    import bisect

    def line_of(off):
        return bisect.bisect_right(starts, off)

    return line_of
