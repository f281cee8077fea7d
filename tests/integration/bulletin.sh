#!/usr/bin/env bash
#
# bulletin.sh BUILD_ROOT SOURCE_ROOT: the 统计公报 of the demo city, in its
# four formats, against an independent recomputation, and rendered by a
# real browser.
#
# A throwaway PostgreSQL (tests/lib/stack.sh) gets the demo's round
# (scripts/demo.sh with the programs of BUILD_ROOT, stopping after its
# summary; the demo writes its own bulletin on the way).  edustat-report
# bulletin writes the city's 2024 bulletin as html, xlsx, md and json with
# the sample config/bulletin.csv, a district's with the default layout,
# and the city's 2025S1 (a period with no year before it).
# bulletin_oracle.py recomputes every figure of each json from unit_value,
# orgunit and indicator (never agg_value or a view), checks each sentence's
# wording (an increase, a decrease, no previous year), that the html
# carries the same figures in its data- attributes with no script and
# nothing from the network, and the xlsx one sheet per section.  Bad
# bulletin.csv files are refused with their line.  Last, Debian's chromium
# renders the html headless to an A4-sized PNG, which must not be blank and
# must show the charts.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
ORACLE=$SRC/tests/integration/bulletin_oracle.py
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init bulletin

stack_prepare "$SRC/config"
EDUSTAT_BIN=$BUILD EDUSTAT_DEMO_EXIT=1 timeout 300 "$SRC/scripts/demo.sh" \
        >"$WORK/demo.log" 2>&1 || abort "the demo failed: $(tail -20 "$WORK/demo.log")"
grep -q "bulletin and 过录表 written to" "$WORK/demo.log" ||
        fail "the demo did not say where its bulletin is"

REPORT_BIN=$(stack_find_bin edustat-report) || abort "no edustat-report"
export EDUSTAT_CONFIG=$SRC/config

# bulletin UNIT PERIOD FORMAT OUT: write one bulletin, or count a failure.
bulletin() {
        timeout 120 "$REPORT_BIN" bulletin --unit "$1" --period "$2" --format "$3" -o "$4" \
                >"$WORK/report.out" 2>&1 || fail "bulletin $1 $2 $3: $(cat "$WORK/report.out")"
}

for fmt in html xlsx md json; do
        bulletin 211100 2024 "$fmt" "$WORK/city.$fmt"
done
python3 "$ORACLE" check 211100 2024 "$SRC/config/bulletin.csv" "$WORK/city.json" \
        "$WORK/city.html" "$WORK/city.md" "$WORK/city.xlsx" ||
        fail "the city's bulletin differs from the recomputation"

# A district with the default layout (no bulletin.csv): every indicator.
mkdir -p "$WORK/nolayout"
EDUSTAT_CONFIG=$WORK/nolayout bulletin 211102 2024 json "$WORK/district.json"
EDUSTAT_CONFIG=$WORK/nolayout bulletin 211102 2024 html "$WORK/district.html"
python3 "$ORACLE" check 211102 2024 - "$WORK/district.json" "$WORK/district.html" - - ||
        fail "the district's bulletin differs from the recomputation"

# A period with no year before it: no change is worded.
bulletin 211100 2025S1 json "$WORK/half.json"
bulletin 211100 2025S1 html "$WORK/half.html"
python3 "$ORACLE" check 211100 2025S1 "$SRC/config/bulletin.csv" "$WORK/half.json" \
        "$WORK/half.html" - - || fail "the city's 2025S1 bulletin differs from the recomputation"
if grep -q "比上年" "$WORK/half.html"; then
        fail "the 2025S1 bulletin words a change on a year it does not have"
fi

# The format from the file's extension; an unknown unit; a bad format.
"$REPORT_BIN" bulletin --unit 211100 --period 2024 -o "$WORK/ext.md" >"$WORK/report.out" 2>&1 ||
        fail "bulletin -o FILE.md: $(cat "$WORK/report.out")"
grep -q "^# 盘锦市2024年教育事业发展统计公报" "$WORK/ext.md" || fail "-o FILE.md did not write Markdown"
"$REPORT_BIN" bulletin --unit NOPE --period 2024 -o "$WORK/nope.html" >"$WORK/report.out" 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "bulletin of an unknown unit: exit $rc, want 2"
grep -q "no unit NOPE in the org tree" "$WORK/report.out" || fail "unknown unit: $(cat "$WORK/report.out")"
[ ! -e "$WORK/nope.html" ] || fail "bulletin of an unknown unit left a file"
"$REPORT_BIN" bulletin --unit 211100 --period 2024 --format pdf >"$WORK/report.out" 2>&1
[ $? -eq 2 ] || fail "--format pdf was accepted"

# bulletin.csv problems name the file and line.
mkdir -p "$WORK/bad"
check_bad() { # CONTENT MESSAGE
        printf '%s\n' "section,indicator,chart" "综合,pupils,yes" "$1" >"$WORK/bad/bulletin.csv"
        EDUSTAT_CONFIG=$WORK/bad "$REPORT_BIN" bulletin --unit 211100 --period 2024 \
                -o "$WORK/bad.html" >"$WORK/report.out" 2>&1
        rc=$?
        [ "$rc" -eq 2 ] || fail "bulletin.csv line \"$1\": exit $rc, want 2"
        grep -qF "bulletin.csv:3: $2" "$WORK/report.out" ||
                fail "bulletin.csv line \"$1\": $(cat "$WORK/report.out"), want \"bulletin.csv:3: $2\""
}
check_bad "总论,pupils," 'unknown section "总论"'
check_bad "综合,nosuch," 'no indicator "nosuch" in indicators.csv'
check_bad "小学,pupils,maybe" 'chart "maybe" is not yes, no or empty'
check_bad "综合,pupils," 'indicator pupils listed twice in section 综合'

# The headless browser: the page renders, with its charts.
if ! command -v chromium >/dev/null 2>&1; then
        fail "chromium is missing: the bulletin cannot be rendered (Debian: apt-get install chromium; make test installs it with scripts/deps.sh)"
else
        rm -f "$WORK/city.png"
        HOME=$WORK timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
                --user-data-dir="$WORK/chromium" --screenshot="$WORK/city.png" \
                --window-size=1240,1754 "file://$WORK/city.html" >"$WORK/chromium.log" 2>&1
        if [ ! -s "$WORK/city.png" ]; then
                fail "chromium wrote no screenshot: $(tail -5 "$WORK/chromium.log")"
        else
                PY=
                for py in python3 /usr/bin/python3; do
                        if "$py" -c 'import PIL' 2>/dev/null; then
                                PY=$py
                                break
                        fi
                done
                if [ -z "$PY" ]; then
                        fail "no python3 with PIL (Debian: apt-get install python3-pil; scripts/deps.sh installs it)"
                else
                        "$PY" "$ORACLE" png "$WORK/city.png" "$WORK/city.html" ||
                                fail "the rendered bulletin is blank or has no charts"
                fi
        fi
fi

stack_finish
