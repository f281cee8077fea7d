#!/usr/bin/env python3
"""workload: the submissions of the fault tests, and the oracle that checks them.

It shares nothing with the product.  The workload is a set of lanes, one
collector (school office) each, with disjoint keys: lane L owns the org units
whose position in orgunits.csv is L modulo the number of lanes.  A lane's
runs are submitted one after the other, so within a lane a later run always
has higher versions; lanes run concurrently.  Every run stores a random
share of its lane's keys (every count/amount indicator, several periods)
with new values, so later runs correct most of what earlier runs stored.

    workload.py gen CONFIG_DIR OUT_DIR SEED LANES RUNS PERIODS SHARE [EVERY REPEAT]
        Write OUT_DIR/lane<L>/run<NNN>.csv for every lane and run 0..RUNS-1.
        All records are valid.  Deterministic in SEED.  With EVERY > 0, every
        run s with s % EVERY == EVERY - 1 may be delivered late (a scenario
        parks it in an offline outbox and delivers it after the runs that
        follow it), and the run after it resends, for a share REPEAT of the
        keys both store, the value the key had before s: identical to what
        is stored when s is late, a correction when it is not.  (The files
        written without EVERY are the same as before it existed.)

    workload.py check CONFIG_DIR OUT_DIR RESULTS MODE
        Compare edustat.unit_value (psql; PGHOST etc.) with the runs listed in
        RESULTS, one line per finished run: "LANE RUN STATUS", STATUS one of
          ok       the submit exited 0: its records are committed
          failed3  it exited 3: its batches stay in the outbox
          landed   it was killed, and its batches had been seen in the outbox
          failed   anything else: it may or may not have landed
        A run not listed was never started.  MODE "weak" is for before the
        outboxes are drained: only ok runs are certain.  MODE "strict" is for
        after: failed3 and landed runs are certain too, because every batch
        an outbox held has been delivered.  Per key, following the lane's
        runs in order, a certain run fixes the value, and an uncertain run
        after it adds its value as a second possibility.
        Also checked: no key outside the workload, no row in
        edustat.rejected (every record is valid), no (key, version)
        twice in edustat.value_history (nothing applied twice), and in
        strict mode no history row committed after one of the same key with
        a higher version (an old version applied after a newer one), and
        every unit_value row its key's newest history row (history_checks).

Exit status 0 when everything matches, 1 otherwise, 2 on usage errors.
"""

import os
import random
import subprocess
import sys
from decimal import Decimal

MAX_SHOWN = 20
ABSENT = None


def csv_rows(path):
    """Rows of a simple CSV file (no quoted commas in the configs' code columns)."""
    import csv
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def load_config(cfgdir):
    rows = csv_rows(os.path.join(cfgdir, "orgunits.csv"))
    hdr = rows[0]
    units = [dict(zip(hdr, r))["code"] for r in rows[1:] if r]
    rows = csv_rows(os.path.join(cfgdir, "indicators.csv"))
    hdr = rows[0]
    inds = []
    for r in rows[1:]:
        d = dict(zip(hdr, r))
        if d["kind"] in ("count", "amount"):
            scale = int(d["decimals"] or 0) if d["kind"] == "amount" else 0
            inds.append((d["code"], scale))
    return units, inds


def lane_keys(units, inds, lanes, lane, periods):
    keys = []
    for i, u in enumerate(units):
        if i % lanes != lane:
            continue
        for p in periods:
            for code, scale in inds:
                keys.append((u, p, code, scale))
    return keys


def periods_of(n):
    return [str(2025 - k) for k in range(n)]


def run_path(out, lane, run):
    return os.path.join(out, "lane%d" % lane, "run%03d.csv" % run)


def late_run(run, every):
    """True when run may be delivered late (gen's EVERY)."""
    return every > 0 and run % every == every - 1


def gen(cfgdir, out, seed, lanes, runs, nperiods, share, every=0, repeat=0.0):
    units, inds = load_config(cfgdir)
    periods = periods_of(nperiods)
    for lane in range(lanes):
        keys = lane_keys(units, inds, lanes, lane, periods)
        os.makedirs(os.path.join(out, "lane%d" % lane), exist_ok=True)
        value = {}   # key -> the value the runs so far leave it at
        before = {}  # key -> its value before the last late run stored it
        for run in range(runs):
            rnd = random.Random("%s/%d/%d" % (seed, lane, run))
            rep = random.Random("%s/%d/%d/repeat" % (seed, lane, run))
            pick = rnd.sample(keys, max(1, int(len(keys) * share)))
            after_late = late_run(run - 1, every)
            if late_run(run, every):
                before = {}
            with open(run_path(out, lane, run), "w", encoding="utf-8") as f:
                f.write("unit,period,indicator,value\n")
                for u, p, code, scale in pick:
                    key = (u, p, code)
                    if scale == 0:
                        v = str(rnd.randint(0, 5000))
                    else:
                        m = rnd.randint(0, 10 ** 6 * 10 ** scale)
                        v = "%d.%0*d" % (m // 10 ** scale, scale, m % 10 ** scale)
                    if after_late and key in before and rep.random() < repeat:
                        v = before[key]
                    if late_run(run, every) and key in value:
                        before[key] = value[key]
                    value[key] = v
                    f.write("%s,%s,%s,%s\n" % (u, p, code, v))
    return 0


def read_run(path):
    out = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            u, p, i, v = line.rstrip("\n").split(",")
            out.append(((u, p, i), Decimal(v)))
    return out


def psql(sql):
    # Room to sort the whole value_history in memory (history_checks).
    env = dict(os.environ, PGOPTIONS=(os.environ.get("PGOPTIONS", "") + " -c work_mem=128MB"))
    out = subprocess.run(["psql", "-AtX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, stdout=subprocess.PIPE, encoding="utf-8", env=env).stdout
    return [r.split("\t") for r in out.splitlines() if r]


def history_checks():
    """What value_history says about the order versions were applied in.

    Replays (a batch delivered again, an old outbox delivered after newer
    corrections) must change nothing, so the history a key accumulates is
    its versions in increasing order of commit: a row committed in a later
    transaction (received_at is the transaction's start, now()) with a lower
    version than an earlier one means an old version was applied after a
    newer one.  And the row in unit_value is the newest of the key's history
    rows, value and version: the versions guard kept the newest.
    """
    bad = []
    # EXCLUDE GROUP: the maximum over rows of strictly earlier transactions;
    # rows of one transaction share received_at and are not ordered.
    for u, p, i, ver, rec, before in psql(
            "SELECT unit, period, indicator, version, received_at, prev FROM ("
            " SELECT unit, period, indicator, version, received_at,"
            "  max(version) OVER (PARTITION BY unit, period, indicator ORDER BY received_at"
            "   RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS prev"
            " FROM edustat.value_history) h"
            " WHERE prev >= version ORDER BY 1, 2, 3, 5 LIMIT 20"):
        bad.append("value_history: %s/%s/%s version %s committed at %s after version %s "
                   "(an old version applied after a newer one)" % (u, p, i, ver, rec, before))
    for u, p, i, v, ver, hv, hver in psql(
            "SELECT v.unit, v.period, v.indicator, v.value, v.version,"
            "  coalesce(h.value::text, 'none'), coalesce(h.version::text, 'none')"
            " FROM edustat.unit_value v LEFT JOIN ("
            "  SELECT DISTINCT ON (unit, period, indicator) unit, period, indicator, value, version"
            "  FROM edustat.value_history ORDER BY unit, period, indicator, version DESC) h"
            " USING (unit, period, indicator)"
            " WHERE h.version IS DISTINCT FROM v.version OR h.value <> v.value"
            " ORDER BY 1, 2, 3 LIMIT 20"):
        bad.append("unit_value: %s/%s/%s = %s version %s, but its newest history row is "
                   "%s version %s" % (u, p, i, v, ver, hv, hver))
    return bad


def check(cfgdir, out, results, mode):
    status = {}  # (lane, run) -> status
    with open(results) as f:
        for line in f:
            t = line.split()
            if len(t) != 3:
                continue
            lane, run, st = int(t[0]), int(t[1]), t[2]
            if st not in ("ok", "landed", "failed", "failed3"):
                print("workload: bad results line: %r" % line)
                return 2
            # A run killed after its outbox write is listed twice, "landed"
            # by the test that saw its batches there and "failed" by its
            # exit code: landed wins.
            if status.get((lane, run)) == "landed" and st == "failed":
                continue
            status[(lane, run)] = st
    for k, st in status.items():
        # Exit 3 leaves the batches in the outbox; once drained they are
        # delivered like those a killed collector left.  Before the drain
        # the next submit may or may not have delivered them yet.
        if st == "failed3":
            st = "landed"
        if st == "landed" and mode == "weak":
            st = "failed"
        status[k] = st
    want = {}  # key -> (must, set of acceptable values, ABSENT allowed when not must)
    nruns = {"ok": 0, "landed": 0, "failed": 0}
    for (lane, run) in sorted(status):
        st = status[(lane, run)]
        nruns[st] += 1
        for key, v in read_run(run_path(out, lane, run)):
            if st in ("ok", "landed"):
                want[key] = (True, {v})
            else:
                must, vals = want.get(key, (False, {ABSENT}))
                want[key] = (must, vals | {v})
    got = {}
    for u, p, i, v in psql("SELECT unit, period, indicator, value FROM edustat.unit_value"):
        got[(u, p, i)] = Decimal(v)
    bad = []
    must_n = either_n = 0
    for key in sorted(set(want) | set(got)):
        name = "/".join(key)
        if key not in want:
            bad.append("%s = %s is stored but no run submitted it" % (name, got[key]))
            continue
        must, vals = want[key]
        if must and len(vals) == 1:
            must_n += 1
        else:
            either_n += 1
        have = got.get(key, ABSENT)
        if have not in vals:
            shown = sorted("absent" if x is None else str(x) for x in vals)
            bad.append("%s: %s, want %s%s" % (name, "absent" if have is None else have,
                                               " or ".join(shown),
                                               "" if not must else " (committed: submit said so)"))
    for r in psql("SELECT count(*) FROM edustat.rejected"):
        if r[0] != "0":
            bad.append("edustat.rejected holds %s rows; every submitted record was valid" % r[0])
            for x in psql("SELECT coalesce(unit, ''), coalesce(period, ''), "
                          "coalesce(indicator, ''), coalesce(raw, ''), reason "
                          "FROM edustat.rejected ORDER BY id LIMIT 5"):
                bad.append("  rejected: %s" % " ".join(x))
    dups = psql("SELECT unit, period, indicator, version, count(*) FROM edustat.value_history "
                "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1 ORDER BY 1, 2, 3, 4 LIMIT 20")
    for u, p, i, ver, n in dups:
        bad.append("value_history: %s/%s/%s version %s recorded %s times (applied twice)" %
                   (u, p, i, ver, n))
    if mode == "strict":
        # value_history only grows, so a row out of order stays found; once,
        # after the drain, is enough (the queries sort the whole history).
        bad += history_checks()
    for b in bad[:MAX_SHOWN]:
        print("workload: " + b)
    if len(bad) > MAX_SHOWN:
        print("workload: ... and %d more" % (len(bad) - MAX_SHOWN))
    print("workload: %s check of %d runs (%d ok, %d landed, %d failed): %d keys must hold "
          "their committed value, %d may hold either of several; %d stored; %s" %
          (mode, len(status), nruns["ok"], nruns["landed"], nruns["failed"], must_n, either_n,
           len(got), "ok" if not bad else "%d problems" % len(bad)))
    return 0 if not bad else 1


def main(argv):
    try:
        if len(argv) == 8 and argv[0] == "gen":
            return gen(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]),
                       float(argv[7]))
        if len(argv) == 10 and argv[0] == "gen":
            return gen(argv[1], argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]),
                       float(argv[7]), int(argv[8]), float(argv[9]))
        if len(argv) == 5 and argv[0] == "check" and argv[4] in ("weak", "strict"):
            return check(argv[1], argv[2], argv[3], argv[4])
    except ValueError as e:
        sys.stderr.write("workload: %s\n" % e)
        return 2
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
