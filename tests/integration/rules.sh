#!/usr/bin/env bash
#
# rules.sh BUILD_ROOT SOURCE_ROOT: 审核, the validation rules of rules.csv,
# end to end with the real daemons over CURVE and a throwaway PostgreSQL.
#
# The test city is tests/integration/data/config with a rules.csv written
# here.  Three collector keys: the city's ("collector", devkeys), 东湖区's
# ("district", 330181) and one school's ("school", 2133810001).  After every
# step, edustat.rule_violation is compared with what rules_oracle.py (an
# evaluator of its own, sharing nothing with the C code) computes from
# SELECT * FROM edustat.unit_value; every submit's refusals, warnings and
# the values it leaves stored are the oracle's judgement of the batch.
#
#   - a rules.csv that does not parse stops the aggregator with
#     "rules.csv:LINE: problem";
#   - an error rule refuses every record of one unit and period of a batch
#     (reason "rule CODE NAME: LEFT op RIGHT fails (a > b)", on the receipt
#     and in edustat.rejected), while another unit of the same batch lands;
#     the submit exits 1;
#   - warnings are printed on stderr ("FILE: warning: unit U period P: rule
#     ..."), stored in rule_violation, and the submit exits 0;
#   - level-scoped rules (district) are checked on the district's sums and
#     ratios of sums; a level-scoped error rule refuses nothing and is
#     recorded like a warning;
#   - missing=zero, a division by zero (the rule skipped), a stage filter;
#   - submit --dry-run answers like a receipt and stores nothing;
#   - a correction clears a violation; a correction of 2024 re-checks the
#     2025 warning that uses prev_year;
#   - explain: stored, replaced (history kept), refused for a rule that is
#     not violated (exit 3, naming rule, unit and period) and for another
#     school's unit; the district's key may explain for its school;
#   - the view rule_check has a row per violation;
#   - after both daemons restart with another rules.csv, rule_violation
#     follows the new rules;
#   - two years of random values for every school and district, judged by
#     the oracle batch by batch; prev_year in half years, quarters, months;
#   - edustat-sink --check is clean at the end, and fails on a planted row.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
ORACLE=$SRC/tests/integration/rules_oracle.py
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init rules
trap stack_exit EXIT

CFG=$WORK/cfg-src
mkdir -p "$CFG" || abort "cannot make $CFG"
cp "$SRC"/tests/integration/data/config/*.csv "$CFG"/ || abort "cannot copy the test config"
cat >"$CFG/rules.csv" <<'EOF'
code,name_zh,left,op,right,severity,scope,stage,missing
E1,大班额班级数不大于班级数,large_classes,<=,classes,error,,,
E2,班级数不大于在校生数,classes,<=, pupils ,error,school,,skip
W1,在校生数同比增幅不超过30%,pupils,<=,prev_year(pupils) * 1.3,warning,,,
W2,小学生师比不高于25,pupil_teacher_ratio,<=,25,warning,,primary,
W3,生均图书不少于15册,books / pupils,>=,15,warning,,,
Z1,初中每40名学生至少1名专任教师,teachers * 40,>=,pupils,warning,school,junior,zero
D1,区县学前三年毛入园率不高于150%,kg_ger,<=,150,warning,district,,
D2,区县大班额不超过班级数的5%,large_classes,<=,classes * 0.05,error,district,,
EOF
python3 "$ORACLE" violations "$CFG" /dev/null >/dev/null || abort "the oracle cannot read the test's rules.csv"

stack_prepare "$CFG"
stack_collector_key school 2133810001
stack_collector_key district 330181
# the city's key is devkeys' "collector", registered for the root
declare -A KEY=([city]=$WORK/keys/collector.key_secret [district]=$WORK/keys/district.key_secret
        [school]=$WORK/keys/school.key_secret)

# a collector waits at most this long for its answer
export EDUSTAT_TIMEOUT=30

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }
qt() { psql -AtX -F "$(printf '\t')" -v ON_ERROR_STOP=1 -c "$1"; }

# ---- a rules.csv that does not parse stops the aggregator at start
BADCFG=$WORK/bad-config
mkdir -p "$BADCFG" && cp "$EDUSTAT_CONFIG"/*.csv "$BADCFG"/
printf 'code,name_zh,left,op,right,severity,scope,stage,missing\nOK,好,pupils,>=,0,error,,,\nBAD,坏,pupils * (teachers,<=,1,,,,\n' \
        >"$BADCFG/rules.csv"
read -r BAD_PORT _ <<<"$(stack_ports)"
stack_spawn_aggregator BADAGG "$BAD_PORT" "$WORK/aggregator-badrules.log" nowait EDUSTAT_CONFIG="$BADCFG"
if ! stack_wait_exit "$BADAGG" 30; then
        fail "an aggregator with a rules.csv that does not parse still runs after 30 s"
        kill -TERM "$BADAGG"
elif [ "$STACK_RC" -eq 0 ]; then
        fail "an aggregator with a rules.csv that does not parse exited 0"
fi
grep -q "rules.csv:3:" "$WORK/aggregator-badrules.log" ||
        fail "a bad rules.csv: the aggregator's message does not name rules.csv:3:" \
                "$(tail -n 3 "$WORK/aggregator-badrules.log")"

stack_start
echo "rules: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"

dump_values() { qt "SELECT unit, period, indicator, value FROM edustat.unit_value ORDER BY 1, 2, 3" >"$1"; }
dump_violations() {
        qt "SELECT unit, period, rule, severity, left_value, right_value FROM edustat.rule_violation ORDER BY 1, 2, 3" >"$1"
}

# check_violations STEP: rule_violation against the oracle's computation
# from unit_value as it is now.
check_violations() {
        local step=$1
        dump_values "$WORK/$step.now.values" || { fail "$step: cannot read unit_value"; return; }
        if ! dump_violations "$WORK/$step.now.violations" 2>"$WORK/$step.now.err"; then
                fail "$step: cannot read edustat.rule_violation: $(cat "$WORK/$step.now.err")"
                return
        fi
        python3 "$ORACLE" compare "$EDUSTAT_CONFIG" "$WORK/$step.now.values" \
                "$WORK/$step.now.violations" >"$WORK/$step.compare" 2>&1 ||
                fail "$step: rule_violation is not the oracle's:" "$(head -n 20 "$WORK/$step.compare")"
}

# violated UNIT PERIOD RULE: 0 when rule_violation has the row.
violated() {
        [ "$(q "SELECT count(*) FROM edustat.rule_violation WHERE unit = '$1' AND period = '$2' AND rule = '$3'")" = 1 ]
}

# collect KEY ARGS...: edustat-collector with KEY's secret and outbox.
collect() {
        local key=$1
        shift
        EDUSTAT_COLLECTOR_SECRET=${KEY[$key]} EDUSTAT_OUTBOX=$WORK/outbox-$key.db \
                "$COLLECTOR_BIN" "$@"
}

# submit STEP KEY [--dry-run]: submit WORK/STEP.csv with KEY; the oracle
# judges it against unit_value first.  Checks the exit status, that every
# refusal the oracle gives is on the receipt (and in edustat.rejected) and
# no other rule refusal is, that every warning it gives is on stderr, that
# unit_value is what the oracle leaves (unchanged for a dry run), and
# rule_violation afterwards.
submit() {
        local step=$1 key=$2 dry=${3:-} f=$WORK/$1.csv want rc n line
        dump_values "$WORK/$step.before" || { fail "$step: cannot read unit_value"; return; }
        python3 "$ORACLE" judge "$EDUSTAT_CONFIG" "$WORK/$step.before" "$f" "$f" "$WORK/$step.want" ||
                { fail "$step: the oracle cannot judge $f"; return; }
        if [ -n "$dry" ]; then
                cp "$WORK/$step.before" "$WORK/$step.want.values"
                dump_violations "$WORK/$step.violations-before" 2>/dev/null
                q "SELECT count(*) FROM edustat.rejected" >"$WORK/$step.rejected-before"
                collect "$key" submit --dry-run "$f" >"$WORK/$step.out" 2>"$WORK/$step.err"
        else
                collect "$key" submit "$f" >"$WORK/$step.out" 2>"$WORK/$step.err"
        fi
        rc=$?
        want=0
        [ -s "$WORK/$step.want.reject" ] && want=1
        [ "$rc" -eq "$want" ] ||
                fail "$step: submit ${dry:+--dry-run }exited $rc, want $want:" "$(cat "$WORK/$step.out" "$WORK/$step.err" | head -n 20)"
        cat "$WORK/$step.out" "$WORK/$step.err" >"$WORK/$step.all"
        while IFS= read -r line; do
                grep -qxF -- "$line" "$WORK/$step.all" ||
                        fail "$step: the receipt lacks the refusal '$line':" "$(head -n 20 "$WORK/$step.all")"
        done <"$WORK/$step.want.reject"
        n=$(grep -cE "^$f:[0-9]+: rule " "$WORK/$step.all")
        [ "$n" -eq "$(wc -l <"$WORK/$step.want.reject")" ] ||
                fail "$step: $n rule refusal(s) on the receipt, the oracle gives $(wc -l <"$WORK/$step.want.reject"):" \
                        "$(grep -E "^$f:[0-9]+: rule " "$WORK/$step.all" | head -n 10)"
        while IFS= read -r line; do
                grep -qxF -- "$line" "$WORK/$step.err" ||
                        fail "$step: stderr lacks the warning '$line':" "$(head -n 20 "$WORK/$step.err")"
        done <"$WORK/$step.want.warn"
        dump_values "$WORK/$step.after"
        python3 "$ORACLE" same-values "$WORK/$step.want.values" "$WORK/$step.after" >"$WORK/$step.valdiff" ||
                fail "$step: unit_value is not what the oracle leaves:" "$(head -n 20 "$WORK/$step.valdiff")"
        if [ -n "$dry" ]; then
                dump_violations "$WORK/$step.violations-after" 2>/dev/null
                cmp -s "$WORK/$step.violations-before" "$WORK/$step.violations-after" ||
                        fail "$step: a dry run changed rule_violation"
                [ "$(q "SELECT count(*) FROM edustat.rejected")" = "$(cat "$WORK/$step.rejected-before")" ] ||
                        fail "$step: a dry run stored rejections"
                return
        fi
        # the refusals are stored with their reasons
        while IFS= read -r line; do
                n=${line#"$f":}
                n=${n%%:*}
                [ "$(q "SELECT reason FROM edustat.rejected WHERE source LIKE '%$(basename "$f")' AND line = $n")" = "${line#"$f":"$n": }" ] ||
                        fail "$step: edustat.rejected has no row for line $n with the reason '${line#"$f":"$n": }'"
        done <"$WORK/$step.want.reject"
        check_violations "$step"
        # every warning printed is a violation now
        grep -oE "^$f: warning: unit [^ ]+ period [^ ]+: rule [^ ]+" "$WORK/$step.err" |
                while read -r _ _ _ u _ p _ r; do
                        violated "$u" "${p%:}" "$r" ||
                                echo "FAIL: $step: stderr warns of rule $r for unit $u period ${p%:}, which rule_violation does not hold"
                done >"$WORK/$step.extra"
        if [ -s "$WORK/$step.extra" ]; then
                cat "$WORK/$step.extra"
                FAILS=$((FAILS + 1))
        fi
}

# ---- step 1 (the city): 2024, good values with warnings, level rules
cat >"$WORK/s1.csv" <<'EOF'
unit,period,indicator,value
2133810001,2024,pupils,1000
2133810001,2024,teachers,50
2133810001,2024,classes,25
2133810001,2024,large_classes,2
2133810001,2024,books,10000
2133810002,2024,pupils,600
2133810002,2024,teachers,20
2133810002,2024,classes,20
2133810002,2024,large_classes,3
2133810002,2024,books,12000
3133810004,2024,pupils,800
3133810004,2024,teachers,19
3133810004,2024,classes,16
3133810005,2024,pupils,500
3133810005,2024,classes,10
1133810006,2024,kg_children,300
1133810007,2024,kg_children,200
330181,2024,pop_3_5,300
2133820001,2024,pupils,450
2133820001,2024,teachers,30
2133820001,2024,classes,12
2133820001,2024,books,9001
EOF
submit s1 city
# what the oracle says, spelled out (a wrong oracle would hide a wrong product)
for want in "2133810001 2024 W3" "2133810002 2024 W2" "3133810004 2024 Z1" \
        "3133810005 2024 Z1" "330181 2024 D1" "330181 2024 D2"; do
        # shellcheck disable=SC2086
        violated $want || fail "s1: rule_violation lacks ($want)"
done
[ "$(q "SELECT left_value = 166.666666666667 FROM edustat.rule_violation WHERE unit = '330181' AND rule = 'D1'")" = t ] ||
        fail "s1: D1's left value for 东湖区 is not 100 * 500 / 300 = 166.666666666667"
grep -qF "$WORK/s1.csv: warning: unit 2133810002 period 2024: rule W2 小学生师比不高于25: pupil_teacher_ratio <= 25 (30 > 25)" "$WORK/s1.err" ||
        fail "s1: no W2 warning for 2133810002 on stderr: $(head -n 10 "$WORK/s1.err")"

# ---- step 2 (the city): 2025, one unit refused by E1, the others land
cat >"$WORK/s2.csv" <<'EOF'
unit,period,indicator,value
2133810001,2025,pupils,1010
2133810001,2025,classes,25
2133810002,2025,pupils,900
2133810001,2025,large_classes,30
2133810002,2025,teachers,45
2133820001,2025,pupils,0
2133820001,2025,classes,0
2133820001,2025,books,100
EOF
submit s2 city
grep -qxF "$WORK/s2.csv:5: rule E1 大班额班级数不大于班级数: large_classes <= classes fails (30 > 25)" "$WORK/s2.all" ||
        fail "s2: the receipt lacks 's2.csv:5: rule E1 大班额班级数不大于班级数: large_classes <= classes fails (30 > 25)'"
[ "$(q "SELECT count(*) FROM edustat.unit_value WHERE unit = '2133810001' AND period = '2025'")" = 0 ] ||
        fail "s2: a refused unit's records were stored"
violated 2133810002 2025 W1 || fail "s2: no W1 (prev_year) violation for 2133810002 2025 (900 > 780)"
[ "$(q "SELECT count(*) FROM edustat.rule_violation WHERE unit = '2133820001' AND period = '2025'")" = 0 ] ||
        fail "s2: a rule whose division is by zero was not skipped for 2133820001 2025"

# ---- step 3 (the school): dry runs store nothing
cat >"$WORK/s3.csv" <<'EOF'
unit,period,indicator,value
2133810001,2025,pupils,1010
2133810001,2025,classes,25
2133810001,2025,large_classes,30
EOF
submit s3 school --dry-run
cat >"$WORK/s3b.csv" <<'EOF'
unit,period,indicator,value
2133810001,2025,pupils,2000
2133810001,2025,classes,25
2133810001,2025,books,100
EOF
submit s3b school --dry-run
[ -s "$WORK/s3b.want.warn" ] || fail "s3b: the test meant a dry run with warnings, the oracle gives none"

# ---- step 4: explanations
explain() { # KEY UNIT PERIOD RULE TEXT -> WORK/explain.out, status in EXPLAIN_RC
        collect "$1" explain --unit "$2" --period "$3" --rule "$4" "$5" >"$WORK/explain.out" 2>&1
        EXPLAIN_RC=$?
}
note_of() { q "SELECT note || '|' || collector FROM edustat.rule_note WHERE unit = '$1' AND period = '$2' AND rule = '$3'"; }
explain school 2133810001 2024 W3 "本校图书室2024年改建，图书暂存区教育局"
[ "$EXPLAIN_RC" -eq 0 ] || fail "explain W3 for the school's own unit exited $EXPLAIN_RC: $(cat "$WORK/explain.out")"
[ "$(note_of 2133810001 2024 W3)" = "本校图书室2024年改建，图书暂存区教育局|school" ] ||
        fail "rule_note after the first explanation: '$(note_of 2133810001 2024 W3)'"
explain school 2133810001 2024 W3 "图书已于2025年3月归还学校"
[ "$EXPLAIN_RC" -eq 0 ] || fail "a second explanation exited $EXPLAIN_RC: $(cat "$WORK/explain.out")"
[ "$(note_of 2133810001 2024 W3)" = "图书已于2025年3月归还学校|school" ] ||
        fail "rule_note after the second explanation (want it replaced): '$(note_of 2133810001 2024 W3)'"
[ "$(q "SELECT string_agg(note, '|' ORDER BY noted_at) FROM edustat.rule_note_history WHERE unit = '2133810001' AND period = '2024' AND rule = 'W3'")" = \
        "本校图书室2024年改建，图书暂存区教育局|图书已于2025年3月归还学校" ] ||
        fail "rule_note_history does not keep both explanations in order"
# a rule that is not violated for the unit and period
explain school 2133810001 2024 W2 "不应保存"
[ "$EXPLAIN_RC" -eq 3 ] || fail "explaining W2 (not violated) for 2133810001 2024 exited $EXPLAIN_RC, want 3"
grep W2 "$WORK/explain.out" | grep 2133810001 | grep -q 2024 ||
        fail "the refusal of an explanation for a rule not violated does not name W2, 2133810001 and 2024: $(cat "$WORK/explain.out")"
# another school's unit
explain school 2133810002 2024 W2 "不应保存"
[ "$EXPLAIN_RC" -ne 0 ] || fail "the school's key explained a warning of another school (2133810002)"
[ "$(q "SELECT count(*) FROM edustat.rule_note_history WHERE note = '不应保存'")" = 0 ] ||
        fail "a refused explanation was stored"
# the district's key, for a school below it
explain district 2133810002 2024 W2 "该校2024年有5名教师借调，已补充"
[ "$EXPLAIN_RC" -eq 0 ] || fail "the district explaining W2 for its school exited $EXPLAIN_RC: $(cat "$WORK/explain.out")"
[ "$(note_of 2133810002 2024 W2)" = "该校2024年有5名教师借调，已补充|district" ] ||
        fail "rule_note of the district's explanation: '$(note_of 2133810002 2024 W2)'"
check_violations explain
# the view: a row per violation, with its note
[ "$(q "SELECT count(*) FROM edustat.rule_check")" = "$(q "SELECT count(*) FROM edustat.rule_violation")" ] ||
        fail "rule_check does not have one row per violation"
[ "$(q "SELECT note FROM edustat.rule_check WHERE unit = '2133810001' AND period = '2024' AND rule = 'W3'")" = "图书已于2025年3月归还学校" ] ||
        fail "rule_check does not show the note of 2133810001 2024 W3"

# ---- step 5 (the district): corrections clear violations
cat >"$WORK/s5.csv" <<'EOF'
unit,period,indicator,value
2133810002,2024,teachers,30
330181,2024,pop_3_5,400
EOF
submit s5 district
violated 2133810002 2024 W2 && fail "s5: W2 of 2133810002 2024 is still there after teachers were corrected (ratio 20)"
violated 330181 2024 D1 && fail "s5: D1 of 东湖区 2024 is still there after pop_3_5 was corrected (125)"

# ---- step 6 (the district): a correction of 2024 re-checks the 2025 prev_year warning
cat >"$WORK/s6.csv" <<'EOF'
unit,period,indicator,value
2133810002,2024,pupils,700
EOF
submit s6 district
violated 2133810002 2025 W1 && fail "s6: W1 of 2133810002 2025 is still there after 2024's pupils became 700 (900 <= 910)"
# ... and back
cat >"$WORK/s7.csv" <<'EOF'
unit,period,indicator,value
2133810002,2024,pupils,650
EOF
submit s7 district
violated 2133810002 2025 W1 || fail "s7: W1 of 2133810002 2025 is not back after 2024's pupils became 650 (900 > 845)"

# ---- step 8 (the school): a refused correction leaves the stored values and violations
cat >"$WORK/s8.csv" <<'EOF'
unit,period,indicator,value
2133810001,2024,classes,1
2133810001,2024,books,20000
EOF
submit s8 school
violated 2133810001 2024 W3 || fail "s8: a refused batch cleared W3 of 2133810001 2024"

# ---- step 9: other rules after a restart of both daemons: the table is
# rebuilt from the stored values (W3 gone, W2 at 15 instead of 25)
stop_pid() {
        kill -TERM "$1" 2>/dev/null
        stack_wait_exit "$1" 20 || { kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
}
stop_pid "$AGG_PID"
stop_pid "$SINK_PID"
sed -i -e '/^W3,/d' -e 's/^W2,小学生师比不高于25,pupil_teacher_ratio,<=,25,/W2,小学生师比不高于15,pupil_teacher_ratio,<=,15,/' \
        "$EDUSTAT_CONFIG/rules.csv"
grep -q '^W2,小学生师比不高于15,' "$EDUSTAT_CONFIG/rules.csv" || fail "s9: the test could not rewrite W2"
stack_start
cat >"$WORK/s9.csv" <<'EOF'
unit,period,indicator,value
2133830001,2024,pupils,300
2133830001,2024,teachers,30
EOF
submit s9 city
violated 2133810001 2024 W3 && fail "s9: W3 (removed from rules.csv) is still in rule_violation after the restart"
violated 2133810001 2024 W2 || fail "s9: W2 at 15 does not fail for 2133810001 2024 (1000 / 50 = 20) after the restart"

# ---- step 10 (the city): every school and district, two years of values
# drawn at random (fixed seed), some missing, about one school in eight
# with more large classes than classes; the oracle judges each batch.
# Classes never pass pupils, so no school breaks two error rules at once.
python3 - "$EDUSTAT_CONFIG/orgunits.csv" "$WORK" <<'PY' || fail "s10: cannot write the random batches"
import csv, random, sys
rng = random.Random(20241204)
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    units = list(csv.DictReader(f))
parents = {u["parent"] for u in units}
for period, name in (("2024", "s10a"), ("2025", "s10b")):
    with open("%s/%s.csv" % (sys.argv[2], name), "w", encoding="utf-8") as out:
        out.write("unit,period,indicator,value\n")
        for u in units:
            if u["level"] == "district":
                out.write("%s,%s,pop_3_5,%d\n" % (u["code"], period, rng.randint(50, 3000)))
            if u["code"] in parents:
                continue
            pupils = rng.randint(100, 2000)
            classes = rng.randint(3, 60)
            vals = {"pupils": pupils, "classes": classes,
                    "teachers": rng.randint(3, 150),
                    "large_classes": rng.randint(0, classes + 3) if rng.random() < 0.125
                    else rng.randint(0, classes // 4),
                    "books": rng.randint(0, 40) * pupils // 2}
            if u["stage"] == "kindergarten":
                vals["kg_children"] = pupils
            for ind, v in vals.items():
                if rng.random() < 0.1:
                    continue  # missing: skip and zero rules part ways
                out.write("%s,%s,%s,%d\n" % (u["code"], period, ind, v))
PY
submit s10a city
submit s10b city

# ---- step 11 (the city): prev_year in every kind of period, the year
# before first, then the year with a rise of more than 30% (W1)
{
        echo "unit,period,indicator,value"
        for p in 2024S1 2024Q3 202403; do echo "2133820002,$p,pupils,100"; done
} >"$WORK/s11a.csv"
{
        echo "unit,period,indicator,value"
        for p in 2025S1 2025Q3 202503; do echo "2133820002,$p,pupils,131"; done
        echo "2133820003,2025Q3,pupils,131"
} >"$WORK/s11b.csv"
submit s11a city
submit s11b city
for p in 2025S1 2025Q3 202503; do
        violated 2133820002 "$p" W1 || fail "s11: no W1 for 2133820002 $p (131 > 1.3 * 100, the value of the same kind of period a year before)"
done
violated 2133820003 2025Q3 W1 && fail "s11: W1 for 2133820003 2025Q3, which has no 2024Q3 (missing: skip)"

# ---- edustat-sink --check: clean, then a planted violation row is found
"$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "edustat-sink --check exited $rc, want 0: $(head -n 20 "$WORK/check.out")"
if q "INSERT INTO edustat.rule_violation (unit, period, rule, severity, left_value, right_value, first_seen, updated_at)
      VALUES ('2133810001', '2024', 'E2', 'error', 25, 1, now(), now())" >/dev/null 2>"$WORK/plant.err"; then
        "$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check2.out" 2>&1
        rc=$?
        [ "$rc" -ne 0 ] || fail "edustat-sink --check exited 0 with a planted rule_violation row (2133810001 2024 E2)"
        grep -q "E2" "$WORK/check2.out" || fail "edustat-sink --check does not name the planted rule E2: $(head -n 5 "$WORK/check2.out")"
        q "DELETE FROM edustat.rule_violation WHERE unit = '2133810001' AND period = '2024' AND rule = 'E2'" >/dev/null
        "$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check3.out" 2>&1 ||
                fail "edustat-sink --check after removing the planted row: $(head -n 5 "$WORK/check3.out")"
else
        fail "cannot plant a rule_violation row: $(cat "$WORK/plant.err")"
fi

stack_finish
