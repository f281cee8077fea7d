#!/usr/bin/env python3
"""Embed a program's SQL files in C, at build time.

usage: embed_sql.py OUT.c OUT.h DEPFILE SQLDIR PREFIX

SQLDIR holds the migrations, NNN_name.sql (001, 002, ... with no gap), and
one folder per module (writer/, check/, ...) of the statements that module
runs: sink/sql/ for the sink's PostgreSQL (PREFIX sinksql), collector/sql/
for the collector's SQLite outbox (PREFIX outboxsql).  The output is one C
source and its header, PREFIX.h:

  PREFIX_migrations[]        every migration in order, with its file name,
                             its text and the SHA-256 of its text
  PREFIX_MIGRATIONS          (upper case) how many there are: the schema
                             version
  PREFIX_<dir>_<name>[]      the text of <dir>/<name>.sql

Each text is the file's bytes exactly, so what runs is what a reader runs
with psql -f, and a migration's checksum is that of its file (sha256sum).
The depfile names every file and folder read, so adding or editing a file
rebuilds the output without touching meson.build.
"""

import hashlib
import os
import re
import sys

MIGRATION = re.compile(r"^([0-9]{3})_([a-z0-9_]+)\.sql$")
NAME = re.compile(r"^[a-z0-9_]+$")


def fail(msg):
    sys.stderr.write("embed_sql.py: %s\n" % msg)
    sys.exit(1)


def c_literal(data):
    """data as C string literals, one per source line.  Non-ASCII bytes,
    control characters and '?' (trigraphs, which -std=c11 honours) are
    escaped in octal, so the compiled bytes are the file's bytes."""
    lines, cur = [], []
    for b in data:
        ch = chr(b)
        if ch == "\\":
            cur.append("\\\\")
        elif ch == '"':
            cur.append('\\"')
        elif ch == "\n":
            cur.append("\\n")
            lines.append("".join(cur))
            cur = []
        elif ch == "\t":
            cur.append("\\t")
        elif b < 0x20 or b >= 0x7F or ch == "?":
            cur.append("\\%03o" % b)
        else:
            cur.append(ch)
    if cur or not lines:
        lines.append("".join(cur))
    return "\n".join('    "%s"' % s for s in lines)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        fail("%s: holds a NUL byte" % path)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("%s: not UTF-8 (%s)" % (path, e))
    return data


def main():
    if len(sys.argv) != 6 or not NAME.match(sys.argv[5]):
        fail("usage: embed_sql.py OUT.c OUT.h DEPFILE SQLDIR PREFIX")
    out_c, out_h, depfile, sqldir, prefix = sys.argv[1:]
    # The folder as the source tree names it (sink/sql), for comments.
    label = "/".join(os.path.normpath(os.path.abspath(sqldir)).split(os.sep)[-2:])
    upper = prefix.upper()
    deps = [sqldir]
    migrations = []  # (version, file name, bytes)
    statements = []  # (symbol, relative path, bytes)

    for entry in sorted(os.listdir(sqldir)):
        path = os.path.join(sqldir, entry)
        if os.path.isdir(path):
            if not NAME.match(entry):
                fail("%s: folder names are [a-z0-9_]+" % path)
            deps.append(path)
            for name in sorted(os.listdir(path)):
                if not name.endswith(".sql"):
                    continue
                stem = name[: -len(".sql")]
                if not NAME.match(stem):
                    fail("%s/%s: statement file names are [a-z0-9_]+.sql" % (path, name))
                deps.append(os.path.join(path, name))
                statements.append(("%s_%s_%s" % (prefix, entry, stem), "%s/%s" % (entry, name),
                                   read(os.path.join(path, name))))
        elif entry.endswith(".sql"):
            m = MIGRATION.match(entry)
            if not m:
                fail("%s: a migration is named NNN_name.sql" % path)
            deps.append(path)
            migrations.append((int(m.group(1)), entry, read(path)))

    if not migrations:
        fail("%s: no migrations" % sqldir)
    for i, (version, name, _) in enumerate(migrations):
        if version != i + 1:
            fail("%s/%s: migration %d expected here (numbers start at 001, no gaps or repeats)"
                 % (sqldir, name, i + 1))

    h = []
    h.append("/*\n"
             " * %(p)s: the SQL of %(l)s/, generated at build time by\n"
             " * scripts/embed_sql.py.  Do not edit; edit the .sql files.\n"
             " *\n"
             " * Every text is its file's bytes, NUL-terminated, and static.\n"
             " */\n"
             "#ifndef EDUSTAT_%(u)s_H\n"
             "#define EDUSTAT_%(u)s_H\n\n"
             "struct %(p)s_migration {\n"
             "        int version;        /* NNN of the file name */\n"
             "        const char *name;   /* the file name, e.g. \"001_tables.sql\" */\n"
             "        const char *text;   /* the file's bytes */\n"
             "        const char *sha256; /* SHA-256 of text, 64 lower-case hex digits */\n"
             "};\n\n" % {"p": prefix, "u": upper, "l": label})
    h.append("/* The number of migrations, and so the schema version they make. */\n"
             "#define %s_MIGRATIONS %d\n\n" % (upper, len(migrations)))
    h.append("/* Migration i + 1 is %s_migrations[i]. */\n"
             "extern const struct %s_migration %s_migrations[%s_MIGRATIONS];\n"
             % (prefix, prefix, prefix, upper))
    for sym, rel, _ in statements:
        h.append("\n/* %s/%s */\nextern const char %s[];\n" % (label, rel, sym))
    h.append("\n#endif\n")

    c = ["/* Generated by scripts/embed_sql.py from %s/.  Do not edit. */\n"
         "#include \"%s.h\"\n" % (label, prefix)]
    for version, name, data in migrations:
        c.append("\nstatic const char migration_%03d[] =\n%s;\n" % (version, c_literal(data)))
    c.append("\nconst struct %s_migration %s_migrations[%s_MIGRATIONS] = {\n"
             % (prefix, prefix, upper))
    for version, name, data in migrations:
        c.append("    {%d, \"%s\", migration_%03d, \"%s\"},\n"
                 % (version, name, version, hashlib.sha256(data).hexdigest()))
    c.append("};\n")
    for sym, rel, data in statements:
        c.append("\n/* %s/%s */\nconst char %s[] =\n%s;\n" % (label, rel, sym, c_literal(data)))

    for path, text in ((out_c, "".join(c)), (out_h, "".join(h))):
        with open(path, "w") as f:
            f.write(text)
    with open(depfile, "w") as f:
        f.write("%s: %s\n" % (out_c.replace(" ", "\\ "),
                              " ".join(d.replace(" ", "\\ ") for d in deps)))


if __name__ == "__main__":
    main()
