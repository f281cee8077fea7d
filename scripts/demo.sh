#!/usr/bin/env bash
#
# demo.sh: the sample city, 盘锦市, end to end.
#
#   make demo          (or: make && scripts/demo.sh)
#
# Starts a throwaway PostgreSQL (scripts/pg.sh; skipped when EDUSTAT_DB_URL
# is set, which is then used as is), the sink and the aggregator on free
# loopback ports, submits the simulated round in demo/ (2023's headline
# counts, 2024, then the 2024 corrections, then 2025S1, then one district's
# 2024 as a filled-in workbook and one's as a GB18030 wide CSV, made from
# `edustat-collector template`, then a late correction that a validation
# rule refuses and an explanation of a warning) with bin/edustat-collector,
# runs the review round for one district (finish, approve, a return with
# its reason, correction, the district's finish, the city's approval, a late
# value refused) and prints edustat-report review, prints a district and
# city summary from edustat.agg_value, writes the city's 2024 统计公报 (HTML
# and xlsx) and 过录表 into a directory it names, and keeps everything
# running for psql
# until Ctrl-C.  EDUSTAT_DEMO_EXIT=1 stops at once after the summary (CI).
# Logs go to a temporary directory, named at start and at exit.
#
# Environment: EDUSTAT_DB_URL (use this database), EDUSTAT_BIN (default
# ./bin), EDUSTAT_DEMO_EXIT=1.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${EDUSTAT_BIN:-$ROOT/bin}

for p in edustat-sink edustat-aggregator edustat-collector edustat-keygen edustat-report; do
        if [ ! -x "$BIN/$p" ]; then
                echo "demo: $BIN/$p is missing; run 'make' first" >&2
                exit 1
        fi
done
if ! command -v psql >/dev/null 2>&1; then
        echo "demo: psql is missing (Debian: apt-get install postgresql-client)" >&2
        exit 1
fi

WORK=$(mktemp -d /tmp/edustat-demo.XXXXXX) || exit 1
# The PostgreSQL server runs as "postgres" when we are root; it needs to
# reach its directory inside WORK.
chmod 755 "$WORK"
LOGS=$WORK/logs
# CURVE on both links, as in production: fresh keys for this run, and one
# collector key registered for the whole city (scripts/devkeys.sh).
# The one harness (tests/lib/stack.sh) starts, awaits and stops everything.
SRC=$ROOT
# shellcheck source=../tests/lib/stack.sh
. "$ROOT/tests/lib/stack.sh"
stack_lib
STACK_NAME=demo
STACK_READY_SECONDS=60
STACK_SINK_LOG=$WORK/logs/sink.log
STACK_AGG_LOG=$WORK/logs/aggregator.log
SINK_BIN=$BIN/edustat-sink
AGG_BIN=$BIN/edustat-aggregator
devkeys "$BIN/edustat-keygen" "$ROOT/config" "$WORK" || {
        echo "demo: cannot make CURVE keys" >&2
        exit 1
}
mkdir -p "$LOGS"
echo "demo: logs in $LOGS"

PG_STARTED=

# Stop what this script started, by PID, newest first.
cleanup() {
        trap - EXIT INT TERM
        stack_stop_pid "$AGG_PID" 10
        stack_stop_pid "$SINK_PID" 10
        if [ -n "$PG_STARTED" ]; then
                pg_stop
                # The cluster is throwaway; its server log stays with ours.
                [ -n "${PG_DATA:-}" ] && rm -rf "$PG_DATA"
        fi
        echo "demo: stopped; logs are in $LOGS"
}
trap cleanup EXIT
trap 'echo; exit 130' INT TERM

# --- PostgreSQL -------------------------------------------------------------
if [ -n "${EDUSTAT_DB_URL+set}" ]; then
        echo "demo: using EDUSTAT_DB_URL=\"$EDUSTAT_DB_URL\""
else
        echo "demo: starting a throwaway PostgreSQL in $WORK/postgres"
        PG_STARTED=1
        pg_start "$WORK/postgres" || exit 1
fi
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
if [ -n "$EDUSTAT_DB_URL" ]; then
        PSQL+=(-d "$EDUSTAT_DB_URL")
fi

# --- Daemons ----------------------------------------------------------------
read -r SINK_PORT AGG_PORT <<<"$(stack_free_ports 2)"
export EDUSTAT_SINK_BIND=${EDUSTAT_SINK_BIND:-tcp://127.0.0.1:$SINK_PORT}
export EDUSTAT_SINK=${EDUSTAT_SINK:-tcp://127.0.0.1:$SINK_PORT}
export EDUSTAT_AGGREGATOR_BIND=${EDUSTAT_AGGREGATOR_BIND:-tcp://127.0.0.1:$AGG_PORT}
export EDUSTAT_AGGREGATOR=${EDUSTAT_AGGREGATOR:-tcp://127.0.0.1:$AGG_PORT}
export EDUSTAT_COLLECTOR_NAME=${EDUSTAT_COLLECTOR_NAME:-demo}
# The collector's outbox belongs to this demo run, not to the source tree.
export EDUSTAT_OUTBOX=$WORK/outbox.db

# Each daemon gets its own session, so Ctrl-C reaches only this script, which
# then stops them in order (aggregator first) by PID.
STACK_LAUNCH=setsid
stack_start_sink nowait
stack_ready sink "$SINK_PID" "$STACK_SINK_LOG" || exit 1
echo "demo: sink ready on $EDUSTAT_SINK_BIND (pid $SINK_PID)"

stack_start_aggregator nowait
stack_ready aggregator "$AGG_PID" "$STACK_AGG_LOG" || exit 1
echo "demo: aggregator ready on $EDUSTAT_AGGREGATOR_BIND (pid $AGG_PID)"

# --- Submission round -------------------------------------------------------

# submit STEP [collector args...]: run the collector, print a short summary
# of its receipts (a few of them, every file with rejections, and totals)
# and the rejections.  Exits the demo when delivery failed (exit >= 2).
submit() {
        local step=$1 out err rc
        shift
        out=$LOGS/submit-$step.out
        err=$LOGS/submit-$step.err
        "$BIN/edustat-collector" submit "$@" >>"$out" 2>>"$err"
        rc=$?
        if [ "$rc" -ge 2 ]; then
                echo "demo: edustat-collector failed (exit $rc) for $step:" >&2
                tail -n 20 "$err" >&2
                exit 1
        fi
        return 0
}

summarize() {
        local step=$1 out=$LOGS/submit-$1.out err=$LOGS/submit-$1.err
        echo
        echo "== $step"
        # A receipt ends with ", N warnings" when rules.csv warned (审核).
        awk '
        /^.*: [0-9]+ records, [0-9]+ accepted \([0-9]+ changed\), [0-9]+ rejected(, [0-9]+ warnings?)?$/ {
                files++
                line = $0
                nw = 0
                if (line ~ /warnings?$/) {
                        t = line
                        sub(/ warnings?$/, "", t)
                        sub(/.*, /, "", t)
                        nw = t + 0
                        sub(/, [0-9]+ warnings?$/, "", line)
                }
                n = split(line, w, " ")
                rec += w[n-7]; acc += w[n-5]; chg += substr(w[n-3], 2); rej += w[n-1]; warn += nw
                if (shown < 3 || w[n-1] > 0 || nw > 0) { print "   " $0; shown++ }
                else hidden++
        }
        END {
                if (hidden) printf "   ... and %d more files with nothing rejected\n", hidden
                printf "   total: %d files, %d records, %d accepted (%d changed), %d rejected, %d warnings\n",
                    files, rec, acc, chg, rej, warn
        }' "$out"
        if [ -s "$err" ]; then
                echo "   rejections (FILE:LINE: reason) and warnings (FILE: warning: ...):"
                sed 's/^/     /' "$err"
        fi
}

submit 2023 demo/2023/*.csv
summarize 2023
submit 2024 demo/2024/*.csv
summarize 2024
submit corrections demo/corrections/2024.csv
summarize corrections
submit 2025S1 demo/2025S1/*.csv
for f in demo/2025S1/by-flag/*.csv; do
        [ -e "$f" ] || continue
        # Files without unit/period columns: the flags fill them in.
        submit 2025S1 --unit "$(basename "$f" .csv)" --period 2025S1 "$f"
done
summarize 2025S1

# Schools that keep their figures in Excel or WPS: the district office makes
# a blank form with `edustat-collector template`, each school fills in its
# row, and the form is submitted as it was saved.  Here scripts/demo_fill.py
# types 双台子区's 2024 figures into the workbook and 兴隆台区's into the CSV
# form, saved in GB18030 as a Chinese Windows does; they are the figures of
# the CSV files and corrections above, so they land unchanged ("0 changed"),
# and the cells those files got wrong are refused at their cell.
mkdir -p "$WORK/forms"
for form in 211102.xlsx 211103.csv; do
        "$BIN/edustat-collector" template --unit "${form%.*}" --period 2024 \
                -o "$WORK/forms/template-$form" >>"$LOGS/template.out" || exit 1
done
python3 scripts/demo_fill.py "$WORK/forms/template-211102.xlsx" "$WORK/forms/双台子区-2024.xlsx" \
        demo/2024/*.csv demo/corrections/2024.csv &&
        python3 scripts/demo_fill.py --gb18030 "$WORK/forms/template-211103.csv" \
                "$WORK/forms/兴隆台区-2024-gbk.csv" demo/2024/*.csv demo/corrections/2024.csv ||
        exit 1
# From the work directory: receipts and edustat.rejected.source name the
# files as a school names them, forms/..., not by this run's temporary path.
cd "$WORK" || exit 1
submit forms forms/双台子区-2024.xlsx forms/兴隆台区-2024-gbk.csv
cd - >/dev/null || exit 1
summarize forms

# 审核 (config/rules.csv): a late correction of 双台子区第一小学's 2024 that
# breaks a logical check (逻辑校验 R01: 60 large classes of its 55) is
# refused whole, and its stored figures stay; the 2024 round above already
# drew two plausibility warnings (经验校验 R08, more pupils tested than
# enrolled), and one school explains its own.
mkdir -p "$WORK/rules"
printf 'unit,period,indicator,value\n2121012119,2024,classes,55\n2121012119,2024,large_classes,60\n' \
        >"$WORK/rules/2121012119-late.csv"
cd "$WORK" || exit 1
submit rules rules/2121012119-late.csv
cd - >/dev/null || exit 1
summarize rules
"$BIN/edustat-collector" explain --unit 3121012229 --period 2024 --rule R08 \
        "体质健康测试含借读生，测试人数多于在校生数属实" >>"$LOGS/explain.out" 2>&1 ||
        echo "demo: the explanation was not stored; see $LOGS/explain.out" >&2
sed 's/^/   /' "$LOGS/explain.out"

# --- The review round (上报 → 审核 → 退回/通过) -----------------------------
# 双台子区's schools finish their 2024 returns (a school with a warning
# explains it first); the district approves all but one, which it returns
# with a reason; that school reads the reason with `status`, corrects a
# value and finishes again; the district approves it and finishes; the
# city approves the district.  A late value for an approved school is then
# refused.  The demo's one key is registered for the city, so it acts for
# every office here; in production each school and office has its own
# (docs/SECURITY.md).
REVIEW_D=211102
REVIEW_P=2024
REVIEW_OUT=$LOGS/review.out
rv() {
        "$BIN/edustat-collector" "$@" >>"$REVIEW_OUT" 2>&1
}
# explain_warnings UNIT: explain every warning review_status says blocks it.
explain_warnings() {
        local u=$1 w
        for w in $("${PSQL[@]}" -At -c "SELECT blockers FROM edustat.review_status
                WHERE unit = '$u' AND period = '$REVIEW_P'" | grep -oE 'warning [^ ]+ unexplained' |
                awk '{print $2}'); do
                rv explain --unit "$u" --period "$REVIEW_P" --rule "$w" \
                        "已核实：数据属实（$w）" ||
                        echo "   $u: the explanation of $w was refused (see $REVIEW_OUT)"
        done
}
echo
echo "== the review round: 双台子区 ($REVIEW_D), $REVIEW_P"
mapfile -t REVIEW_SCHOOLS < <("${PSQL[@]}" -At -c "SELECT c.unit FROM edustat.orgunit_closure c
        JOIN edustat.orgunit o ON o.code = c.unit
        WHERE c.ancestor = '$REVIEW_D' AND c.distance > 0 AND o.is_leaf ORDER BY c.unit")
mapfile -t REVIEW_MIDDLE < <("${PSQL[@]}" -At -c "SELECT c.unit FROM edustat.orgunit_closure c
        JOIN edustat.orgunit o ON o.code = c.unit
        WHERE c.ancestor = '$REVIEW_D' AND c.distance > 0 AND NOT o.is_leaf ORDER BY c.distance DESC, c.unit")
n_fin=0
for u in "${REVIEW_SCHOOLS[@]}"; do
        explain_warnings "$u"
        if rv finish --unit "$u" --period "$REVIEW_P"; then
                n_fin=$((n_fin + 1))
        else
                echo "   $u: finish refused: $(tail -n 1 "$REVIEW_OUT")"
        fi
done
echo "   $n_fin of ${#REVIEW_SCHOOLS[@]} schools finished (上报)"
REVIEW_BACK=${REVIEW_SCHOOLS[0]}
n_ok=0
for u in "${REVIEW_SCHOOLS[@]:1}"; do
        rv approve --unit "$u" --period "$REVIEW_P" && n_ok=$((n_ok + 1))
done
echo "   the district approved $n_ok schools (通过) and returns $REVIEW_BACK (退回):"
rv return --unit "$REVIEW_BACK" --period "$REVIEW_P" --reason "专任教师数与人事系统不符，请核实后重报"
echo "   \$ edustat-collector status --unit $REVIEW_BACK --period $REVIEW_P    (the school)"
"$BIN/edustat-collector" status --unit "$REVIEW_BACK" --period "$REVIEW_P" 2>&1 | sed 's/^/     /'
REVIEW_T=$("${PSQL[@]}" -At -c "SELECT value::bigint FROM edustat.unit_value
        WHERE unit = '$REVIEW_BACK' AND period = '$REVIEW_P' AND indicator = 'teachers'")
mkdir -p "$WORK/review"
printf 'unit,period,indicator,value\n%s,%s,teachers,%s\n' "$REVIEW_BACK" "$REVIEW_P" "$((${REVIEW_T:-0} + 1))" \
        >"$WORK/review/$REVIEW_BACK-corrected.csv"
cd "$WORK" || exit 1
echo "   the school corrects teachers (${REVIEW_T:-none} -> $((${REVIEW_T:-0} + 1))) and finishes again:"
"$BIN/edustat-collector" submit "review/$REVIEW_BACK-corrected.csv" 2>&1 | sed 's/^/     /'
cd - >/dev/null || exit 1
explain_warnings "$REVIEW_BACK"
rv finish --unit "$REVIEW_BACK" --period "$REVIEW_P" ||
        echo "   $REVIEW_BACK: finish refused: $(tail -n 1 "$REVIEW_OUT")"
rv approve --unit "$REVIEW_BACK" --period "$REVIEW_P" --comment "已核实更正"
for u in "${REVIEW_MIDDLE[@]}"; do
        explain_warnings "$u"
        rv finish --unit "$u" --period "$REVIEW_P" && rv approve --unit "$u" --period "$REVIEW_P"
done
explain_warnings "$REVIEW_D"
if rv finish --unit "$REVIEW_D" --period "$REVIEW_P"; then
        echo "   the district finished (上报 to the city)"
else
        echo "   $REVIEW_D: finish refused: $(tail -n 1 "$REVIEW_OUT")"
fi
rv approve --unit "$REVIEW_D" --period "$REVIEW_P" --comment "市教育局审核通过" &&
        echo "   the city approved 双台子区 (通过)"
REVIEW_LATE=${REVIEW_SCHOOLS[1]:-$REVIEW_BACK}
printf 'unit,period,indicator,value\n%s,%s,pupils,1\n' "$REVIEW_LATE" "$REVIEW_P" >"$WORK/review/$REVIEW_LATE-late.csv"
echo "   a late value for the approved school $REVIEW_LATE is refused:"
echo "   \$ edustat-collector submit review/$REVIEW_LATE-late.csv"
cd "$WORK" || exit 1
"$BIN/edustat-collector" submit "review/$REVIEW_LATE-late.csv" 2>&1 | sed 's/^/     /'
cd - >/dev/null || exit 1
echo
echo "== edustat-report review --unit 211100 --period $REVIEW_P (the city)"
"$BIN/edustat-report" review --unit 211100 --period "$REVIEW_P" 2>&1 |
        sed 's/^/   /'

# --- Summary ----------------------------------------------------------------
echo
echo "== 2024 by district and for the city (edustat.agg_value)"
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT o.name AS "单位",
       max(a.value) FILTER (WHERE a.indicator = 'pupils')::bigint AS "在校生数",
       max(a.value) FILTER (WHERE a.indicator = 'teachers')::bigint AS "专任教师数",
       to_char(max(a.value) FILTER (WHERE a.indicator = 'pupil_teacher_ratio'),
               'FM990.00') || ':1' AS "生师比",
       max(a.value) FILTER (WHERE a.indicator = 'large_classes')::bigint AS "大班额班级数",
       to_char(max(a.value) FILTER (WHERE a.indicator = 'dropout_rate'),
               'FM990.000') || '%' AS "辍学率",
       to_char(max(a.value) FILTER (WHERE a.indicator = 'kg_ger_3yr'),
               'FM990.00') || '%' AS "学前三年毛入园率",
       to_char(max(a.value) FILTER (WHERE a.indicator = 'kg_public_share'),
               'FM990.00') || '%' AS "公办园占比"
  FROM edustat.agg_value a
  JOIN edustat.orgunit o ON o.code = a.unit
 WHERE a.period = '2024' AND o.level IN ('city', 'district')
 GROUP BY o.code, o.name, o.depth
 ORDER BY o.depth DESC, o.code;
SQL
echo
echo "== 2024 targets by county: who meets them (edustat.target_status)"
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT i.name_zh || coalesce('(' || t.stage || ')', '') AS "指标",
       t.op || ' ' || t.target AS "目标",
       coalesce(string_agg(o.name, ' ' ORDER BY o.code) FILTER (WHERE t.met), '') AS "达标",
       coalesce(string_agg(o.name, ' ' ORDER BY o.code) FILTER (WHERE NOT t.met), '') AS "未达标",
       coalesce(string_agg(o.name, ' ' ORDER BY o.code) FILTER (WHERE t.met IS NULL), '') AS "无数据"
  FROM edustat.target_status t
  JOIN edustat.orgunit o ON o.code = t.unit
  JOIN edustat.indicator i ON i.code = t.indicator
 WHERE t.period = '2024' AND t.level = 'district'
 GROUP BY i.name_zh, t.indicator, t.stage, t.op, t.target
 ORDER BY t.indicator, t.target;
SQL
echo
echo "== 2025S1 reporting completeness (edustat.completeness)"
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT o.name AS "单位", c.expected AS "应报", c.reported AS "已报",
       c.reported_on_time AS "按时", c.partial AS "部分上报", c.rate || '%' AS "上报率",
       c.missing AS "未报学校"
  FROM edustat.completeness c JOIN edustat.orgunit o ON o.code = c.unit
 WHERE c.period = '2025S1' AND c.stage IS NULL AND c.level IN ('city', 'district')
 ORDER BY o.depth, o.code;
SQL
echo
echo "== 2024 审核: warnings by district (edustat.quality, edustat.rule_check)"
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT o.name AS "单位", q.schools AS "学校数", q.schools_with_warnings AS "有预警学校",
       q.schools_unexplained AS "未说明", q.level_violations AS "区县级问题"
  FROM edustat.quality q JOIN edustat.orgunit o ON o.code = q.unit
 WHERE q.period = '2024'
 ORDER BY o.depth, o.code;
SQL
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT c.unit_name AS "学校", c.rule || ' ' || c.rule_name AS "规则",
       c.left_value || ' ' || c.op || ' ' || c.right_value AS "不成立",
       coalesce(c.note, '(未说明)') AS "说明"
  FROM edustat.rule_check c
 WHERE c.period = '2024' AND c.severity = 'warning'
 ORDER BY c.unit;
SQL
echo
echo "== 2024 优质均衡, resource allocation (edustat.balance_status)"
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT o.name AS "区县",
       CASE b.stage WHEN 'primary' THEN '小学' WHEN 'junior' THEN '初中' END AS "学段",
       b.n_cv_ok || '/' || b.n_indicators AS "差异系数达标", b.cv_failed AS "未达标差异系数",
       b.schools_passing || '/' || b.schools AS "达标学校",
       CASE WHEN b.passes THEN '达标' ELSE '未达标' END AS "结论"
  FROM edustat.balance_status b JOIN edustat.orgunit o ON o.code = b.unit
 WHERE b.period = '2024' AND b.level = 'district'
 ORDER BY o.code, b.stage DESC;
SQL
echo
echo "== rejected records stored in edustat.rejected"
"${PSQL[@]}" -P footer=off <<'SQL'
SELECT source, line, reason FROM edustat.rejected ORDER BY source, line;
SQL

# --- What the office hands on --------------------------------------------
# The city's 统计公报 for 2024 (one HTML file to email or print, and the
# same tables in Excel) and its 过录表 (one row per school), from
# edustat-report.
echo
echo "== 2024 bulletin and 过录表 (edustat-report)"
OUT=$WORK/bulletin
mkdir -p "$OUT"
for f in 盘锦市-2024-统计公报.html 盘锦市-2024-统计公报.xlsx; do
        EDUSTAT_CONFIG=$ROOT/config "$BIN/edustat-report" bulletin --unit 211100 --period 2024 \
                -o "$OUT/$f" | sed 's/^/   /' || echo "demo: the bulletin $f was not written" >&2
done
"$BIN/edustat-report" export --unit 211100 --period 2024 -o "$OUT/盘锦市-2024-过录表.xlsx" |
        sed 's/^/   /' || echo "demo: the 过录表 was not written" >&2
echo "demo: bulletin and 过录表 written to $OUT"

echo
if [ -n "$PG_STARTED" ]; then
        echo "Open psql on the demo database:"
        echo "    PGHOST=$PGHOST PGPORT=$PGPORT psql -U $PGUSER $PGDATABASE"
        echo "or, with the connection string edustat-report and edustat-sink --check take:"
        echo "    export EDUSTAT_DB_URL=\"$EDUSTAT_DB_URL\"; psql \"\$EDUSTAT_DB_URL\""
else
        echo "Open psql on the demo database:"
        echo "    psql \"$EDUSTAT_DB_URL\""
fi
echo "and try, for example:"
echo "    SELECT unit, indicator, value, n_reporting, cv FROM edustat.agg_value"
echo "     WHERE period = '2024' AND level = 'district' AND indicator = 'equip_value_per_pupil';"
echo "Submit more with:"
echo "    EDUSTAT_KEYS=$EDUSTAT_KEYS EDUSTAT_AGGREGATOR=$EDUSTAT_AGGREGATOR EDUSTAT_OUTBOX=$EDUSTAT_OUTBOX \\"
echo "        $BIN/edustat-collector submit FILE.csv"

if [ "${EDUSTAT_DEMO_EXIT:-0}" = 1 ]; then
        exit 0
fi
echo
echo "demo: running; press Ctrl-C to stop."
while kill -0 "$SINK_PID" 2>/dev/null && kill -0 "$AGG_PID" 2>/dev/null; do
        # wait, unlike a foreground sleep, returns as soon as a signal arrives.
        sleep 1 &
        wait $!
done
echo "demo: a daemon exited unexpectedly; see $LOGS" >&2
exit 1
