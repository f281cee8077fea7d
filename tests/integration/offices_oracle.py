#!/usr/bin/env python3
"""offices_oracle.py: the independent side of tests/integration/offices.sh.

    offices_oracle.py data DIR      write a small city (DIR/config) and its
                                    values (DIR/values_*.csv), every kind of
                                    period, with targets dated every way
    offices_oracle.py compare DIR   read the views agg_change, target_status
                                    and target_path through psql (PGHOST,
                                    PGPORT, PGUSER, PGDATABASE) and compare
                                    them with what this script computes from
                                    DIR alone
    offices_oracle.py export DIR FILE UNIT PERIOD
                                    check the 过录表 FILE (.csv or .xlsx,
                                    read back with zipfile and the XML
                                    parser) that edustat-report export wrote
                                    for UNIT and PERIOD: every school's cell
                                    its submitted value (unit_value), the
                                    district subtotals and the total the
                                    rollup of DIR's values (agg_value)

Nothing here calls edustat code: the rollup (sums, ratio of sums), the
previous year of a period, when a target is in force and the straight path
from a baseline are computed again from the CSV files, exactly (Fraction).
Values derived from a ratio are stored by PostgreSQL with about 20
significant digits, so those are compared within 1e-12 (relative); sums
and their changes must be equal.
"""

import csv
import io
import os
import re
import zipfile
import xml.etree.ElementTree as ET
import random
import sys
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dbcompare import psql  # noqa: E402

ORGUNITS = [
    # code, parent, level, name, stage
    ("C", "", "city", "测试市", ""),
    ("D1", "C", "district", "甲区", ""),
    ("D2", "C", "district", "乙县", ""),
    ("S11", "D1", "school", "甲区一小", "primary"),
    ("S12", "D1", "school", "甲区二小", "primary"),
    ("S21", "D2", "school", "乙县一小", "primary"),
    ("K21", "D2", "school", "乙县幼儿园", "kindergarten"),
]

INDICATORS = [
    # code, name_zh, unit, kind, numerator, denominator, multiplier, decimals
    ("pupils", "在校生数", "人", "count", "", "", "", ""),
    ("teachers", "专任教师数", "人", "count", "", "", "", ""),
    ("kg_children", "在园幼儿数", "人", "count", "", "", "", ""),
    ("kg_public_children", "公办园在园幼儿数", "人", "count", "", "", "", ""),
    ("teach_area", "教学及辅助用房面积", "m²", "amount", "", "", "", "2"),
    ("pupil_teacher_ratio", "生师比", "人/人", "ratio", "pupils", "teachers", "1", "2"),
    ("kg_public_share", "公办园在园幼儿占比", "%", "ratio", "kg_public_children",
     "kg_children", "100", "2"),
]

# Every kind of period, most with the same period one year earlier;
# 202404 and 2025S2 have none.
PERIODS = ["2023", "2024", "2023S1", "2024S1", "2024Q3", "2025Q3", "202403", "202503",
           "202404", "2025S2"]

TARGETS_HEADER = ["indicator", "level", "unit", "stage", "op", "value", "source", "from", "to",
                  "baseline_period", "baseline"]
TARGETS = [
    # open end, no path
    ["kg_public_share", "district", "", "", ">=", "50", "from 2024", "2024", "", "", ""],
    # open start, a path from the stored value of a half year to a half year
    ["kg_public_share", "city", "C", "", ">=", "60", "by 2024S1", "", "2024S1", "2023S1", ""],
    # quarters as bounds: a plain year inside them is in force, 202403 is not
    ["pupil_teacher_ratio", "district", "", "", "<=", "15", "2024Q3 to 2025Q3", "2024Q3",
     "2025Q3", "", ""],
    # a path from a baseline the document states, op "=" going up
    ["pupils", "school", "", "", "=", "1000", "1000 by 2025", "", "2025", "2023", "800"],
    # a path over months from a stored baseline, going down
    ["teachers", "district", "", "", "<=", "40", "by 202503", "", "202503", "202403", ""],
    # no bounds at all
    ["teach_area", "city", "C", "", ">=", "1", "always", "", "", "", ""],
    # a half year starting before the first quarter, or ending after the
    # last, is not in force; a plain year is
    ["pupils", "district", "", "", ">=", "1", "2023Q2 to 2024Q1", "2023Q2", "2024Q1", "", ""],
]


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def values_for(rng, period):
    """(unit, indicator, value) rows of one period."""
    rows = []
    for unit in ("S11", "S12", "S21"):
        rows.append((unit, "pupils", rng.randint(300, 1500)))
        rows.append((unit, "teachers", rng.randint(20, 90)))
        if rng.random() < 0.8:
            rows.append((unit, "teach_area", "%d.%02d" % (rng.randint(2000, 9000),
                                                          rng.randint(0, 99))))
    for unit in ("K21", "S11"):
        children = rng.randint(100, 400)
        rows.append((unit, "kg_children", children))
        rows.append((unit, "kg_public_children", rng.randint(0, children)))
    # edge cases: a previous value of 0 (no relative change) and a
    # denominator of 0 (no ratio) in some periods
    if period == "2024Q3":
        rows = [r for r in rows if not (r[0] == "S21" and r[1] == "pupils")]
        rows.append(("S21", "pupils", 0))
    if period == "202503":
        rows = [r for r in rows if not (r[0] == "S21" and r[1] == "teachers")]
        rows.append(("S21", "teachers", 0))
    return rows


def make_data(d):
    os.makedirs(os.path.join(d, "config"), exist_ok=True)
    write_csv(os.path.join(d, "config", "orgunits.csv"),
              ["code", "parent", "level", "name", "stage", "locality", "ownership"],
              [list(u) + ["urban", "public"] if u[2] == "school" else list(u) + ["", ""]
               for u in ORGUNITS])
    write_csv(os.path.join(d, "config", "indicators.csv"),
              ["code", "name_zh", "name_en", "unit", "kind", "numerator", "denominator",
               "multiplier", "decimals"],
              [[i[0], i[1], i[0]] + list(i[2:]) for i in INDICATORS])
    write_csv(os.path.join(d, "config", "targets.csv"), TARGETS_HEADER, TARGETS)
    rng = random.Random(int(os.environ.get("EDUSTAT_TEST_SEED", "20261204")))
    for p in PERIODS:
        write_csv(os.path.join(d, "values_%s.csv" % p), ["unit", "period", "indicator", "value"],
                  [(u, p, i, v) for u, i, v in values_for(rng, p)])
    return 0


# ---------------------------------------------------------------- the oracle

def months(p):
    """First and last month of period p, counted from January of year 0."""
    y = int(p[:4]) * 12
    if len(p) == 4:
        return y, y + 11
    k = int(p[5])
    if p[4] == "S":
        return y + 6 * (k - 1), y + 6 * k - 1
    if p[4] == "Q":
        return y + 3 * (k - 1), y + 3 * k - 1
    m = int(p[4:])
    return y + m - 1, y + m - 1


def in_force(p, lo, hi):
    """lo <= p <= hi: years first; a plain year is equal to every part of it."""
    if lo:
        if int(p[:4]) < int(lo[:4]):
            return False
        if int(p[:4]) == int(lo[:4]) and len(p) > 4 and len(lo) > 4 and \
                months(p)[0] < months(lo)[0]:
            return False
    if hi:
        if int(p[:4]) > int(hi[:4]):
            return False
        if int(p[:4]) == int(hi[:4]) and len(p) > 4 and len(hi) > 4 and \
                months(p)[1] > months(hi)[1]:
            return False
    return True


def same_kind_between(first, last):
    """Periods of last's kind whose last month lies in [first's, last's]."""
    out = []
    for y in range(int(first[:4]), int(last[:4]) + 1):
        if len(last) == 4:
            cand = [str(y)]
        elif last[4] == "S":
            cand = ["%dS%d" % (y, k) for k in (1, 2)]
        elif last[4] == "Q":
            cand = ["%dQ%d" % (y, k) for k in range(1, 5)]
        else:
            cand = ["%d%02d" % (y, m) for m in range(1, 13)]
        out += [c for c in cand if months(first)[1] <= months(c)[1] <= months(last)[1]]
    return out


class City:
    def __init__(self, d):
        self.parent = {u[0]: u[1] for u in ORGUNITS}
        self.level = {u[0]: u[2] for u in ORGUNITS}
        self.ind = {i[0]: i for i in INDICATORS}
        self.raw = {}
        for p in PERIODS:
            with open(os.path.join(d, "values_%s.csv" % p), encoding="utf-8") as f:
                for r in csv.DictReader(f):
                    self.raw[(r["unit"], r["period"], r["indicator"])] = \
                        Fraction(Decimal(r["value"]))
        self.agg = self.rollup()

    def below(self, u):
        """u and every unit under it."""
        out = [u]
        for c, p in self.parent.items():
            if p == u:
                out += self.below(c)
        return out

    def rollup(self):
        agg = {}
        for u in self.parent:
            units = self.below(u)
            for p in PERIODS:
                for code, i in self.ind.items():
                    if i[3] != "ratio":
                        got = [self.raw[(x, p, code)] for x in units if (x, p, code) in self.raw]
                        if got:
                            agg[(u, p, code)] = sum(got)
                        continue
                    num = [self.raw[(x, p, i[4])] for x in units if (x, p, i[4]) in self.raw]
                    den = [self.raw[(x, p, i[5])] for x in units if (x, p, i[5]) in self.raw]
                    if not num and not den:
                        continue
                    agg[(u, p, code)] = (None if sum(den) == 0 else
                                         Fraction(Decimal(i[6])) * sum(num) / sum(den))
        return agg


def num(s):
    return None if s is None else Fraction(Decimal(s))


class Checker:
    def __init__(self):
        self.fails = 0

    def fail(self, msg):
        self.fails += 1
        if self.fails <= 40:
            print("FAIL: " + msg)

    def same(self, what, got, want, exact):
        """got (from PostgreSQL) against want (exact)."""
        if got is None or want is None:
            if got is not want:
                self.fail("%s: got %s, want %s" % (what, got, want))
            return
        if exact:
            ok = got == want
        else:
            ok = abs(got - want) <= Fraction(1, 10 ** 12) * max(1, abs(want))
        if not ok:
            self.fail("%s: got %s, want %s" % (what, float(got), float(want)))


def check_change(city, ck):
    want = {}
    for (u, p, i), v in city.agg.items():
        prev = str(int(p[:4]) - 1) + p[4:]
        if (u, prev, i) not in city.agg:
            continue
        pv = city.agg[(u, prev, i)]
        change = None if v is None or pv is None else v - pv
        pct = None if change is None or pv == 0 else 100 * change / pv
        kind, unit = city.ind[i][3], city.ind[i][2]
        pp = change if kind == "ratio" and unit == "%" else None
        want[(u, p, i)] = (prev, v, pv, change, pct, pp)
    got = {}
    for r in psql("SELECT unit, period, indicator, prev_period, value, prev_value, change,"
                  " change_pct, change_pp, level FROM edustat.agg_change"):
        got[(r[0], r[1], r[2])] = r
        if r[9] != city.level.get(r[0]):
            ck.fail("agg_change %s: level %s" % (r[0], r[9]))
    for k in sorted(set(want) - set(got)):
        ck.fail("agg_change lacks %s" % (k,))
    for k in sorted(set(got) - set(want)):
        ck.fail("agg_change has %s, which has no row one year earlier" % (k,))
    kinds = set()
    for k in sorted(set(want) & set(got)):
        w, g = want[k], got[k]
        exact = city.ind[k[2]][3] != "ratio"
        if g[3] != w[0]:
            ck.fail("agg_change %s: prev_period %s, want %s" % (k, g[3], w[0]))
        for n, (gv, wv) in enumerate(zip(g[4:9], w[1:])):
            name = ("value", "prev_value", "change", "change_pct", "change_pp")[n]
            ck.same("agg_change %s %s" % (k, name), num(gv), wv, exact and n < 3)
        kinds.add(len(k[1]) if len(k[1]) == 4 or k[1][4].isdigit() else k[1][4])
    # the data covers every kind of period and both edge cases
    if kinds != {4, 6, "S", "Q"}:
        ck.fail("agg_change covers the period kinds %s only" % sorted(map(str, kinds)))
    if not any(w[4] is None and w[2] == 0 for w in want.values()):
        ck.fail("the data has no previous value of 0")
    if not any(w[1] is None for w in want.values()):
        ck.fail("the data has no ratio with denominator 0")
    return len(want)


def target_units(city, t):
    return [u for u in city.parent if city.level[u] == t["level"]
            and (t["unit"] == "" or u == t["unit"])]


def check_status(city, ck, known):
    want = {}
    for line, t in enumerate((dict(zip(TARGETS_HEADER, r)) for r in TARGETS), start=2):
        for u in target_units(city, t):
            for p in known:
                if in_force(p, t["from"], t["to"]):
                    want[(line, u, p)] = city.agg.get((u, p, t["indicator"]))
    got = {(int(r[0]), r[1], r[2]): num(r[3]) for r in
           psql("SELECT line, unit, period, value FROM edustat.target_status")}
    for k in sorted(set(want) ^ set(got)):
        ck.fail("target_status %s %s" % ("lacks" if k in want else "has, not in force,", k))
    for k in sorted(set(want) & set(got)):
        ck.same("target_status %s value" % (k,), got[k], want[k], False)
    # the cases the targets are there for
    for k, present in (((4, "D1", "2024"), True), ((4, "D1", "202403"), False),
                       ((4, "D1", "202503"), True), ((4, "D1", "2024S1"), False),
                       ((2, "D1", "2023"), False), ((3, "C", "2025Q3"), False),
                       ((7, "C", "2023S1"), True), ((8, "D1", "2023S1"), False),
                       ((8, "D1", "2023"), True), ((8, "D1", "202403"), True),
                       ((8, "D1", "2024S1"), False), ((8, "D2", "2024"), True)):
        if (k in want) != present:
            ck.fail("oracle: %s in force should be %s" % (k, present))
    return len(want)


def check_path(city, ck, known):
    want = {}
    for line, t in enumerate((dict(zip(TARGETS_HEADER, r)) for r in TARGETS), start=2):
        if not t["baseline_period"] or not t["to"]:
            continue
        base_p, to = t["baseline_period"], t["to"]
        lo, hi = months(base_p)[1], months(to)[1]
        periods = set(same_kind_between(base_p, to)) | \
            {p for p in known if lo <= months(p)[1] <= hi}
        target = Fraction(Decimal(t["value"]))
        for u in target_units(city, t):
            b = (Fraction(Decimal(t["baseline"])) if t["baseline"]
                 else city.agg.get((u, base_p, t["indicator"])))
            for p in periods:
                v = city.agg.get((u, p, t["indicator"]))
                exp = None if b is None else b + (target - b) * (months(p)[1] - lo) / (hi - lo)
                up = t["op"] in (">=", ">") or (t["op"] == "=" and b is not None and target >= b)
                on = None if v is None or exp is None else (v >= exp if up else v <= exp)
                want[(line, u, p)] = (b, exp, v, on)
    got = {}
    for r in psql("SELECT line, unit, period, baseline, expected, value, on_track"
                  " FROM edustat.target_path"):
        got[(int(r[0]), r[1], r[2])] = r
    for k in sorted(set(want) ^ set(got)):
        ck.fail("target_path %s %s" % ("lacks" if k in want else "has", k))
    n_on = 0
    for k in sorted(set(want) & set(got)):
        b, exp, v, on = want[k]
        g = got[k]
        ck.same("target_path %s baseline" % (k,), num(g[3]), b, False)
        ck.same("target_path %s expected" % (k,), num(g[4]), exp, False)
        ck.same("target_path %s value" % (k,), num(g[5]), v, False)
        gon = None if g[6] is None else g[6] == "t"
        if gon != on:
            ck.fail("target_path %s on_track %s, want %s" % (k, gon, on))
        n_on += on is True
    if not 0 < n_on < len(want):
        ck.fail("target_path: %d of %d rows on track; the data should have both" %
                (n_on, len(want)))
    return len(want)


def compare(d):
    city = City(d)
    ck = Checker()
    known = sorted({r[0] for r in psql("SELECT period FROM edustat.known_period")})
    if known != sorted(PERIODS):
        ck.fail("known periods %s, want %s" % (known, sorted(PERIODS)))
    n1 = check_change(city, ck)
    n2 = check_status(city, ck, known)
    n3 = check_path(city, ck, known)
    if ck.fails:
        print("offices_oracle: %d differences" % ck.fails)
        return 1
    print("offices_oracle: agg_change %d rows, target_status %d, target_path %d: as computed"
          % (n1, n2, n3))
    return 0


STAGE_ZH = {"kindergarten": "幼儿园", "primary": "小学", "junior": "初中", "senior": "高中"}
FIXED = ["类型(row)", "代码(code)", "名称(name)", "区县(district)", "学段(stage)",
         "城乡(locality)", "办学性质(ownership)"]


def expected_sheet(city, unit, period):
    """The header and rows (as lists of (text, exact value or None)) the
    export of unit for period must hold."""
    below = city.below(unit)
    inds = [i for i in INDICATORS if (unit, period, i[0]) in city.agg]
    inds.sort(key=lambda i: ({"count": 0, "amount": 1}.get(i[3], 2), i[0]))
    names = {u[0]: u for u in ORGUNITS}
    depth = 0
    u = unit
    while names[u][1]:
        u, depth = names[u][1], depth + 1

    def district(x):
        """x's ancestor at depth 1, other than x."""
        chain = []
        while x:
            chain.append(x)
            x = names[x][1]
        return chain[-2] if len(chain) >= 3 else ""

    def cells(x):
        return [city.agg.get((x, period, i[0])) for i in inds]

    schools = sorted((x for x in below if not any(p == x for p in city.parent.values())),
                     key=lambda x: (district(x), x))
    rows = []
    for k, x in enumerate(schools):
        d = district(x)
        n = names[x]
        rows.append(["学校", x, n[3], names[d][3] if d else "", STAGE_ZH.get(n[4], n[4]),
                     "城区", "公办"] + cells(x))
        last = k + 1 == len(schools) or district(schools[k + 1]) != d
        if depth <= 1 and d and last:
            rows.append(["小计", d, names[d][3], names[d][3], "", "", ""] + cells(d))
    rows.append(["合计", unit, names[unit][3], "", "", "", ""] + cells(unit))
    head = FIXED + ["%s(%s)" % (i[1], i[0]) for i in inds]
    return head, rows, inds


def shown(x, decimals):
    d = Decimal(x.numerator) / Decimal(x.denominator)
    return d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def read_csv_export(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"\xef\xbb\xbf"):
        raise ValueError("%s: no UTF-8 byte-order mark" % path)
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
BUILTIN_FORMATS = {0: "General", 1: "0", 2: "0.00"}


def col_index(ref):
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1, int(ref[len(letters):]) - 1


def read_xlsx_export(path):
    """(rows of cell texts or floats, number format of each cell, the frozen
    pane's (rows, columns))."""
    z = zipfile.ZipFile(path)
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS):
            shared.append("".join(t.text or "" for t in si.iter("{%s}t" % NS["m"])))
    styles = ET.fromstring(z.read("xl/styles.xml"))
    fmts = dict(BUILTIN_FORMATS)
    for nf in styles.findall("m:numFmts/m:numFmt", NS):
        fmts[int(nf.get("numFmtId"))] = nf.get("formatCode")
    xf = [fmts.get(int(x.get("numFmtId", "0")), "?")
          for x in styles.findall("m:cellXfs/m:xf", NS)]
    sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    grid, fmt = {}, {}
    for c in sheet.iter("{%s}c" % NS["m"]):
        col, row = col_index(c.get("r"))
        v = c.find("m:v", NS)
        if c.get("t") == "s":
            grid[(row, col)] = shared[int(v.text)]
        elif c.get("t") == "inlineStr":
            grid[(row, col)] = "".join(t.text or "" for t in c.iter("{%s}t" % NS["m"]))
        elif v is not None:
            grid[(row, col)] = Fraction(Decimal(v.text))
        fmt[(row, col)] = xf[int(c.get("s", "0"))]
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    frozen = None
    if pane is not None and pane.get("state") == "frozen":
        frozen = (int(float(pane.get("ySplit", "0"))), int(float(pane.get("xSplit", "0"))))
    nrows = max(r for r, _ in grid) + 1
    ncols = max(c for _, c in grid) + 1
    rows = [[grid.get((r, c)) for c in range(ncols)] for r in range(nrows)]
    return rows, fmt, frozen


def check_export(d, path, unit, period):
    city = City(d)
    ck = Checker()
    head, want, inds = expected_sheet(city, unit, period)
    nf = len(FIXED)
    if path.endswith(".csv"):
        got = read_csv_export(path)
        body = got[1:]
    else:
        got, fmt, frozen = read_xlsx_export(path)
        if frozen != (2, 3):
            ck.fail("%s: frozen pane %s, want the 2 header rows and 3 columns" % (path, frozen))
        if not (got[0][0] or "").startswith("过录表 %s" % period):
            ck.fail("%s: title %r" % (path, got[0][0]))
        got = got[1:]
        body = got[1:]
        for r in range(len(body)):
            for j, i in enumerate(inds):
                f = fmt.get((r + 2, nf + j))
                dec = int(i[7] or "0")
                if f is not None and f != ("0." + "0" * dec if dec else "0"):
                    ck.fail("%s: row %d, %s: number format %s, want %d decimals" %
                            (path, r + 3, i[0], f, dec))
    got_head = [x or "" for x in got[0]] + [""] * (len(head) - len(got[0]))
    if got_head[:len(head)] != head:
        ck.fail("%s: header %s, want %s" % (path, got[0], head))
    if len(body) != len(want):
        ck.fail("%s: %d rows, want %d" % (path, len(body), len(want)))
    for r, (g, w) in enumerate(zip(body, want)):
        g = list(g) + [None] * (len(w) - len(g))
        where = "%s: row %s %s" % (path, w[0], w[1])
        if [x or "" for x in g[:nf]] != w[:nf]:
            ck.fail("%s: fixed columns %s, want %s" % (where, g[:nf], w[:nf]))
        for j, i in enumerate(inds):
            gv, wv = g[nf + j], w[nf + j]
            if path.endswith(".csv"):
                if i[3] == "ratio" and wv is not None:
                    wv = shown(wv, int(i[7] or "0"))
                    gv = Decimal(gv) if gv else None
                else:
                    gv = Fraction(Decimal(gv)) if gv else None
                if gv != wv:
                    ck.fail("%s, %s: %s, want %s" % (where, i[0], gv, wv))
            else:
                if gv in ("", None):
                    gv = None
                ck.same("%s, %s" % (where, i[0]), gv, wv,
                        i[3] != "ratio" and wv is not None and wv.denominator == 1)
    # the unit_value of each school cell, straight from PostgreSQL
    uv = {(r[0], r[1]): Fraction(Decimal(r[2])) for r in
          psql("SELECT unit, indicator, value FROM edustat.unit_value WHERE period = '%s'"
               % period)}
    for g, w in zip(body, want):
        if w[0] != "学校":
            continue
        for j, i in enumerate(inds):
            if i[3] == "ratio":
                continue
            gv = g[nf + j] if nf + j < len(g) else None
            gv = None if gv in ("", None) else Fraction(Decimal(gv)) if isinstance(gv, str) \
                else gv
            if gv != uv.get((w[1], i[0])) and not (
                    isinstance(gv, Fraction) and uv.get((w[1], i[0])) is not None
                    and abs(gv - uv[(w[1], i[0])]) < Fraction(1, 10 ** 9)):
                ck.fail("%s: %s %s is %s, unit_value %s" %
                        (path, w[1], i[0], gv, uv.get((w[1], i[0]))))
    # the subtotals and the total against agg_value, straight from PostgreSQL
    av = {(r[0], r[1]): num(r[2]) for r in
          psql("SELECT unit, indicator, value FROM edustat.agg_value WHERE period = '%s'"
               % period)}
    for g, w in zip(body, want):
        if w[0] == "学校":
            continue
        for j, i in enumerate(inds):
            gv = g[nf + j] if nf + j < len(g) else None
            gv = None if gv in ("", None) else Fraction(Decimal(gv)) if isinstance(gv, str) \
                else gv
            a = av.get((w[1], i[0]))
            if a is not None and path.endswith(".csv") and i[3] == "ratio":
                a = Fraction(shown(a, int(i[7] or "0")))
            if (gv is None) != (a is None) or (
                    gv is not None and abs(gv - a) > Fraction(1, 10 ** 9) * max(1, abs(a))):
                ck.fail("%s: %s %s %s is %s, agg_value %s" % (path, w[0], w[1], i[0], gv, a))
    if ck.fails:
        print("offices_oracle: %s: %d differences" % (path, ck.fails))
        return 1
    print("offices_oracle: %s: %d rows, %d indicators: as computed" % (path, len(want),
                                                                       len(inds)))
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "data":
        return make_data(argv[1])
    if len(argv) == 2 and argv[0] == "compare":
        return compare(argv[1])
    if len(argv) == 5 and argv[0] == "export":
        return check_export(argv[1], argv[2], argv[3], argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
