#!/usr/bin/env bash
#
# review.sh BUILD_ROOT SOURCE_ROOT: the review round (上报 → 审核 → 退回/通过)
# end to end with the real daemons over CURVE and a throwaway PostgreSQL.
#
# A small city written here (试验市 330100: 东湖区 330181 with 城关镇
# 330181100 and its two primary schools, a kindergarten right under the
# district; 西山区 330182 with one school), forms.csv (primary: pupils,
# teachers, classes; the kindergarten has no form), rules.csv (a school
# warning W1, a district error DE and a district warning DW).  Keys: school1
# (2133810001), school2 (2133810002), district (330181), other (330182),
# city (330100).
#
# Every command's outcome and message, and after every step edustat.review,
# edustat.review_history (every transition in order, from and to states),
# review_status (state, counts below, ready, blockers) and completeness
# (submitted, approved), are compared with review_oracle.py, a model of the
# contract that shares nothing with the code.  The walk:
#   - finish refused with the full list (an indicator of the form missing,
#     a warning not explained; a district with units below not approved and
#     an error violation; a school without a form and without values);
#   - explain, then finish; explain refused once submitted;
#   - a school approving itself, the other county acting on this county's
#     school ("not authorized"), approve and return of an open unit;
#   - values of a submitted or an approved unit refused per record (exit 1,
#     edustat.rejected), a district's own value while it is submitted;
#   - a return with its reason cascading up (town, district and city
#     reopen, "returned with CODE"); `status` showing the 退回 reason and
#     who; correction, finish again, the district finishing, the city
#     approving the district, the root approving with the root key;
#   - agg_value_approved empty until the root is approved, then agg_value's
#     rows; a return empties it again;
#   - edustat-sink --check is clean at the end.

BUILD=$(cd "$1" && pwd) || exit 2
SRC=$(cd "$2" && pwd) || exit 2
ORACLE=$SRC/tests/integration/review_oracle.py
# shellcheck source=../lib/stack.sh
. "$SRC/tests/lib/stack.sh"
stack_init review
trap stack_exit EXIT
# The refusals print the aggregator's local time with its offset; a fixed
# zone lets the test print review.at the same way.
export TZ=Asia/Shanghai
P=2024

CFG=$WORK/cfg-src
mkdir -p "$CFG" || abort "cannot make $CFG"
cp "$SRC/tests/integration/data/config/indicators.csv" "$CFG/" || abort "cannot copy indicators.csv"
cat >"$CFG/orgunits.csv" <<'EOF'
code,parent,level,name,stage,locality,ownership
330100,,city,试验市,,,
330181,330100,district,东湖区,,,
330182,330100,district,西山区,,,
330181100,330181,town,城关镇,,,
2133810001,330181100,school,城关镇第一小学,primary,urban,public
2133810002,330181100,school,城关镇第二小学,primary,urban,public
1133810006,330181,school,东湖区中心幼儿园,kindergarten,urban,public
2133820001,330182,school,西山区第一小学,primary,urban,public
EOF
cat >"$CFG/forms.csv" <<'EOF'
stage,indicator
primary,pupils
primary,teachers
primary,classes
EOF
cat >"$CFG/rules.csv" <<'EOF'
code,name_zh,left,op,right,severity,scope,stage,missing
W1,小学生师比不高于20,pupil_teacher_ratio,<=,20,warning,school,primary,
DE,区县须填报3-5岁人口,pop_3_5,>=,1,error,district,,
DW,区县学前三年毛入园率不高于100%,kg_ger,<=,100,warning,district,,
EOF
cat >"$CFG/periods.csv" <<'EOF'
period,opens,due
2024,2024-09-01,2024-10-31
EOF

stack_prepare "$CFG"
stack_collector_key school1 2133810001
stack_collector_key school2 2133810002
stack_collector_key district 330181
stack_collector_key other 330182
stack_collector_key city 330100
stack_start
echo "review: sink $SINK_PORT, aggregator $AGG_PORT, work $WORK"
export EDUSTAT_TIMEOUT=30
STATE=$WORK/oracle.json
python3 "$ORACLE" init "$STATE" || abort "the oracle cannot start"

q() { psql -AtX -v ON_ERROR_STOP=1 -c "$1"; }
qt() { psql -AtX -F "$(printf '\t')" -P null='\N' -v ON_ERROR_STOP=1 -c "$1"; }
dump_values() { qt "SELECT unit, period, indicator, value FROM edustat.unit_value ORDER BY 1, 2, 3" >"$1"; }

# collect KEY ARGS...: edustat-collector with KEY's secret, outbox and name.
collect() {
        local key=$1
        shift
        EDUSTAT_COLLECTOR_SECRET=$WORK/keys/$key.key_secret EDUSTAT_OUTBOX=$WORK/outbox-$key.db \
                EDUSTAT_COLLECTOR_NAME=$key "$COLLECTOR_BIN" "$@"
}

N=0
# act KEY KIND UNIT [TEXT]: run the command (KIND finish, approve, return,
# explain=RULE) and let the oracle judge its exit status and message.
act() {
        local key=$1 kind=$2 unit=$3 text=${4:--} out rc
        N=$((N + 1))
        out=$WORK/act$N.out
        dump_values "$WORK/act$N.values" || { fail "act $N: cannot read unit_value"; return; }
        case $kind in
        finish) collect "$key" finish --unit "$unit" --period "$P" >"$out" 2>&1 ;;
        approve)
                if [ "$text" = - ]; then
                        collect "$key" approve --unit "$unit" --period "$P" >"$out" 2>&1
                else
                        collect "$key" approve --unit "$unit" --period "$P" --comment "$text" >"$out" 2>&1
                fi
                ;;
        return)
                if [ "$text" = - ]; then
                        collect "$key" return --unit "$unit" --period "$P" >"$out" 2>&1
                else
                        collect "$key" return --unit "$unit" --period "$P" --reason "$text" >"$out" 2>&1
                fi
                ;;
        explain=*) collect "$key" explain --unit "$unit" --period "$P" --rule "${kind#explain=}" "$text" >"$out" 2>&1 ;;
        esac
        rc=$?
        python3 "$ORACLE" act "$STATE" "$EDUSTAT_CONFIG" "$WORK/act$N.values" "$key" "$kind" "$unit" "$P" \
                "$text" "$rc" "$out" >"$WORK/act$N.judge" 2>&1 ||
                fail "step $N ($key $kind $unit): $(cat "$WORK/act$N.judge")"
}

# check STEP: review, review_history, review_status and completeness
# against the oracle.
check() {
        local s=$WORK/check-$1
        dump_values "$s.values" &&
                qt "SELECT unit, period, state, \"by\", comment FROM edustat.review ORDER BY 1, 2" >"$s.review" &&
                qt "SELECT unit, period, action, from_state, to_state, \"by\", comment, collector
                      FROM edustat.review_history ORDER BY id" >"$s.history" &&
                qt "SELECT unit, period, state, \"by\", comment, n_open, n_submitted, n_approved, ready, blockers
                      FROM edustat.review_status ORDER BY 1, 2" >"$s.status" &&
                qt "SELECT unit, period, stage, expected, submitted, approved FROM edustat.completeness
                     ORDER BY 1, 2, 3" >"$s.compl" 2>"$s.err" ||
                { fail "$1: cannot read the review tables and views: $(cat "$s.err" 2>/dev/null)"; return; }
        python3 "$ORACLE" compare "$STATE" "$EDUSTAT_CONFIG" "$s.values" "$s.review" "$s.history" \
                "$s.status" "$s.compl" >"$s.cmp" 2>&1 ||
                fail "$1: the review tables are not the oracle's:" "$(head -n 20 "$s.cmp")"
}

# submit STEP KEY: submit WORK/STEP.csv; the oracle says which records the
# review gate (and the rules) refuse, with which reason.  Checks the exit
# status, every refusal on the receipt and in edustat.rejected, and
# unit_value afterwards.
submit() {
        local step=$1 key=$2 f=$WORK/$1.csv rc want line n
        dump_values "$WORK/$step.before" || { fail "$step: cannot read unit_value"; return; }
        PGTZ=Asia/Shanghai qt "SELECT unit, period, to_char(at, 'YYYY-MM-DD HH24:MI:SS') || ' +0800' FROM edustat.review
             WHERE state <> 'open'" >"$WORK/$step.at" 2>/dev/null || : >"$WORK/$step.at"
        python3 "$ORACLE" values "$STATE" "$EDUSTAT_CONFIG" "$WORK/$step.before" "$WORK/$step.at" "$f" "$f" \
                "$WORK/$step.want" || { fail "$step: the oracle cannot judge $f"; return; }
        collect "$key" submit "$f" >"$WORK/$step.out" 2>"$WORK/$step.err"
        rc=$?
        want=0
        [ -s "$WORK/$step.want.reject" ] && want=1
        [ "$rc" -eq "$want" ] ||
                fail "$step: submit exited $rc, want $want:" "$(cat "$WORK/$step.out" "$WORK/$step.err" | head -n 20)"
        cat "$WORK/$step.out" "$WORK/$step.err" >"$WORK/$step.all"
        while IFS= read -r line; do
                grep -qxF -- "$line" "$WORK/$step.all" ||
                        fail "$step: the receipt lacks the refusal '$line':" "$(head -n 20 "$WORK/$step.all")"
                n=${line#"$f":}
                n=${n%%:*}
                [ "$(q "SELECT reason FROM edustat.rejected WHERE source LIKE '%$(basename "$f")' AND line = $n")" = \
                        "${line#"$f":"$n": }" ] ||
                        fail "$step: edustat.rejected has no row for line $n with the reason '${line#"$f":"$n": }'"
        done <"$WORK/$step.want.reject"
        dump_values "$WORK/$step.after"
        python3 "$SRC/tests/integration/rules_oracle.py" same-values "$WORK/$step.want.values" "$WORK/$step.after" \
                >"$WORK/$step.valdiff" || fail "$step: unit_value is not what the oracle leaves:" "$(head -n 20 "$WORK/$step.valdiff")"
}

# status_shows KEY UNIT WORD...: `status --unit --period` prints every WORD.
status_shows() {
        local key=$1 unit=$2 w
        shift 2
        collect "$key" status --unit "$unit" --period "$P" >"$WORK/status.out" 2>&1
        for w in "$@"; do
                grep -qF -- "$w" "$WORK/status.out" ||
                        fail "status --unit $unit --period $P ($key) does not show '$w':" "$(head -n 10 "$WORK/status.out")"
        done
}

# approved_rows: rows of agg_value_approved, and of agg_value, for P.
approved_rows() {
        q "SELECT (SELECT count(*) FROM edustat.agg_value_approved WHERE period = '$P') || ' ' ||
                  (SELECT count(*) FROM edustat.agg_value WHERE period = '$P')"
}

# ---- the schools' first values: 2133810001 lacks classes and has a
# pupil-teacher ratio of 25 (W1); the district's pop_3_5 is 0 (DE)
cat >"$WORK/v1.csv" <<EOF
unit,period,indicator,value
2133810001,$P,pupils,1000
2133810001,$P,teachers,40
EOF
submit v1 school1
cat >"$WORK/v2.csv" <<EOF
unit,period,indicator,value
2133810002,$P,pupils,600
2133810002,$P,teachers,40
2133810002,$P,classes,20
EOF
submit v2 school2
cat >"$WORK/v3.csv" <<EOF
unit,period,indicator,value
330181,$P,pop_3_5,0
2133820001,$P,pupils,500
2133820001,$P,teachers,30
2133820001,$P,classes,15
EOF
submit v3 city
check start

# ---- a school's finish: refused with the whole list, then explain, then taken
act school1 finish 2133810001                 # classes missing; W1 not explained
cat >"$WORK/v4.csv" <<EOF
unit,period,indicator,value
2133810001,$P,classes,25
EOF
submit v4 school1
act school1 finish 2133810001                 # W1 not explained
check finish-refused
act school1 explain=W1 2133810001 "本校2024年两名教师长期病假，生师比偏高"
act school1 finish 2133810001
act school1 finish 2133810001                 # the same again: a resend, taken with no transition
act district finish 2133810001                # submitted already
check finished
status_shows school1 2133810001 submitted school1
act school1 explain=W1 2133810001 "提交后不应保存的说明"
[ "$(q "SELECT count(*) FROM edustat.rule_note_history WHERE note = '提交后不应保存的说明'")" = 0 ] ||
        fail "an explanation of a submitted unit was stored"

# ---- values of a submitted unit are refused per record; an open one in the same batch lands
cat >"$WORK/v5.csv" <<EOF
unit,period,indicator,value
2133810001,$P,pupils,1001
EOF
submit v5 school1
cat >"$WORK/v6.csv" <<EOF
unit,period,indicator,value
2133810001,$P,pupils,1001
2133810002,$P,pupils,601
EOF
submit v6 district

# ---- refusals of approve and return
act school1 approve 2133810001                # its own key
act school1 approve 2133810002                # another school: not authorized
act other approve 2133810001                  # another county: not authorized
act other return 2133810001 "别的区县不能退回"
act other finish 2133810002
act district approve 2133810002               # open, not submitted
act district return 2133810002 "未上报不能退回"
act school2 finish 2133810002
act district return 2133810002                # no reason
check refusals

# ---- the district: units below not approved and an error rule (DE)
act district finish 330181
cat >"$WORK/v7.csv" <<EOF
unit,period,indicator,value
330181,$P,pop_3_5,150
EOF
submit v7 district
act district approve 2133810001 "核对无误"
act district approve 2133810002
act district approve 2133810002               # the same again: a resend
act city approve 2133810002                   # approved already
check approved
status_shows school1 2133810001 approved district

# ---- values of an approved school: refused for every key
cat >"$WORK/v8.csv" <<EOF
unit,period,indicator,value
2133810001,$P,teachers,45
EOF
submit v8 school1
grep -qF "ask district to return it" "$WORK/v8.all" ||
        fail "a value of an approved school: the receipt does not say 'ask district to return it':" "$(head -n 5 "$WORK/v8.all")"
cat >"$WORK/v9.csv" <<EOF
unit,period,indicator,value
2133810001,$P,teachers,45
EOF
submit v9 city

# ---- the kindergarten (no form): no value, then a value (DW warns for the district)
act district finish 1133810006
cat >"$WORK/v10.csv" <<EOF
unit,period,indicator,value
1133810006,$P,kg_children,200
EOF
submit v10 district
act district finish 1133810006
act district approve 1133810006
act district finish 330181100                 # the town
act district approve 330181100
check below-approved
act district finish 330181                    # DW not explained
act district explain=DW 330181 "2024年外区幼儿跨区入园较多"
act district finish 330181
check district-finished
cat >"$WORK/v11.csv" <<EOF
unit,period,indicator,value
330181,$P,pop_3_5,160
EOF
submit v11 district                           # the district's own value while submitted
act district approve 330181                   # its own key
act other approve 330181
act city approve 330181 "东湖区数据已审核"

# ---- the other county and the city
act city finish 330100                        # 330182 and its school open
act other finish 2133820001
act other approve 2133820001
act other finish 330182
act city approve 330182
act city finish 330100
check city-submitted
[ "$(approved_rows | cut -d' ' -f1)" = 0 ] || fail "agg_value_approved has rows before the root is approved"

# ---- a return cascades up
act district return 2133810001 "第3行班级数与花名册不符，请核实后重报"
check returned
status_shows school1 2133810001 open "第3行班级数与花名册不符，请核实后重报" district
status_shows district 330181 open "returned with 2133810001"
act city approve 330100                       # reopened: open, not submitted

# ---- correction and the round again
cat >"$WORK/v12.csv" <<EOF
unit,period,indicator,value
2133810001,$P,classes,24
EOF
submit v12 school1
act school1 finish 2133810001
act district approve 2133810001
act district finish 330181100
act district approve 330181100
act district finish 330181
act city approve 330181
act city finish 330100
act district approve 330100                   # not a root key
act city approve 330100 "2024年全市数据审核通过"
check root-approved
read -r a b <<<"$(approved_rows)"
[ "$a" -gt 0 ] && [ "$a" = "$b" ] ||
        fail "agg_value_approved has $a rows for $P once the root is approved; agg_value has $b"

# ---- the city returns a school of the other county: the root reopens
act city return 2133820001 "教师数需与人事系统核对"
check city-returned
[ "$(approved_rows | cut -d' ' -f1)" = 0 ] || fail "agg_value_approved still has rows after the root was reopened"

# ---- edustat-sink --check
"$SINK_BIN" --check --db-url "$EDUSTAT_DB_URL" >"$WORK/check.out" 2>&1 ||
        fail "edustat-sink --check exited $?, want 0: $(head -n 20 "$WORK/check.out")"
echo "review: $N commands judged"
stack_finish
