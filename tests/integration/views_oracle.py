#!/usr/bin/env python3
"""views_oracle: the expected contents of the views offices query
(docs/SQL.md), from the CSV files alone.

It shares nothing with the product: it reads the test city's config
(orgunits, indicators, targets, periods, balance) and the submission files
listed in runs.txt, replays them (the latest value of a key wins; the test
data holds no bad rows), and computes with exact fractions every expected
row of edustat.agg_breakdown, orgunit_closure, target_status, completeness,
balance_cv, balance_school and balance_status.  Then it reads PostgreSQL
through psql (PGHOST, PGPORT, PGUSER, PGDATABASE) and compares.

    views_oracle.py selfcheck DATA_DIR CONFIG_DIR
        Check the oracle against what make_data.py meant: the MoE worked
        example (丁区, books per pupil, CV 0.515, mean 1913/302), the county
        that fails on one CV, the schools that fail the per-school rule.
    views_oracle.py compare DATA_DIR CONFIG_DIR TODAY
        Compare.  CONFIG_DIR is the config the sink loaded (with the
        periods.csv written at test time); TODAY (YYYY-MM-DD) is the
        database's date during the submissions, which decides "on time".
    views_oracle.py empty
        Check that the optional tables and every view built on them are
        empty (a config without targets.csv, periods.csv, balance.csv).

Exit status 0 when everything matches, 1 otherwise.
"""

import csv
import os
import sys
from decimal import ROUND_HALF_UP, Decimal, getcontext
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dbcompare import Report, close, exact, psql, show  # noqa: E402

getcontext().prec = 60
MAX_SHOWN = 25
DIMENSIONS = ("stage", "locality", "ownership")


# ------------------------------------------------------------------ input

def rows_of(path):
    """The rows of a CSV file as dicts; a missing file is no rows."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{k.strip().lower(): (v or "").strip() for k, v in r.items()}
                for r in csv.DictReader(f)]


class City:
    def __init__(self, cfgdir):
        self.unit = {r["code"]: r for r in rows_of(os.path.join(cfgdir, "orgunits.csv"))}
        self.children = {c: [] for c in self.unit}
        for c, r in self.unit.items():
            if r["parent"]:
                self.children[r["parent"]].append(c)
        self.leaf = {c: not ch for c, ch in self.children.items()}
        self.ancestors = {}  # unit -> [self, parent, ..., root]
        for c in self.unit:
            chain, u = [], c
            while u:
                chain.append(u)
                u = self.unit[u]["parent"]
            self.ancestors[c] = chain
        self.below = {c: {u for u in self.unit if c in self.ancestors[u]} for c in self.unit}
        self.depth = {c: len(self.ancestors[c]) - 1 for c in self.unit}
        self.ind = {r["code"]: r for r in rows_of(os.path.join(cfgdir, "indicators.csv"))}
        for r in self.ind.values():
            r["mult"] = Fraction(Decimal(r["multiplier"] or "1"))
        self.targets = rows_of(os.path.join(cfgdir, "targets.csv"))
        self.periods = {r["period"]: r for r in rows_of(os.path.join(cfgdir, "periods.csv"))}
        self.rules = rows_of(os.path.join(cfgdir, "balance.csv"))


def replay(datadir, city):
    """{(unit, period, indicator): Fraction} after every run, in order."""
    value = {}
    with open(os.path.join(datadir, "runs.txt")) as f:
        names = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    for name in names:
        for r in rows_of(os.path.join(datadir, name)):
            assert r["unit"] in city.unit and r["indicator"] in city.ind, r
            value[(r["unit"], r["period"], r["indicator"])] = Fraction(Decimal(r["value"]))
    return value


# ------------------------------------------------------------- the rules

def sqrt_fraction(x):
    if x == 0:
        return Fraction(0)
    return Fraction((Decimal(x.numerator) / Decimal(x.denominator)).sqrt())


def aggregate(city, value, units, period, code):
    """The agg_value semantics over a set of units (the units at or below a
    unit, or the leaves of one category below it): None when no unit of the
    set stores the indicator (a ratio: its numerator or its denominator)."""
    ind = city.ind[code]
    if ind["kind"] != "ratio":
        at = {u: value[(u, period, code)] for u in units if (u, period, code) in value}
        if not at:
            return None
        row = {"value": sum(at.values()), "numerator": None, "denominator": None,
               "n": len(at), "min": None, "max": None, "mean": None, "cv": None}
        xs = [x for u, x in at.items() if city.leaf[u]]
        if xs:
            mean = sum(xs) / len(xs)
            var = sum((x - mean) ** 2 for x in xs) / len(xs)
            row.update(min=min(xs), max=max(xs), mean=mean,
                       cv=None if mean == 0 else sqrt_fraction(var) / mean)
        return row
    nc, dc, mult = ind["numerator"], ind["denominator"], ind["mult"]
    num = {u: value[(u, period, nc)] for u in units if (u, period, nc) in value}
    den = {u: value[(u, period, dc)] for u in units if (u, period, dc) in value}
    if not num and not den:
        return None
    n, d = sum(num.values(), Fraction(0)), sum(den.values(), Fraction(0))
    row = {"value": None if d == 0 else mult * n / d, "numerator": n, "denominator": d,
           "n": len(set(num) | set(den)), "min": None, "max": None, "mean": None, "cv": None}
    q = [u for u in num if u in den and den[u] > 0 and city.leaf[u]]
    if q:
        xs = {u: mult * num[u] / den[u] for u in q}
        w = sum(den[u] for u in q)
        mean = mult * sum(num[u] for u in q) / w
        var = sum(den[u] * (xs[u] - mean) ** 2 for u in q) / w
        row.update(min=min(xs.values()), max=max(xs.values()), mean=mean,
                   cv=None if mean == 0 else sqrt_fraction(var) / mean)
    return row


class Expect:
    def __init__(self, datadir, cfgdir, today=None):
        self.city = c = City(cfgdir)
        self.value = replay(datadir, c)
        self.today = today
        self.data_periods = sorted({p for (_, p, _) in self.value})
        self.known = sorted(set(c.periods) | set(self.data_periods))
        self.nonleaf = [u for u in c.unit if not c.leaf[u]]

    def total(self, unit, period, code):
        return aggregate(self.city, self.value, self.city.below[unit], period, code)

    def slice_leaves(self, unit, dim, cat):
        c = self.city
        return {u for u in c.below[unit] if c.leaf[u] and c.unit[u].get(dim, "") == cat}

    def breakdown(self, unit, period, code, dim, cat):
        return aggregate(self.city, self.value, self.slice_leaves(unit, dim, cat), period, code)

    def breakdowns(self):
        c, out = self.city, {}
        for u in self.nonleaf:
            cats = {(d, c.unit[l][d]) for l in c.below[u] if c.leaf[l]
                    for d in DIMENSIONS if c.unit[l].get(d)}
            for p in self.data_periods:
                for code in c.ind:
                    for d, cat in cats:
                        row = self.breakdown(u, p, code, d, cat)
                        if row:
                            out[(u, p, code, d, cat)] = row
        return out

    def has_stage_below(self, unit, stage):
        c = self.city
        return any(c.leaf[u] and c.unit[u]["stage"] == stage for u in c.below[unit] - {unit})

    def target_status(self):
        c, out = self.city, {}
        for t in self.targets_parsed():
            for u in c.unit:
                if c.unit[u]["level"] != t["level"] or (t["unit"] and u != t["unit"]):
                    continue
                if t["stage"]:
                    if c.leaf[u] and c.unit[u]["stage"] != t["stage"]:
                        continue
                    if not c.leaf[u] and not self.has_stage_below(u, t["stage"]):
                        continue
                for p in self.known:
                    if not t["stage"] or c.leaf[u]:
                        row = self.total(u, p, t["indicator"]) if not c.leaf[u] else \
                            aggregate(c, self.value, {u}, p, t["indicator"])
                    else:
                        row = self.breakdown(u, p, t["indicator"], "stage", t["stage"])
                    v = row["value"] if row else None
                    met = None if v is None else {
                        ">=": v >= t["value"], "<=": v <= t["value"], "=": v == t["value"],
                        ">": v > t["value"], "<": v < t["value"]}[t["op"]]
                    key = (u, p, t["indicator"], t["stage"] or None, t["op"], t["value"])
                    out[key] = {"level": c.unit[u]["level"], "value": v, "met": met,
                                "gap": None if v is None else v - t["value"],
                                "source": t["source"] or None}
        return out

    def targets_parsed(self):
        return [dict(t, value=Fraction(Decimal(t["value"]))) for t in self.city.targets]

    def completeness(self):
        c, out = self.city, {}
        for u in self.nonleaf:
            leaves = sorted(l for l in c.below[u] - {u} if c.leaf[l])
            stages = sorted({c.unit[l]["stage"] for l in leaves if c.unit[l]["stage"]})
            for p, pr in c.periods.items():
                on_time_ok = self.today is not None and self.today <= pr["due"]
                for st in [None] + stages:
                    group = [l for l in leaves if st is None or c.unit[l]["stage"] == st]
                    rep = [l for l in group
                           if any(k[0] == l and k[1] == p for k in self.value)]
                    miss = [l for l in group if l not in rep]
                    out[(u, p, st)] = {
                        "level": c.unit[u]["level"], "due": pr["due"],
                        "expected": len(group), "reported": len(rep),
                        "on_time": len(rep) if on_time_ok else 0,
                        "rate": (Decimal(100 * len(rep)) / Decimal(len(group))).quantize(
                            Decimal("0.01"), rounding=ROUND_HALF_UP),
                        "missing": "; ".join("%s %s" % (l, c.unit[l]["name"]) for l in miss),
                    }
        return out

    def balance_cv(self):
        c, out = self.city, {}
        for r in c.rules:
            if not r["cv_max"]:
                continue
            cv_max = Fraction(Decimal(r["cv_max"]))
            for u in self.nonleaf:
                if not self.has_stage_below(u, r["stage"]):
                    continue
                for p in self.known:
                    row = self.breakdown(u, p, r["indicator"], "stage", r["stage"])
                    cv = row["cv"] if row else None
                    mean = row["mean"] if row else None
                    out[(r["standard"], u, p, r["stage"], r["indicator"])] = {
                        "level": c.unit[u]["level"], "mean": mean, "cv": cv,
                        "cv_max": r["cv_max"], "cv_ok": None if cv is None else cv <= cv_max}
        return out

    def school_value(self, school, period, code):
        """The school's own value, None unless it is defined (a ratio: both
        parts stored and the denominator above 0)."""
        ind = self.city.ind[code]
        if ind["kind"] != "ratio":
            return self.value.get((school, period, code))
        n = self.value.get((school, period, ind["numerator"]))
        d = self.value.get((school, period, ind["denominator"]))
        if n is None or d is None or d == 0:
            return None
        return ind["mult"] * n / d

    def balance_school(self):
        c, out = self.city, {}
        standards = sorted({(r["standard"], r["stage"]) for r in c.rules if r["school_min"]})
        for std, stage in standards:
            rules = sorted((r for r in c.rules if r["standard"] == std and r["stage"] == stage
                            and r["school_min"]), key=lambda r: r["indicator"])
            for s in c.unit:
                if not c.leaf[s] or c.unit[s]["stage"] != stage:
                    continue
                district = next((a for a in c.ancestors[s] if c.depth[a] == 1), None)
                for p in self.known:
                    met = above = 0
                    missed = []
                    for r in rules:
                        m = Fraction(Decimal(r["school_min"]))
                        x = self.school_value(s, p, r["indicator"])
                        ok = x is not None and x >= m
                        a85 = x is not None and x >= Fraction(85, 100) * m
                        met += ok
                        above += ok or a85
                        if ok:
                            continue
                        if x is None:
                            missed.append(r["indicator"] + " no value")
                        else:
                            dec = int(c.ind[r["indicator"]]["decimals"] or 2)
                            missed.append("%s %s < %s%s" % (
                                r["indicator"], trim(rounded(x, dec)), trim(r["school_min"]),
                                "" if a85 else " (below 85%)"))
                    n = len(rules)
                    out[(std, s, p)] = {
                        "name": c.unit[s]["name"], "district": district, "stage": stage,
                        "n": n, "met": met, "missed": "; ".join(missed),
                        "above": above == n, "passes": met >= n - 1 and above == n}
        return out

    def balance_status(self, cvs, schools):
        c, out = self.city, {}
        for (std, u, p, st, ind), r in cvs.items():
            e = out.setdefault((std, u, p, st), {"n": 0, "ok": 0, "failed": [],
                                                   "schools": 0, "passing": 0})
            e["n"] += 1
            e["ok"] += bool(r["cv_ok"])
            if not r["cv_ok"]:
                e["failed"].append((ind, "%s no CV" % ind if r["cv"] is None else
                                    "%s %s > %s" % (ind, rounded(r["cv"], 3), r["cv_max"])))
        for (std, s, p), r in schools.items():
            for a in c.ancestors[s][1:]:
                e = out.setdefault((std, a, p, r["stage"]), {"n": 0, "ok": 0, "failed": [],
                                                               "schools": 0, "passing": 0})
                e["schools"] += 1
                e["passing"] += r["passes"]
        for e in out.values():
            e["failed"] = "; ".join(t for _, t in sorted(e["failed"]))
            e["passes"] = e["ok"] == e["n"] and e["passing"] == e["schools"]
        return out


def rounded(x, places):
    """x rounded half away from zero to places decimals, as PostgreSQL's
    round(numeric, int) does."""
    d = Decimal(x.numerator) / Decimal(x.denominator)
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def trim(d):
    """trim_scale(): the text without trailing fraction zeros."""
    s = str(d)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


# ------------------------------------------------------------- compare

def boolean(s):
    return None if s is None else s == "t"


def diff(rep, key, pairs):
    bad = ["%s %s want %s" % (n, show(g), show(w)) for n, g, w, ok in pairs if not ok]
    if bad:
        rep.add("%s: %s" % (key, "; ".join(bad)))


def compare(datadir, cfgdir, today):
    e = Expect(datadir, cfgdir, today)
    c = e.city
    fails = 0

    rep = Report("orgunit_closure")
    want = {(a, u): i for u in c.unit for i, a in enumerate(c.ancestors[u])}
    got = {(a, u): int(d) for a, u, d in psql(
        "SELECT ancestor, unit, distance FROM edustat.orgunit_closure")}
    for k in rep.keys("closure", want, got):
        diff(rep, k, [("distance", got[k], want[k], got[k] == want[k])])
    fails += rep.print()

    rep = Report("agg_breakdown")
    want = e.breakdowns()
    got = {}
    for r in psql("SELECT unit, period, indicator, dimension, category, level, value,"
                  " numerator, denominator, n_reporting, min, max, mean, cv"
                  " FROM edustat.agg_breakdown"):
        got[tuple(r[:5])] = r[5:]
    for k in rep.keys("agg_breakdown", want, got):
        w, g = want[k], got[k]
        ratio = c.ind[k[2]]["kind"] == "ratio"
        pairs = [("level", g[0], c.unit[k[0]]["level"], g[0] == c.unit[k[0]]["level"]),
                 ("value", g[1], w["value"], close(exact(g[1]), w["value"]) if ratio
                  else exact(g[1]) == w["value"]),
                 ("numerator", g[2], w["numerator"], exact(g[2]) == w["numerator"]),
                 ("denominator", g[3], w["denominator"], exact(g[3]) == w["denominator"]),
                 ("n_reporting", g[4], w["n"], int(g[4]) == w["n"])]
        for i, col in enumerate(("min", "max", "mean", "cv")):
            gv = None if g[5 + i] is None else Fraction(float(g[5 + i]))
            pairs.append((col, g[5 + i], w[col], close(gv, w[col])))
        diff(rep, "/".join(k), pairs)
    fails += rep.print()
    nbreak = len(want)

    rep = Report("target_status")
    want = e.target_status()
    got = {}
    for r in psql("SELECT unit, period, indicator, stage, op, target, level, value, met, gap,"
                  " source FROM edustat.target_status"):
        k = (r[0], r[1], r[2], r[3], r[4], Fraction(Decimal(r[5])))
        if k in got:
            rep.add("duplicate row %s" % (k,))
        got[k] = r[6:]
    for k in rep.keys("target_status", want, got):
        w, g = want[k], got[k]
        diff(rep, k, [("level", g[0], w["level"], g[0] == w["level"]),
                      ("value", g[1], w["value"], close(exact(g[1]), w["value"])),
                      ("met", g[2], w["met"], boolean(g[2]) == w["met"]),
                      ("gap", g[3], w["gap"], close(exact(g[3]), w["gap"])),
                      ("source", g[4], w["source"], g[4] == w["source"])])
    fails += rep.print()
    ntarget = len(want)

    rep = Report("completeness")
    want = e.completeness()
    got = {}
    for r in psql("SELECT unit, period, stage, level, due, expected, reported,"
                  " reported_on_time, rate, missing FROM edustat.completeness"):
        got[(r[0], r[1], r[2])] = r[3:]
    for k in rep.keys("completeness", want, got):
        w, g = want[k], got[k]
        diff(rep, k, [("level", g[0], w["level"], g[0] == w["level"]),
                      ("due", g[1], w["due"], g[1] == w["due"]),
                      ("expected", g[2], w["expected"], int(g[2]) == w["expected"]),
                      ("reported", g[3], w["reported"], int(g[3]) == w["reported"]),
                      ("reported_on_time", g[4], w["on_time"], int(g[4]) == w["on_time"]),
                      ("rate", g[5], w["rate"], Decimal(g[5]) == w["rate"]),
                      ("missing", g[6], w["missing"], g[6] == w["missing"])])
    fails += rep.print()

    rep = Report("balance_cv")
    cvs = e.balance_cv()
    got = {}
    for r in psql("SELECT standard, unit, period, stage, indicator, level, mean, cv, cv_max,"
                  " cv_ok FROM edustat.balance_cv"):
        got[tuple(r[:5])] = r[5:]
    for k in rep.keys("balance_cv", cvs, got):
        w, g = cvs[k], got[k]
        diff(rep, k, [("level", g[0], w["level"], g[0] == w["level"]),
                      ("mean", g[1], w["mean"], close(None if g[1] is None
                                                      else Fraction(float(g[1])), w["mean"])),
                      ("cv", g[2], w["cv"], close(None if g[2] is None
                                                  else Fraction(float(g[2])), w["cv"])),
                      ("cv_max", g[3], w["cv_max"], g[3] == w["cv_max"]),
                      ("cv_ok", g[4], w["cv_ok"], boolean(g[4]) == w["cv_ok"])])
    fails += rep.print()

    rep = Report("balance_school")
    schools = e.balance_school()
    got = {}
    for r in psql("SELECT standard, school, period, name, district, stage, n_indicators,"
                  " n_met, missed, all_above_85pct, passes FROM edustat.balance_school"):
        got[tuple(r[:3])] = r[3:]
    for k in rep.keys("balance_school", schools, got):
        w, g = schools[k], got[k]
        diff(rep, k, [("name", g[0], w["name"], g[0] == w["name"]),
                      ("district", g[1], w["district"], g[1] == w["district"]),
                      ("stage", g[2], w["stage"], g[2] == w["stage"]),
                      ("n_indicators", g[3], w["n"], int(g[3]) == w["n"]),
                      ("n_met", g[4], w["met"], int(g[4]) == w["met"]),
                      ("missed", g[5], w["missed"], g[5] == w["missed"]),
                      ("all_above_85pct", g[6], w["above"], boolean(g[6]) == w["above"]),
                      ("passes", g[7], w["passes"], boolean(g[7]) == w["passes"])])
    fails += rep.print()

    rep = Report("balance_status")
    want = e.balance_status(cvs, schools)
    got = {}
    for r in psql("SELECT standard, unit, period, stage, level, n_indicators, n_cv_ok,"
                  " cv_failed, schools, schools_passing, passes FROM edustat.balance_status"):
        got[tuple(r[:4])] = r[4:]
    for k in rep.keys("balance_status", want, got):
        w, g = want[k], got[k]
        level = c.unit[k[1]]["level"]
        diff(rep, k, [("level", g[0], level, g[0] == level),
                      ("n_indicators", g[1], w["n"], int(g[1]) == w["n"]),
                      ("n_cv_ok", g[2], w["ok"], int(g[2]) == w["ok"]),
                      ("cv_failed", g[3], w["failed"], g[3] == w["failed"]),
                      ("schools", g[4], w["schools"], int(g[4]) == w["schools"]),
                      ("schools_passing", g[5], w["passing"], int(g[5]) == w["passing"]),
                      ("passes", g[6], w["passes"], boolean(g[6]) == w["passes"])])
    fails += rep.print()

    if not fails:
        print("compare: the views match the oracle (%d breakdown rows, %d target rows, "
              "%d balance_school rows)" % (nbreak, ntarget, len(schools)))
    return 0 if not fails else 1


# ------------------------------------------------------------ self-check

def selfcheck(datadir, cfgdir):
    e = Expect(datadir, cfgdir, None)
    bad = []
    moe = e.breakdown("990004", "2024", "books_per_pupil", "stage", "primary")
    if moe is None or moe["cv"] is None or round(float(moe["cv"]), 3) != 0.515 or \
            moe["mean"] != Fraction(1913, 302):
        bad.append("MoE example: 丁区 books_per_pupil primary breakdown is %s, want cv 0.515 "
                   "and mean 1913/302" % moe)
    else:
        print("oracle: MoE example 丁区 2024 books_per_pupil cv = %.6f (0.515), mean = 1913/302"
              % float(moe["cv"]))
    cvs = e.balance_cv()
    failed = sorted(k for k, r in cvs.items()
                    if k[0] == "优质均衡" and k[2] == "2024" and k[1] != "990000"
                    and k[1] != "990004" and r["cv_ok"] is not True)
    if failed != [("优质均衡", "990002", "2024", "primary", "equip_value_per_pupil")]:
        bad.append("CV failures in 2024 (counties 甲乙丙, towns) are %s, want only 乙区's "
                   "primary equipment" % failed)
    schools = e.balance_school()
    failing = sorted(k[1] for k, r in schools.items()
                     if k[0] == "优质均衡" and k[2] == "2024" and not r["passes"]
                     and not k[1].startswith("D"))
    if failing != ["P31", "P32", "P35"]:
        bad.append("failing schools in 2024 are %s, want P31, P32, P35" % failing)
    for s, want in (("P33", True), ("P34", True)):
        if schools[("优质均衡", s, "2024")]["passes"] != want:
            bad.append("%s should pass in 2024" % s)
    for b in bad:
        print("oracle selfcheck: " + b)
    if not bad:
        print("oracle: selfcheck ok")
    return 0 if not bad else 1


def empty():
    bad = 0
    for rel in ("target", "report_period", "balance_rule", "target_status", "completeness",
                "balance_cv", "balance_school", "balance_status"):
        n = int(psql("SELECT count(*) FROM edustat.%s" % rel)[0][0])
        if n:
            print("empty: edustat.%s has %d rows, want none" % (rel, n))
            bad = 1
    if not bad:
        print("empty: the optional tables and their views are empty")
    return bad


def main(argv):
    if len(argv) == 3 and argv[0] == "selfcheck":
        return selfcheck(argv[1], argv[2])
    if len(argv) == 4 and argv[0] == "compare":
        return compare(argv[1], argv[2], argv[3])
    if len(argv) == 1 and argv[0] == "empty":
        return empty()
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
