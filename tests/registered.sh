#!/usr/bin/env bash
#
# registered.sh BUILD_ROOT SOURCE_ROOT: every unit test file
# (tests/unit/test_*.c) is compiled into an executable that `meson test`
# runs, i.e. it is registered in tests/meson.build.  A test file that exists
# but is not registered never runs, and its module goes untested unnoticed.
#
# The build's own introspection (BUILD_ROOT/meson-info) says which
# executables each test runs (its command or one of its arguments, as the
# db tests run theirs through with_pg.sh) and which sources each executable
# is built from.

if [ $# -ne 2 ]; then
        echo "usage: $0 BUILD_ROOT SOURCE_ROOT" >&2
        exit 2
fi
BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2

exec python3 - "$BUILD" "$SRC" <<'EOF'
import glob
import json
import os
import sys

build, src = sys.argv[1], sys.argv[2]
info = os.path.join(build, "meson-info")
try:
    with open(os.path.join(info, "intro-tests.json")) as f:
        tests = json.load(f)
    with open(os.path.join(info, "intro-targets.json")) as f:
        targets = json.load(f)
except (OSError, ValueError) as e:
    print("registered: cannot read the build's introspection: %s" % e)
    sys.exit(2)


def real(p, base):
    return os.path.realpath(p if os.path.isabs(p) else os.path.join(base, p))


# Every file a test runs or is handed: its command and its arguments.
run = {}
for t in tests:
    for word in t.get("cmd", []):
        for base in (build, t.get("workdir") or build):
            run.setdefault(real(word, base), set()).add(t["name"])

# source file -> the tests that run an executable built from it
ran_by = {}
for tg in targets:
    if tg.get("type") != "executable":
        continue
    names = set()
    for fn in tg.get("filename", []):
        names |= run.get(os.path.realpath(fn), set())
    for ts in tg.get("target_sources", []):
        for s in ts.get("sources", []):
            ran_by.setdefault(os.path.realpath(s), set()).update(names)

files = sorted(glob.glob(os.path.join(src, "tests", "unit", "test_*.c")))
if not files:
    print("registered: no tests/unit/test_*.c under %s" % src)
    sys.exit(1)
bad = 0
for f in files:
    names = ran_by.get(os.path.realpath(f), set())
    rel = os.path.relpath(f, src)
    if names:
        print("registered: %s runs in test %s" % (rel, ", ".join(sorted(names))))
    else:
        print("FAIL: %s is not registered in tests/meson.build (no test runs it)" % rel)
        bad += 1
print("registered: %d unit test files, %d not registered" % (len(files), bad))
sys.exit(1 if bad else 0)
EOF
