#!/usr/bin/env python3
"""oracle: the expected state of the integration test, from the CSV files alone.

It shares nothing with the product.  It reads the test city's config and the
submission files listed in data/runs.txt, replays them as
docs/PROTOCOL.md and docs/SQL.md say, and computes every expected row of
unit_value, value_history, rejected and agg_value with exact arithmetic (fractions.Fraction for sums and
means, decimal square roots at 60 digits for sigma).  Then it compares with
PostgreSQL, read through psql.

    oracle.py selfcheck DATA_DIR
        Check the oracle against itself: the MoE worked example inside the
        data (cv 0.515), the hand-written FILE.expect lists, and that every
        "identical" run changes nothing.
    oracle.py stderr DATA_DIR STDERR_FILE ARGS...
        Check one collector run's stderr: exactly the expected "FILE:LINE: "
        lines, each with a reason matching FILE.expect.
    oracle.py compare DATA_DIR
        Compare PostgreSQL (PGHOST/PGPORT/PGUSER/PGDATABASE) with the
        expected state.  Prints the first 20 mismatches of each table.

Exit status 0 when everything matches, 1 otherwise.
"""

import os
import re
import sys
from decimal import Decimal, InvalidOperation, getcontext
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dbcompare import MAX_SHOWN, Report, close, exact, psql, show  # noqa: E402

getcontext().prec = 60

LIMIT = Decimal(10) ** 15


# ------------------------------------------------------------------ CSV

def csv_rows(path):
    """RFC 4180 rows of a file as (start_line, [fields]).

    A UTF-8 BOM is skipped, LF, CRLF and CR end lines, quoted fields may hold
    commas, doubled quotes and line breaks, and blank lines are skipped.  The
    line is the physical line the row starts on.  Written here, not borrowed
    from the csv module, so the line numbers are computed independently.
    """
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = data.decode("utf-8")
    rows = []
    i, n, line = 0, len(text), 1
    while i < n:
        start = line
        fields = []
        while True:
            buf = []
            if i < n and text[i] == '"':
                i += 1
                while True:
                    if i >= n:
                        raise ValueError("%s:%d: unterminated quote" % (path, start))
                    c = text[i]
                    if c == '"':
                        if i + 1 < n and text[i + 1] == '"':
                            buf.append('"')
                            i += 2
                            continue
                        i += 1
                        break
                    if c == "\r" and i + 1 < n and text[i + 1] == "\n":
                        buf.append("\r\n")
                        i += 2
                        line += 1
                        continue
                    if c in "\r\n":
                        line += 1
                    buf.append(c)
                    i += 1
            while i < n and text[i] not in ",\r\n":
                buf.append(text[i])
                i += 1
            fields.append("".join(buf))
            if i < n and text[i] == ",":
                i += 1
                continue
            break
        if i < n:  # end of line
            if text[i] == "\r" and i + 1 < n and text[i + 1] == "\n":
                i += 2
            else:
                i += 1
            line += 1
        if fields == [""]:
            continue  # blank line
        rows.append((start, fields))
    return rows


# --------------------------------------------------------------- config

class Config:
    def __init__(self, cfgdir):
        self.units = {}      # code -> (parent, level)
        self.children = {}
        rows = csv_rows(os.path.join(cfgdir, "orgunits.csv"))
        hdr = [h.strip() for h in rows[0][1]]
        for _, f in rows[1:]:
            r = dict(zip(hdr, f))
            self.units[r["code"]] = (r["parent"], r["level"])
            self.children.setdefault(r["code"], [])
        for code, (parent, _) in self.units.items():
            if parent:
                self.children[parent].append(code)
        self.leaf = {c: not ch for c, ch in self.children.items()}
        self.below = {}  # code -> set of units at or below
        for c in self.units:
            seen, todo = set(), [c]
            while todo:
                u = todo.pop()
                seen.add(u)
                todo.extend(self.children[u])
            self.below[c] = seen
        self.ind = {}
        rows = csv_rows(os.path.join(cfgdir, "indicators.csv"))
        hdr = [h.strip() for h in rows[0][1]]
        for _, f in rows[1:]:
            r = dict(zip(hdr, f))
            self.ind[r["code"]] = r
        for r in self.ind.values():
            if r["kind"] == "ratio":
                r["mult"] = Fraction(Decimal(r["multiplier"] or "1"))
            r["scale"] = int(r["decimals"] or 0) if r["kind"] == "amount" else 0


# ------------------------------------------------------------- the rules

PERIOD = re.compile(r"^(\d{4})(S[12]|Q[1-4]|0[1-9]|1[0-2])?$")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$")


def period_ok(p):
    m = PERIOD.match(p)
    return bool(m) and 1900 <= int(m.group(1)) <= 2199


def check_value(text, ind):
    """(Decimal, None) when the value is acceptable, else (None, kind)."""
    t = text.strip()
    if t == "":
        return None, "empty"
    if t.lstrip("+-").lower() in ("nan", "inf", "infinity"):
        return None, "nonfinite"
    if not NUMBER.match(t):
        return None, "syntax"
    try:
        d = Decimal(t)
    except InvalidOperation:
        return None, "syntax"
    if d < 0:
        return None, "negative"
    if d > LIMIT:
        return None, "range"
    if (d * (Decimal(10) ** ind["scale"])) % 1 != 0:
        return None, "precision"
    return d, None


def check_record(cfg, unit, period, indicator, value):
    """None when the record is accepted, else a short reason kind."""
    if unit not in cfg.units:
        return "unknown unit"
    if not period_ok(period):
        return "bad period"
    ind = cfg.ind.get(indicator)
    if ind is None:
        return "unknown indicator"
    if ind["kind"] == "ratio":
        return "ratio"
    _, why = check_value(value, ind)
    return why


def file_records(cfg, path, unit_flag, period_flag):
    """The file as the collector and the aggregator see it.

    Returns [(line, key or None, Decimal or None, reject kind or None)].
    """
    rows = csv_rows(path)
    if not rows:
        return []
    hline, header = rows[0]
    names = [h.strip().lower() for h in header]
    need = ["indicator", "value"]
    if unit_flag is None:
        need.append("unit")
    if period_flag is None:
        need.append("period")
    if any(c not in names for c in need):
        return [(hline, None, None, "missing column")]
    col = {c: names.index(c) for c in ("unit", "period", "indicator", "value") if c in names}
    out = []
    for line, f in rows[1:]:
        if len(f) != len(header):
            out.append((line, None, None, "field count"))
            continue
        f = [x.strip() for x in f]
        unit = f[col["unit"]] if "unit" in col else ""
        period = f[col["period"]] if "period" in col else ""
        unit = unit or (unit_flag or "")
        period = period or (period_flag or "")
        indicator, value = f[col["indicator"]], f[col["value"]]
        why = check_record(cfg, unit, period, indicator, value)
        if why:
            out.append((line, None, None, why))
            continue
        d, _ = check_value(value, cfg.ind[indicator])
        out.append((line, (unit, period, indicator), d, None))
    return out


def read_runs(datadir):
    runs = []
    with open(os.path.join(datadir, "runs.txt")) as f:
        for raw in f:
            t = raw.split()
            if not t or t[0].startswith("#"):
                continue
            runs.append((t[0], int(t[1]), t[2:]))
    return runs


def parse_args(args):
    unit = period = None
    files = []
    i = 0
    while i < len(args):
        if args[i] == "--unit":
            unit = args[i + 1]
            i += 2
        elif args[i] == "--period":
            period = args[i + 1]
            i += 2
        else:
            files.append(args[i])
            i += 1
    return unit, period, files


class Replay:
    """The contract applied to the runs in order: the expected database."""

    def __init__(self, datadir):
        self.cfg = Config(os.path.join(datadir, "config"))
        self.value = {}     # key -> Decimal
        self.history = {}   # key -> [Decimal, ...] in acceptance order
        self.rejects = {}   # file basename -> [(line, kind), ...] over all runs
        self.run_rejects = []  # per run: {basename: [(line, kind)]}
        self.run_changes = []  # per run: number of changed keys
        self.runs = read_runs(datadir)
        for kind, _, args in self.runs:
            rej, changes = {}, 0
            if kind == "restart":
                self.run_rejects.append(rej)
                self.run_changes.append(0)
                continue
            unit, period, files = parse_args(args)
            for name in files:
                base = os.path.basename(name)
                rej.setdefault(base, [])
                for line, key, d, why in file_records(self.cfg, os.path.join(datadir, name),
                                                      unit, period):
                    if why:
                        rej[base].append((line, why))
                        self.rejects.setdefault(base, []).append((line, why))
                        continue
                    # The latest version wins; the same value again is no change.
                    if key in self.value and self.value[key] == d:
                        continue
                    self.value[key] = d
                    self.history.setdefault(key, []).append(d)
                    changes += 1
            self.run_rejects.append(rej)
            self.run_changes.append(changes)

    def aggregates(self):
        """Every expected agg_value row: key -> dict."""
        cfg = self.cfg
        stored = {}  # (period, indicator) -> {unit: Fraction}
        for (u, p, i), d in self.value.items():
            stored.setdefault((p, i), {})[u] = Fraction(d)
        periods = sorted({p for p, _ in stored})
        out = {}
        for p in periods:
            for code, ind in cfg.ind.items():
                if ind["kind"] == "ratio":
                    num = stored.get((p, ind["numerator"]), {})
                    den = stored.get((p, ind["denominator"]), {})
                    for u in cfg.units:
                        row = ratio_row(cfg, u, num, den, ind["mult"])
                        if row:
                            out[(u, p, code)] = row
                else:
                    vals = stored.get((p, code), {})
                    for u in cfg.units:
                        row = plain_row(cfg, u, vals)
                        if row:
                            out[(u, p, code)] = row
        return out


def sqrt_fraction(x):
    """sqrt of a non-negative Fraction, as a Fraction, to 60 digits."""
    if x == 0:
        return Fraction(0)
    d = (Decimal(x.numerator) / Decimal(x.denominator)).sqrt()
    return Fraction(d)


def plain_row(cfg, u, vals):
    at = [w for w in cfg.below[u] if w in vals]
    if not at:
        return None
    row = {"value": sum(vals[w] for w in at), "numerator": None, "denominator": None,
           "n": len(at), "min": None, "max": None, "mean": None, "cv": None}
    xs = [vals[w] for w in at if cfg.leaf[w]]
    if xs:
        mean = sum(xs) / len(xs)
        var = sum((x - mean) ** 2 for x in xs) / len(xs)
        row.update(min=min(xs), max=max(xs), mean=mean,
                   cv=None if mean == 0 else sqrt_fraction(var) / mean)
    return row


def ratio_row(cfg, u, num, den, mult):
    below = cfg.below[u]
    at = [w for w in below if w in num or w in den]
    if not at:
        return None
    n = sum(num.get(w, 0) for w in below)
    d = sum(den.get(w, 0) for w in below)
    row = {"value": None if d == 0 else mult * Fraction(n) / d, "numerator": Fraction(n),
           "denominator": Fraction(d), "n": len(at), "min": None, "max": None,
           "mean": None, "cv": None}
    q = [w for w in at if cfg.leaf[w] and w in num and w in den and den[w] > 0]
    if q:
        xs = {w: mult * num[w] / den[w] for w in q}
        sd = sum(den[w] for w in q)
        mean = mult * sum(num[w] for w in q) / sd
        var = sum(den[w] * (xs[w] - mean) ** 2 for w in q) / sd
        row.update(min=min(xs.values()), max=max(xs.values()), mean=mean,
                   cv=None if mean == 0 else sqrt_fraction(var) / mean)
    return row


# ------------------------------------------------------------ self-check

def read_expect(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for raw in f:
                raw = raw.rstrip("\n")
                if raw:
                    line, rx = raw.split("\t", 1)
                    out.append((int(line), rx))
    return out


def selfcheck(datadir):
    rp = Replay(datadir)
    bad = []
    # 1. The MoE worked example (indicators-research.md §2) sits in 南湖区.
    aggs = rp.aggregates()
    moe = aggs.get(("330183", "2024", "books_per_pupil"))
    if moe is None or moe["cv"] is None:
        bad.append("MoE example: no books_per_pupil cv for 330183 2024")
    else:
        cv = float(moe["cv"])
        if round(cv, 3) != 0.515 or moe["mean"] != Fraction(1913, 302):
            bad.append("MoE example: cv %.6f mean %s, want 0.515 and 1913/302" %
                       (cv, moe["mean"]))
        else:
            print("oracle: MoE example 330183 2024 books_per_pupil cv = %.6f (0.515), "
                  "mean = 1913/302" % cv)
    # 2. The oracle's rejections agree with the hand-written expect lists.
    for base in sorted(set(rp.rejects) | {f[:-7] for f in os.listdir(datadir)
                                          if f.endswith(".expect")}):
        want = [l for l, _ in read_expect(os.path.join(datadir, base + ".expect"))]
        got = [l for l, _ in rp.rejects.get(base, [])]
        if sorted(got) != sorted(want):
            bad.append("%s: oracle rejects lines %s, %s.expect says %s" %
                       (base, got, base, want))
    # 3. "identical" runs are no-ops in the replay too.
    for k, (kind, _, args) in enumerate(rp.runs):
        if kind == "identical" and rp.run_changes[k]:
            bad.append("run %d (%s) is meant to be identical but changes %d keys" %
                       (k + 1, " ".join(args), rp.run_changes[k]))
    # 4. Exit codes in runs.txt agree with the rejections.
    for k, (kind, code, args) in enumerate(rp.runs):
        if kind == "restart":
            continue
        nrej = sum(len(v) for v in rp.run_rejects[k].values())
        if (code == 1) != (nrej > 0):
            bad.append("run %d (%s): exit %d in runs.txt but %d rejections" %
                       (k + 1, " ".join(args), code, nrej))
    for b in bad:
        print("oracle selfcheck: " + b)
    if not bad:
        print("oracle: selfcheck ok (%d keys, %d aggregate rows, %d rejections)" %
              (len(rp.value), len(aggs), sum(len(v) for v in rp.rejects.values())))
    return 0 if not bad else 1


# -------------------------------------------------------------- stderr

STDERR_LINE = re.compile(r"^(.+?):(\d+): (.*)$")


def check_stderr(datadir, errfile, args):
    _, _, files = parse_args(args)
    want = {}
    for name in files:
        for line, rx in read_expect(os.path.join(datadir, os.path.basename(name) + ".expect")):
            want[(name, line)] = rx
    got = {}
    bad = []
    with open(errfile, encoding="utf-8", errors="replace") as f:
        for raw in f:
            m = STDERR_LINE.match(raw.rstrip("\n"))
            if not m or m.group(1) not in files:
                continue
            k = (m.group(1), int(m.group(2)))
            if k in got:
                bad.append("%s:%d reported twice" % k)
            got[k] = m.group(3)
    for k, rx in sorted(want.items()):
        if k not in got:
            bad.append("missing rejection line %s:%d: (reason like /%s/)" % (k[0], k[1], rx))
        elif not got[k].strip():
            bad.append("%s:%d: has no reason" % k)
        elif not re.search(rx, got[k], re.IGNORECASE):
            bad.append("%s:%d: reason %r does not match /%s/" % (k[0], k[1], got[k], rx))
    for k in sorted(set(got) - set(want)):
        bad.append("unexpected rejection line %s:%d: %s" % (k[0], k[1], got[k]))
    for b in bad[:MAX_SHOWN]:
        print("stderr: " + b)
    if len(bad) > MAX_SHOWN:
        print("stderr: ... and %d more" % (len(bad) - MAX_SHOWN))
    return 0 if not bad else 1


# ------------------------------------------------------------- compare

def flt(s):
    return None if s is None else Fraction(float(s))


def compare(datadir):
    rp = Replay(datadir)
    cfg = rp.cfg
    fails = 0

    # unit_value: the latest accepted value of every key, nothing else.
    rep = Report("unit_value")
    got = {}
    versions = {}
    for u, p, i, v, ver in psql("SELECT unit, period, indicator, value, version "
                                "FROM edustat.unit_value"):
        got[(u, p, i)] = Decimal(v)
        versions[(u, p, i)] = int(ver)
    for k in sorted(set(rp.value) | set(got)):
        if k not in got:
            rep.add("missing %s: want %s" % ("/".join(k), rp.value[k]))
        elif k not in rp.value:
            rep.add("extra %s = %s" % ("/".join(k), got[k]))
        elif got[k] != rp.value[k]:
            rep.add("%s: value %s, want %s" % ("/".join(k), got[k], rp.value[k]))
    fails += rep.print()

    # value_history: every accepted change, in version order.
    rep = Report("value_history")
    hist = {}
    hver = {}
    for u, p, i, v, ver in psql("SELECT unit, period, indicator, value, version "
                                "FROM edustat.value_history ORDER BY version, received_at"):
        hist.setdefault((u, p, i), []).append(Decimal(v))
        hver[(u, p, i)] = max(hver.get((u, p, i), 0), int(ver))
    for k in sorted(set(rp.history) | set(hist)):
        want, have = rp.history.get(k, []), hist.get(k, [])
        if want != have:
            rep.add("%s: history %s, want %s" % ("/".join(k), [str(x) for x in have],
                                                [str(x) for x in want]))
        elif k in versions and versions[k] != hver.get(k):
            rep.add("%s: unit_value.version %s but latest history version %s" %
                    ("/".join(k), versions[k], hver.get(k)))
    fails += rep.print()

    # rejected: every expected (source, line) once, with a reason, the raw
    # text and a time.
    rep = Report("rejected")
    want_rx = {}
    for base in rp.rejects:
        for line, rx in read_expect(os.path.join(datadir, base + ".expect")):
            want_rx[(base, line)] = rx
    got = {}
    for src, line, reason, raw, at in psql(
            "SELECT source, line, reason, coalesce(raw, '') <> '', received_at IS NOT NULL "
            "FROM edustat.rejected"):
        base = os.path.basename(src or "")
        got.setdefault(base, []).append((None if line is None else int(line),
                                         reason or ""))
        if raw != "t" or at != "t":
            rep.add("%s:%s: rejected row without its raw text or its time" % (base, line))
    for base in sorted(set(rp.rejects) | set(got)):
        want = rp.rejects.get(base, [])
        have = got.get(base, [])
        if len(have) != len(want):
            rep.add("%s: %d rejected rows, want %d" % (base, len(have), len(want)))
        have_lines = {}
        for line, reason in have:
            have_lines.setdefault(line, []).append(reason)
        for line, _ in want:
            rs = have_lines.get(line)
            if not rs:
                rep.add("%s:%d: no rejected row" % (base, line))
            elif not all(r.strip() for r in rs):
                rep.add("%s:%d: rejected row without a reason" % (base, line))
            elif (base, line) in want_rx and not any(
                    re.search(want_rx[(base, line)], r, re.IGNORECASE) for r in rs):
                rep.add("%s:%d: reason %r does not match /%s/" %
                        (base, line, rs[0], want_rx[(base, line)]))
        wanted = {l for l, _ in want}
        for line, reason in have:
            if line not in wanted:
                rep.add("%s:%s: unexpected rejected row: %s" % (base, line, reason))
    fails += rep.print()

    # agg_value: every expected row and no other, exact sums, close floats.
    rep = Report("agg_value")
    want = rp.aggregates()
    got = {}
    cols = ("unit, level, period, indicator, value, numerator, denominator, n_reporting, "
            "min, max, mean, cv")
    for r in psql("SELECT %s FROM edustat.agg_value" % cols):
        k = (r[0], r[2], r[3])
        if k in got:
            rep.add("%s: more than one row" % "/".join(k))
        got[k] = r
    for k in sorted(set(want) | set(got)):
        name = "/".join(k)
        if k not in got:
            w = want[k]
            rep.add("missing %s (want value %s, n_reporting %d)" % (name, show(w["value"]),
                                                                     w["n"]))
            continue
        if k not in want:
            rep.add("extra %s: %s" % (name, got[k][4:]))
            continue
        w, g = want[k], got[k]
        ratio = cfg.ind[k[2]]["kind"] == "ratio"
        diffs = []
        if g[1] != cfg.units[k[0]][1]:
            diffs.append("level %s want %s" % (g[1], cfg.units[k[0]][1]))
        if ratio:
            for col, idx in (("numerator", 5), ("denominator", 6)):
                if exact(g[idx]) != w[col]:
                    diffs.append("%s %s want %s" % (col, g[idx], show(w[col])))
            if not close(exact(g[4]), w["value"]):
                diffs.append("value %s want %s" % (g[4], show(w["value"])))
        elif exact(g[4]) != w["value"]:
            diffs.append("value %s want %s" % (g[4], show(w["value"])))
        if g[7] is None or int(g[7]) != w["n"]:
            diffs.append("n_reporting %s want %d" % (g[7], w["n"]))
        for col, idx in (("min", 8), ("max", 9), ("mean", 10), ("cv", 11)):
            if not close(flt(g[idx]), w[col]):
                diffs.append("%s %s want %s" % (col, g[idx] or "NULL", show(w[col])))
        if diffs:
            rep.add("%s: %s" % (name, "; ".join(diffs)))
    fails += rep.print()
    if not fails:
        print("compare: PostgreSQL matches the oracle (%d values, %d aggregate rows, "
              "%d rejections)" % (len(rp.value), len(want),
                                  sum(len(v) for v in rp.rejects.values())))
    return 0 if not fails else 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "selfcheck":
        return selfcheck(argv[1])
    if len(argv) >= 3 and argv[0] == "stderr":
        return check_stderr(argv[1], argv[2], argv[3:])
    if len(argv) >= 2 and argv[0] == "compare":
        return compare(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
