#!/usr/bin/env python3
"""sqldoc.py: the SQL shown in the documentation runs, and prints what it shows.

    sqldoc.py check FILE...    run every query of FILE (```sql block) with
                               psql and compare its output with the ```text
                               block that follows it; exit 1 on a difference
    sqldoc.py update FILE...   rewrite each ```text block after a query with
                               what psql prints now (for a writer of the
                               docs, after checking the output by eye)

The format, for every query of docs/SQL.md and README.md:

    ```sql
    SELECT ...;
    ```

    ```text
     column | column
    --------+--------
     ...
    (N rows)
    ```

A ```sql block must be followed by its ```text block (blank lines between
them are allowed, nothing else).  psql runs without ~/.psqlrc, with
PGHOST, PGPORT, PGUSER and PGDATABASE from the environment.

Outputs are compared cell by cell (psql's column widths follow the longest
cell and are not compared).  Times differ from run to run: a cell that is a
timestamp (2026-12-04 10:12:01.5+08) matches any timestamp, and nothing
else; a time written inside a text the way the aggregator writes it in a
refusal ("is approved by NAME at 2026-12-04 10:12:01 +0800") matches any
such time.
"""

import re
import subprocess
import sys

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d(:\d\d)?$")
INLINE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}")
FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(lines):
    """[(lang, first_line_index, last_line_index)] of every fenced block."""
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if j == len(lines):
            raise ValueError("line %d: unterminated ``` block" % (i + 1))
        out.append((m.group(1), i, j))
        i = j + 1
    return out


def pairs(path, lines):
    """[(sql_block, text_block or None)], and the problems found."""
    bl, out, problems = blocks(lines), [], []
    for k, (lang, a, b) in enumerate(bl):
        if lang != "sql":
            continue
        nxt = bl[k + 1] if k + 1 < len(bl) else None
        between = lines[b + 1:nxt[1]] if nxt else lines[b + 1:]
        if nxt is None or nxt[0] != "text" or any(x.strip() for x in between):
            problems.append("%s:%d: the query has no ```text block right after it (its "
                            "output on the demo)" % (path, a + 1))
            out.append(((lang, a, b), None))
        else:
            out.append(((lang, a, b), nxt))
    return out, problems


def run(sql):
    p = subprocess.run(["psql", "-X", "-P", "pager=off", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                       input=sql, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       encoding="utf-8")
    return p.returncode, p.stdout, p.stderr


def cells(text):
    """The output as rows of cells: separators dropped, blanks trimmed,
    timestamps masked."""
    rows = []
    for line in text.split("\n"):
        if not line.strip() or re.match(r"^[-+]+$", line.strip()):
            continue
        row = []
        for c in line.split("|"):
            c = c.strip()
            row.append("<timestamp>" if TIMESTAMP.match(c) else INLINE_TIME.sub("<time>", c))
        rows.append(row)
    return rows


def main(argv):
    if len(argv) < 2 or argv[0] not in ("check", "update"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, fails, nq = argv[0], 0, 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        found, problems = pairs(path, lines)
        if mode == "update":
            problems = []  # the missing ```text blocks are what update adds
        edits = []
        for (sql_b, text_b) in found:
            nq += 1
            sql = "\n".join(lines[sql_b[1] + 1:sql_b[2]]) + "\n"
            rc, out, err = run(sql)
            where = "%s:%d" % (path, sql_b[1] + 1)
            if rc != 0:
                problems.append("%s: the query fails: %s" % (where, err.strip()))
                continue
            got = [x.rstrip() for x in out.rstrip("\n").split("\n")]
            if mode == "update":
                if text_b is None:
                    edits.append((sql_b[2] + 1, sql_b[2] + 1, ["", "```text"] + got + ["```"]))
                else:
                    edits.append((text_b[1] + 1, text_b[2], got))
                continue
            if text_b is None:
                continue
            shown = "\n".join(lines[text_b[1] + 1:text_b[2]])
            if cells(shown) != cells("\n".join(got)):
                problems.append("%s: the output differs from the ```text block at line %d; "
                                "psql prints:\n%s" % (where, text_b[1] + 1, "\n".join(got)))
        if mode == "update":
            for a, b, new in sorted(edits, reverse=True):
                lines[a:b] = new
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines))
        for p in problems:
            print("FAIL: " + p)
        fails += len(problems)
    if fails:
        print("sqldoc: %d problem(s) in %d queries" % (fails, nq))
        return 1
    print("sqldoc: %d queries run, every output as documented" % nq)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
