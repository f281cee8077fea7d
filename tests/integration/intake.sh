#!/usr/bin/env bash
#
# intake.sh BUILD_ROOT SOURCE_ROOT: schools submit the files they have, with
# the real daemons over CURVE and a throwaway PostgreSQL.
#
# The round is the schools of 盘山县高升镇 (211122100) in the sample config
# (config/, with forms.csv), data/intake/gen.py: every school reports its
# stage's form except the last, which leaves four indicators out and types a
# bad value into each of their cells.  The same round arrives in one period
# per form a school may have:
#
#   2019  reference_2019.csv         long, UTF-8: the good values only
#   2020  filled_2020.xlsx           the template, filled in and saved by
#                                    LibreOffice (make_fixtures.sh)
#   2021  filled_2021_gb18030.csv    the same, saved by LibreOffice as GB18030 CSV
#   2022  filled_2022_utf16.txt      the same, saved as Unicode text (UTF-16, tabs)
#   2023  wide_2023.csv              the collector's CSV template filled here
#   2024  long_2024_gbk.csv          long, GB18030, written here
#   2025  typed_2025.xlsx            the collector's workbook template, its cells
#                                    typed by scripts/demo_fill.py (as make demo
#                                    does): the template's own styles and
#                                    validations around the values
#
# Each later period must store exactly the values of 2019 (compared in SQL),
# and each file's four bad cells must be rejected with the reason and the
# place written below (Sheet!cell, line and column, or line).  Then the
# forms: completeness counts the last school partial, edustat-report missing
# lists what it owes, and a forms.csv that does not hold together stops the
# sink with its line.  The template itself: its header, its BOM, and the
# workbook's protection, frozen panes, validations and 说明 sheet.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init intake
export TZ=UTC
DATA=$SRC/tests/integration/data/intake
REPORT_BIN=$(stack_find_bin edustat-report) || exit 1
TOWN=211122100
LAST=3121035768

stack_prepare "$SRC/config"
# The values of this test are made up per cell (large classes above
# classes...): the sample city's 审核 rules would refuse them.  This test is
# about reading files; tests/integration/rules.sh is about the rules.
rm -f "$EDUSTAT_CONFIG/rules.csv"
# Reporting rounds for the periods of this test (completeness needs them,
# and periods.csv is the list of periods the aggregator accepts), those the
# sample does not list already.
for y in 2019 2020 2021 2022 2023 2025; do
        grep -q "^$y," "$EDUSTAT_CONFIG/periods.csv" ||
                echo "$y,$y-09-01,$y-10-31" >>"$EDUSTAT_CONFIG/periods.csv"
done
stack_start
echo "intake: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }

# submit FILE WANT_EXIT: submit FILE (from WORK, so receipts name it plainly);
# its receipt in WORK/FILE.out and WORK/FILE.err.
submit() {
        local name rc
        name=$(basename "$1")
        [ "$1" = "$WORK/$name" ] || cp "$1" "$WORK/$name"
        (cd "$WORK" && "$COLLECTOR_BIN" submit --timeout 60 "$name" >"$name.out" 2>"$name.err")
        rc=$?
        [ "$rc" -eq "$2" ] ||
                fail "submit $name: exit $rc, want $2: $(cat "$WORK/$name.out" "$WORK/$name.err")"
}

# rejections FILE WANT...: the receipt's rejection lines are exactly WANT, in order.
rejections() {
        local name=$1 got want
        shift
        got=$(grep -v '^edustat-collector: ' "$WORK/$name.err")
        want=$(printf '%s\n' "$@")
        [ "$got" = "$want" ] || fail "$name: rejections
$got
want
$want"
}

# ---------------------------------------------------------------- the template
(cd "$WORK" && "$COLLECTOR_BIN" template --unit $TOWN --period 2023 -o template_2023.csv \
        >template.out 2>&1) || abort "template (csv): $(cat "$WORK/template.out")"
(cd "$WORK" && "$COLLECTOR_BIN" template --unit $TOWN --period 2023 -o template_2023.xlsx \
        >>template.out 2>&1) || abort "template (xlsx): $(cat "$WORK/template.out")"
grep -q "^template_2023.xlsx: 10 schools of $TOWN 盘山县高升镇, 20 indicators, period 2023$" \
        "$WORK/template.out" || fail "template: unexpected summary: $(cat "$WORK/template.out")"
# The town has kindergartens, primary schools and a junior school: the union of
# their forms (config/forms.csv), in catalogue order, never a ratio.
want_header='unit,学校名称,period,在校生数（人）(pupils),专任教师数（人）(teachers),班级数（个）(classes),"大班额班级数(56人及以上)（个）(large_classes)","超大班额班级数(66人及以上)（个）(xl_classes)",辍学人数（人）(dropouts),上学年初在校生数（人）(pupils_prev),在园幼儿数（人）(kg_children),公办园在园幼儿数（人）(kg_public_children),教学及辅助用房面积（m²）(teach_area),体育运动场馆面积（m²）(sports_area),教学仪器设备值（元）(equip_value),高于规定学历教师数（人）(qual_teachers),县级以上骨干教师数（人）(backbone_teachers),体育艺术专任教师数（人）(pe_art_teachers),网络多媒体教室数（间）(mm_rooms),小学适龄在校生数（人）(primary_enrolled_age),初中适龄在校生数（人）(junior_enrolled_age),体质健康测试人数（人）(fitness_tested),体质健康优良人数（人）(fitness_good)'
[ "$(head -c 3 "$WORK/template_2023.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ] ||
        fail "the CSV template does not start with a UTF-8 byte-order mark"
got=$(head -n 1 "$WORK/template_2023.csv" | tail -c +4 | tr -d '\r')
# (the header above quotes nothing; a name with parentheses needs no quotes)
want_header=${want_header//\"/}
[ "$got" = "$want_header" ] || fail "CSV template header:
$got
want
$want_header"
[ "$(wc -l <"$WORK/template_2023.csv")" -eq 11 ] || fail "CSV template: want 11 lines"
grep -q "^$LAST,盘山县高升镇初级中学,2023,,,,,,,,,,,,,,,,,,,,"$'\r'"$" "$WORK/template_2023.csv" ||
        fail "CSV template: no blank row for $LAST"
python3 - "$WORK/template_2023.xlsx" <<'PY' || fail "the xlsx template is not as specified"
import re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
wb = z.read("xl/workbook.xml").decode()
names = re.findall(r'<sheet name="([^"]+)"', wb)
assert names == ["填报", "说明"], names
s = z.read("xl/worksheets/sheet1.xml").decode()
assert "<sheetProtection" in s, "no sheet protection"
assert re.search(r'<pane xSplit="3" ySplit="1" [^>]*state="frozen"', s), "header and key columns not frozen"
dv = re.findall(r"<dataValidation [^>]*>.*?</dataValidation>", s)
assert len(dv) == 20, len(dv)
# A count: whole numbers >= 0.  An amount with 2 decimals: the formula.
assert any('type="whole"' in d and 'operator="greaterThanOrEqual"' in d and 'sqref="D2:D11"' in d for d in dv), dv[0]
assert any('sqref="M2:M11"' in d and "ROUND(M2,2)=M2" in d for d in dv), [d for d in dv if "M2" in d]
styles = z.read("xl/styles.xml").decode()
assert 'locked="0"' in styles, "no unlocked cell format"
help_ = z.read("xl/worksheets/sheet2.xml").decode() + z.read("xl/sharedStrings.xml").decode()
assert "edustat-collector submit" in help_ and "填报说明" in help_
PY

# ---------------------------------------------------------------- the round
submit "$DATA/reference_2019.csv" 0
submit "$DATA/filled_2020.xlsx" 1
submit "$DATA/filled_2021_gb18030.csv" 1
submit "$DATA/filled_2022_utf16.txt" 1
python3 "$DATA/gen.py" "$EDUSTAT_CONFIG" wide "$WORK/template_2023.csv" >"$WORK/wide_2023.csv"
submit "$WORK/wide_2023.csv" 1
python3 "$DATA/gen.py" "$EDUSTAT_CONFIG" long-gbk 2024 >"$WORK/long_2024_gbk.csv"
submit "$WORK/long_2024_gbk.csv" 1
(cd "$WORK" && "$COLLECTOR_BIN" template --unit $TOWN --period 2025 -o template_2025.xlsx \
        >>template.out 2>&1) || abort "template (xlsx, 2025): $(cat "$WORK/template.out")"
python3 "$DATA/gen.py" "$EDUSTAT_CONFIG" long 2025 >"$WORK/cells_2025.csv"
python3 "$SRC/scripts/demo_fill.py" "$WORK/template_2025.xlsx" "$WORK/typed_2025.xlsx" \
        "$WORK/cells_2025.csv" || abort "demo_fill.py could not fill the 2025 template"
submit "$WORK/typed_2025.xlsx" 1

# The last school's row is the 11th (the header, then ten schools); its bad
# cells are in the columns of dropouts (I), equip_value (O), fitness_tested (V)
# and fitness_good (W).
NOTWHOLE='value "12.5" is not a whole number; "fitness_tested" is a count'
NEG='negative value "-3"'
NAN='value "无" is not a number'
DEC3='value "100.125" has more than 2 decimals allowed for "equip_value"'
for f in filled_2020.xlsx typed_2025.xlsx; do
        rejections "$f" \
                "$f:填报!I11: $NEG" \
                "$f:填报!O11: $DEC3" \
                "$f:填报!V11: $NOTWHOLE" \
                "$f:填报!W11: $NAN"
done
for f in filled_2021_gb18030.csv filled_2022_utf16.txt wide_2023.csv; do
        rejections "$f" \
                "$f:11:辍学人数（人）(dropouts): $NEG" \
                "$f:11:教学仪器设备值（元）(equip_value): $DEC3" \
                "$f:11:体质健康测试人数（人）(fitness_tested): $NOTWHOLE" \
                "$f:11:体质健康优良人数（人）(fitness_good): $NAN"
done
# A long file's values are checked by the aggregator, which names the line.
lines=$(grep -n "^$LAST,2024,\(dropouts\|fitness_tested\|fitness_good\|equip_value\)," \
        <(iconv -f gb18030 -t utf-8 "$WORK/long_2024_gbk.csv") | cut -d: -f1)
set -- $lines
[ $# -eq 4 ] || fail "long_2024_gbk.csv: want 4 bad lines, found '$lines'"
rejections long_2024_gbk.csv \
        "long_2024_gbk.csv:$1: $NEG" \
        "long_2024_gbk.csv:$2: $NOTWHOLE" \
        "long_2024_gbk.csv:$3: $NAN" \
        "long_2024_gbk.csv:$4: $DEC3"

# Every form stored the same values as the long UTF-8 file, no more, no less.
nref=$(($(wc -l <"$DATA/reference_2019.csv") - 1))
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE period = '2019'")" -eq "$nref" ] ||
        fail "2019: want $nref values"
for p in 2020 2021 2022 2023 2024 2025; do
        diff=$(q "(SELECT unit, indicator, value FROM edustat.unit_value WHERE period = '2019'
                   EXCEPT SELECT unit, indicator, value FROM edustat.unit_value WHERE period = '$p')
                  UNION ALL
                  (SELECT unit, indicator, value FROM edustat.unit_value WHERE period = '$p'
                   EXCEPT SELECT unit, indicator, value FROM edustat.unit_value WHERE period = '2019')")
        [ -z "$diff" ] || fail "period $p differs from the long UTF-8 file: $diff"
        n=$(q "SELECT count(*) FROM edustat.rejected WHERE period = '$p' AND unit = '$LAST'")
        [ "$n" -eq 4 ] || fail "period $p: $n rejections stored for $LAST, want 4"
done

# ---------------------------------------------------------------- forms
# The last school stores some but not all of its form: partial, not reported.
got=$(q "SELECT expected, reported, partial, missing FROM edustat.completeness
          WHERE unit = '$TOWN' AND period = '2020' AND stage IS NULL")
[ "$got" = "10|9|1|" ] || fail "completeness of $TOWN, 2020: '$got', want 10|9|1|"
got=$(q "SELECT expected, reported, partial FROM edustat.completeness
          WHERE unit = '$TOWN' AND period = '2020' AND stage = 'junior'")
[ "$got" = "1|0|1" ] || fail "completeness of $TOWN's junior schools, 2020: '$got', want 1|0|1"
"$REPORT_BIN" missing --unit $TOWN --period 2020 >"$WORK/report.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "edustat-report missing: exit $rc, want 1"
got=$(sed -n '/only part of their form/,$p' "$WORK/report.out" | sed 's/  */ /g')
want="1 school(s) have reported only part of their form for 2020:
 $LAST 盘山县高升镇初级中学 (盘山县, junior) still owes:
 dropouts 辍学人数
 fitness_tested 体质健康测试人数
 fitness_good 体质健康优良人数
 equip_value 教学仪器设备值"
[ "$got" = "$want" ] || fail "edustat-report missing lists
$got
want
$want"
# Once it sends what it owes, it has reported.
printf 'unit,period,indicator,value\n%s,2020,dropouts,0\n%s,2020,fitness_tested,470\n%s,2020,fitness_good,400\n%s,2020,equip_value,100.12\n' \
        $LAST $LAST $LAST $LAST >"$WORK/owed_2020.csv"
submit "$WORK/owed_2020.csv" 0
got=$(q "SELECT reported, partial FROM edustat.completeness
          WHERE unit = '$TOWN' AND period = '2020' AND stage IS NULL")
[ "$got" = "10|0" ] || fail "completeness after the owed values: '$got', want 10|0"
"$REPORT_BIN" missing --unit $TOWN --period 2020 >"$WORK/report2.out" 2>&1 ||
        fail "edustat-report missing after the owed values: exit $?: $(cat "$WORK/report2.out")"

# A forms.csv that does not hold together stops the sink at start, naming the line.
printf 'stage,indicator\nprimary,pupils\nprimary,pupil_teacher_ratio\n' >"$EDUSTAT_CONFIG/forms.csv"
timeout 30 "$SINK_BIN" >"$WORK/sink-badforms.log" 2>&1 &
pid=$!
stack_wait_exit "$pid" 30 || { kill -TERM "$pid"; fail "the sink started with a bad forms.csv"; }
[ "$STACK_RC" -ne 0 ] || fail "the sink exited 0 with a bad forms.csv"
grep -q "forms.csv:3: indicator \"pupil_teacher_ratio\" is a ratio" "$WORK/sink-badforms.log" ||
        fail "the sink did not name forms.csv:3: $(cat "$WORK/sink-badforms.log")"

stack_finish
