#!/usr/bin/env python3
"""bulletin_oracle.py: the 统计公报 of edustat-report against a recomputation.

  bulletin_oracle.py check UNIT PERIOD LAYOUT_CSV JSON HTML MD XLSX
  bulletin_oracle.py png PNG HTML

check reads the raw tables of PostgreSQL (unit_value, orgunit, indicator,
target, balance_rule, report_period, form, rule_violation, rule_note; never
agg_value, agg_change or a view) and recomputes, from the contract in
docs/SQL.md and tools/bulletin.h, every figure of the JSON sidecar: each
section's figures (value, previous, change, change in %, in percentage
points, rounded as the bulletin prints them) and sentence, the targets in
force with the units that meet and miss them, each county's 差异系数 against
its limit, 上报率 and the warnings open and unexplained.  LAYOUT_CSV is the
bulletin.csv used, or "-" for the default layout (then only the figures
are checked, not which indicators appear).  Then the HTML must carry the
same figures in its data- attributes, hold no script and nothing from the
network, and have its charts; the Markdown the same sentences; the xlsx
one sheet per section.

png checks that a screenshot is not blank (PIL: the share of non-white
pixels) and that the HTML it shows has its charts.
"""
import csv
import json
import os
import re
import sys
import zipfile
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dbcompare import psql  # noqa: E402

SECTIONS = ["综合", "学前教育", "义务教育", "小学", "初中", "高中阶段", "特殊教育"]
FAILS = []


def fail(msg):
    FAILS.append(msg)
    if len(FAILS) <= 40:
        print("FAIL: " + msg)


def rnd(x, places):
    """x (a Fraction or Decimal) rounded half away from zero, as
    PostgreSQL's round(numeric, places)."""
    x = Fraction(x)
    scaled = abs(x) * 10 ** places
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(-whole if x < 0 else whole).scaleb(-places)


def prev_year(p):
    return str(int(p[:4]) - 1) + p[4:]


class City:
    def __init__(self):
        self.unit = {}
        for code, parent, level, name, stage, leaf, current in psql(
                "SELECT code, parent, level, name, stage, is_leaf, current FROM edustat.orgunit"):
            self.unit[code] = {"parent": parent, "level": level, "name": name, "stage": stage,
                               "leaf": leaf == "t", "current": current == "t"}
        self.children = {}
        for c, u in self.unit.items():
            self.children.setdefault(u["parent"], []).append(c)
        self.ind = {}
        for r in psql("SELECT code, name_zh, unit, kind, numerator, denominator, multiplier,"
                      " decimals FROM edustat.indicator"):
            self.ind[r[0]] = {"name": r[1] or r[0], "unit": r[2] or "", "kind": r[3],
                              "num": r[4], "den": r[5], "mult": Fraction(Decimal(r[6])),
                              "decimals": int(r[7] or 0)}
        self.value = {}
        for u, p, i, v in psql("SELECT unit, period, indicator, value FROM edustat.unit_value"):
            self.value[(u, p, i)] = Fraction(Decimal(v))
        self.reported = {(u, p) for u, p, _ in self.value}
        self.form = {}
        for stage, ind in psql("SELECT stage, indicator FROM edustat.form"):
            self.form.setdefault(stage, set()).add(ind)
        self._below = {}

    def below(self, u, current=True):
        """u and every unit under it (current ones only, as agg_value counts)."""
        key = (u, current)
        if key not in self._below:
            out = [u]
            for c in sorted(self.children.get(u, [])):
                if not current or self.unit[c]["current"]:
                    out += self.below(c, current)
            self._below[key] = out
        return self._below[key]

    def agg(self, units, period, code):
        """agg_value over a set of units: (present, value); value None for a
        ratio whose denominator sums to 0."""
        i = self.ind[code]
        if i["kind"] != "ratio":
            got = [self.value[(x, period, code)] for x in units if (x, period, code) in self.value]
            return (True, sum(got)) if got else (False, None)
        num = [self.value[(x, period, i["num"])] for x in units
               if (x, period, i["num"]) in self.value]
        den = [self.value[(x, period, i["den"])] for x in units
               if (x, period, i["den"]) in self.value]
        if not num and not den:
            return False, None
        return True, (None if sum(den) == 0 else i["mult"] * sum(num) / sum(den))

    def unit_agg(self, u, period, code):
        return self.agg(self.below(u), period, code)


def shown(city, code, v):
    """A value as the bulletin prints it (Decimal), None for None."""
    if v is None:
        return None
    i = city.ind[code]
    return rnd(v, i["decimals"]) if i["kind"] == "ratio" else Decimal(v.numerator) / v.denominator


def expected_figure(city, u, period, code):
    ok, v = city.unit_agg(u, period, code)
    if not ok:
        return None
    i = city.ind[code]
    pok, pv = city.unit_agg(u, prev_year(period), code)
    if i["kind"] == "ratio" and not city.unit_agg(u, prev_year(period), i["num"])[0]:
        # No numerator reported the year before: no previous value to state.
        pok, pv = False, None
    f = {"value": shown(city, code, v), "previous": None, "change": None, "change_pct": None,
         "points": None}
    if pok:
        f["previous"] = shown(city, code, pv)
        if v is not None and pv is not None:
            ch = v - pv
            if i["kind"] == "ratio":
                f["change"] = rnd(ch, i["decimals"])
                if i["unit"] == "%":
                    f["points"] = rnd(ch, i["decimals"])
            else:
                f["change"] = Decimal(ch.numerator) / ch.denominator
                if pv != 0:
                    f["change_pct"] = rnd(100 * ch / pv, 2)
    return f


def sentence(city, code, f):
    """The wording of tools/bulletin.h, written again from its contract."""
    i = city.ind[code]
    name, unit = i["name"], i["unit"]
    per = unit == "人/人"
    u = "" if per else unit
    if f["value"] is None:
        return name + "暂无数据。"
    s = "%s%s%s" % (name, f["value"], ":1" if per else u)
    if f["previous"] is not None and f["change"] is not None:
        if i["kind"] == "ratio" and unit == "%" and f["points"] is not None:
            p = Decimal(f["points"])
            if p == 0:
                s += "，与上年持平"
            else:
                s += "，比上年%s%s个百分点" % ("降低" if p < 0 else "提高", f["points"].lstrip("-"))
        elif Decimal(f["change"]) == 0:
            s += "，与上年持平"
        else:
            c = Decimal(f["change"])
            s += "，比上年%s%s%s" % ("减少" if c < 0 else "增加", f["change"].lstrip("-"), u)
            if i["kind"] != "ratio" and f["change_pct"] is not None:
                s += "，%s%s%%" % ("下降" if Decimal(f["change_pct"]) < 0 else "增长",
                                  f["change_pct"].lstrip("-"))
    return s + "。"


def same_dec(what, got, want):
    if want is None or got is None:
        if not (want is None and got is None):
            fail("%s: got %s, want %s" % (what, got, want))
        return
    if Decimal(got) != Decimal(want):
        fail("%s: got %s, want %s" % (what, got, want))


def check_figures(city, b, unit, period, layout):
    kids = [c for c in sorted(city.children.get(unit, [])) if city.unit[c]["current"]]
    got_sections = [s["name"] for s in b["sections"]]
    if layout is not None:
        want_sections = []
        for sec in SECTIONS:
            rows = [r for r in layout if r[0] == sec]
            if any(city.unit_agg(x, period, r[1])[0] for r in rows for x in [unit] + kids):
                want_sections.append(sec)
        if got_sections != want_sections:
            fail("sections %s, want %s" % (got_sections, want_sections))
    wording = set()
    nfig = 0
    for s in b["sections"]:
        if s["name"] not in SECTIONS:
            fail("unknown section %s" % s["name"])
            continue
        got = {(f["unit"], f["indicator"]): f for f in s["figures"]}
        if len(got) != len(s["figures"]):
            fail("section %s repeats a figure" % s["name"])
        if layout is not None:
            rows = [r for r in layout if r[0] == s["name"]]
            want_keys = set()
            for _, code, chart in rows:
                if city.unit_agg(unit, period, code)[0]:
                    want_keys.add((unit, code))
                if chart == "yes":
                    want_keys |= {(k, code) for k in kids if city.unit_agg(k, period, code)[0]}
            if set(got) != want_keys:
                fail("section %s: figures %s missing, %s extra" % (
                    s["name"], sorted(want_keys - set(got)), sorted(set(got) - want_keys)))
            if s["key"] != [r[1] for r in rows if r[2] == "yes"]:
                fail("section %s: key indicators %s" % (s["name"], s["key"]))
        for (u, code), f in got.items():
            want = expected_figure(city, u, period, code)
            if want is None:
                fail("%s %s: a figure the data does not have" % (u, code))
                continue
            for k in ("value", "previous", "change", "change_pct", "points"):
                same_dec("%s %s %s %s" % (s["name"], u, code, k), f[k], want[k])
            nfig += 1
            if u == unit:
                # The text is built from the JSON's own texts (checked above).
                w = sentence(city, code, f)
                if f.get("text") != w:
                    fail("%s %s: text %r, want %r" % (u, code, f.get("text"), w))
                if f["previous"] is None:
                    wording.add("no previous")
                elif "增加" in w or "提高" in w:
                    wording.add("increase")
                elif "减少" in w or "降低" in w:
                    wording.add("decrease")
    # A period with a year before it must show every wording; one without
    # (2025S1 in the demo) only "no previous".
    kinds = ("increase", "decrease", "no previous") if wording - {"no previous"} else \
        ("no previous",)
    for w in kinds:
        if w not in wording:
            fail("no sentence of the kind '%s' in the bulletin: the test data must have one" % w)
    return nfig


def in_force(p, lo, hi):
    def months(q):
        y = int(q[:4]) * 12
        if len(q) == 4:
            return y, y + 11
        k, n = q[4], int(q[5:]) if not q[4].isdigit() else int(q[4:])
        if k == "S":
            return y + (n - 1) * 6, y + n * 6 - 1
        if k == "Q":
            return y + (n - 1) * 3, y + n * 3 - 1
        return y + n - 1, y + n - 1
    if lo is not None:
        if int(p[:4]) < int(lo[:4]):
            return False
        if int(p[:4]) == int(lo[:4]) and len(p) > 4 and len(lo) > 4 and months(p)[0] < months(lo)[0]:
            return False
    if hi is not None:
        if int(p[:4]) > int(hi[:4]):
            return False
        if int(p[:4]) == int(hi[:4]) and len(p) > 4 and len(hi) > 4 and months(p)[1] > months(hi)[1]:
            return False
    return True


def compare(op, v, t):
    return {">=": v >= t, "<=": v <= t, "=": v == t, ">": v > t, "<": v < t}[op]


def check_targets(city, b, unit, period):
    sub = set(city.below(unit))
    want = {}
    for line, ind, level, tunit, stage, op, value, lo, hi in psql(
            "SELECT line, indicator, level, unit, stage, op, value, period_from, period_to"
            " FROM edustat.target"):
        if not in_force(period, lo, hi):
            continue
        t = Fraction(Decimal(value))
        rows = []
        for u in sorted(sub):
            x = city.unit[u]
            if x["level"] != level or (tunit is not None and u != tunit):
                continue
            if stage is None:
                ok, v = city.unit_agg(u, period, ind)
            elif x["leaf"]:
                if x["stage"] != stage:
                    continue
                ok, v = city.agg([u], period, ind)
            else:
                leaves = [s for s in city.below(u) if city.unit[s]["leaf"]
                          and city.unit[s]["stage"] == stage]
                if not leaves:
                    continue
                ok, v = city.agg(leaves, period, ind)
            met = None if v is None else compare(op, v, t)
            shown_v = None
            if v is not None:
                i = city.ind[ind]
                if i["kind"] != "ratio":
                    shown_v = Decimal(v.numerator) / v.denominator
                elif not met and rnd(v, i["decimals"]) == Decimal(value):
                    shown_v = rnd(v, i["decimals"] + 4)
                else:
                    shown_v = rnd(v, i["decimals"])
            rows.append((u, shown_v, met))
        if rows:
            want[int(line)] = rows
    got = {t["line"]: t for t in b["targets"]}
    if sorted(got) != sorted(want):
        fail("targets in force: lines %s, want %s" % (sorted(got), sorted(want)))
    for line in sorted(set(got) & set(want)):
        g, w = got[line], want[line]
        gu = [(x["unit"], x["value"], x["met"]) for x in g["units"]]
        if [x[0] for x in gu] != [x[0] for x in w]:
            fail("target line %d: units %s, want %s" % (line, [x[0] for x in gu], [x[0] for x in w]))
            continue
        for (u, gv, gm), (_, wv, wm) in zip(gu, w):
            same_dec("target line %d unit %s value" % (line, u), gv, wv)
            if gm != wm:
                fail("target line %d unit %s: met %s, want %s" % (line, u, gm, wm))
        counts = (sum(1 for x in w if x[2] is True), sum(1 for x in w if x[2] is False),
                  sum(1 for x in w if x[2] is None))
        if (g["met"], g["missed"], g["no_data"]) != counts:
            fail("target line %d: met/missed/no data %s, want %s" % (
                line, (g["met"], g["missed"], g["no_data"]), counts))
    return len(want)


def sqrt_fraction(x):
    if x == 0:
        return Fraction(0)
    return Fraction((Decimal(x.numerator) / Decimal(x.denominator)).sqrt())


def check_balance(city, b, unit, period):
    rules = psql("SELECT stage, indicator, cv_max FROM edustat.balance_rule"
                 " WHERE cv_max IS NOT NULL")
    want = {}
    for d in city.below(unit):
        if city.unit[d]["level"] != "district":
            continue
        for stage, ind, cv_max in rules:
            leaves = [s for s in city.below(d) if city.unit[s]["leaf"]
                      and city.unit[s]["stage"] == stage]
            if not leaves:
                continue
            i = city.ind[ind]
            q = [s for s in leaves if (s, period, i["num"]) in city.value
                 and city.value.get((s, period, i["den"]), 0) > 0]
            cv = None
            if q:
                w = sum(city.value[(s, period, i["den"])] for s in q)
                xs = {s: i["mult"] * city.value[(s, period, i["num"])]
                      / city.value[(s, period, i["den"])] for s in q}
                mean = i["mult"] * sum(city.value[(s, period, i["num"])] for s in q) / w
                var = sum(city.value[(s, period, i["den"])] * (xs[s] - mean) ** 2 for s in q) / w
                cv = None if mean == 0 else sqrt_fraction(var) / mean
            want[(d, stage, ind)] = (cv, Fraction(Decimal(cv_max)))
    got = {(x["unit"], x["stage"], x["indicator"]): x for x in b["balance"]}
    if sorted(got) != sorted(want):
        fail("balance rows %s missing, %s extra" % (sorted(set(want) - set(got)),
                                                   sorted(set(got) - set(want))))
    for k in sorted(set(got) & set(want)):
        g, (cv, cv_max) = got[k], want[k]
        if cv is None:
            if g["cv"] is not None:
                fail("balance %s: cv %s, want none" % (k, g["cv"]))
            continue
        # PostgreSQL keeps the CV as float8: the third place may differ by
        # one where the value sits on a rounding boundary.
        if g["cv"] is None or abs(Decimal(g["cv"]) - rnd(cv, 3)) > Decimal("0.001"):
            fail("balance %s: cv %s, want %s" % (k, g["cv"], rnd(cv, 3)))
        if Decimal(g["cv_max"]) != Decimal(cv_max.numerator) / cv_max.denominator:
            fail("balance %s: cv_max %s" % (k, g["cv_max"]))
        if g["cv_ok"] != (cv <= cv_max) and abs(cv - cv_max) > Fraction(1, 10 ** 9):
            fail("balance %s: cv_ok %s, want %s" % (k, g["cv_ok"], cv <= cv_max))
    return len(want)


def check_completeness(city, b, unit, period):
    due = psql("SELECT 1 FROM edustat.report_period WHERE period = '%s'" % period)
    want = []
    kids = [c for c in sorted(city.children.get(unit, [])) if city.unit[c]["current"]]
    for u in ([unit] + kids) if due else []:
        leaves = [s for s in city.below(u, current=False)[1:] if city.unit[s]["leaf"]]
        if not leaves:
            continue
        rep = 0
        for s in leaves:
            stored = (s, period) in city.reported
            owes = any((s, period, i) not in city.value
                       for i in city.form.get(city.unit[s]["stage"], ()))
            rep += stored and not owes
        rate = rnd(Fraction(100 * rep, len(leaves)), 2)
        want.append((u, len(leaves), rep, rate))
    got = [(x["unit"], x["expected"], x["reported"], Decimal(x["rate"]))
           for x in b["completeness"]["units"]]
    if got != want:
        fail("completeness %s, want %s" % (got, want))
    warned = {}
    notes = {(r[0], r[1], r[2]) for r in psql("SELECT unit, period, rule FROM edustat.rule_note")}
    sub = set(city.below(unit, current=False)[1:])
    for u, p, rule in psql("SELECT unit, period, rule FROM edustat.rule_violation"
                           " WHERE severity = 'warning'"):
        if p != period or u not in sub or not city.unit[u]["leaf"]:
            continue
        warned[u] = warned.get(u, False) or (u, p, rule) not in notes
    w = (len(warned), sum(1 for x in warned.values() if x))
    g = (b["completeness"].get("schools_with_warnings"), b["completeness"].get("schools_unexplained"))
    if g != w:
        fail("warnings (schools, unexplained) %s, want %s" % (g, w))
    return w


class Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.section = None
        self.figs = {}
        self.cvs = {}
        self.targets = {}
        self.units = {}
        self.warn = None
        self.svg = []
        self.tags = set()
        self.span = None
        self.spans = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "section" and "data-section" in a:
            self.section = a["data-section"]
        elif tag == "section":
            self.section = None
        if "data-indicator" in a and "data-cv" not in a:
            key = (self.section, a["data-unit"], a["data-indicator"])
            if key in self.figs and self.figs[key] != a:
                fail("html: %s twice with different figures" % (key,))
            self.figs[key] = a
            if tag == "span":
                self.span = key
                self.spans[key] = ""
        if "data-cv" in a:
            self.cvs[(a["data-unit"], a["data-stage"], a["data-indicator"])] = a["data-cv"] or None
        if "data-line" in a:
            self.targets[int(a["data-line"])] = (int(a["data-met"]), int(a["data-missed"]),
                                                 int(a["data-no-data"]))
        if "data-expected" in a:
            self.units[a["data-unit"]] = (int(a["data-expected"]), int(a["data-reported"]),
                                          Decimal(a["data-rate"]))
        if "data-warnings" in a:
            self.warn = (int(a["data-warnings"]), int(a["data-unexplained"]))
        if tag == "svg":
            self.svg.append(a.get("class", ""))
        for k, v in a.items():
            if k in ("src", "href") or (v and re.search(r"url\(|@import", v)):
                fail("html: <%s %s=%r> reaches outside the file" % (tag, k, v))

    def handle_endtag(self, tag):
        if tag == "span":
            self.span = None

    def handle_data(self, data):
        if self.span is not None:
            self.spans[self.span] += data


def check_html(b, path, line_periods):
    text = open(path, encoding="utf-8").read()
    h = Html()
    h.feed(text)
    if "script" in h.tags or re.search(r"<script", text, re.I):
        fail("html has a script")
    for m in re.finditer(r"(?:https?:)?//[^\s\"'<>)]+", text):
        if m.group(0) != "http://www.w3.org/2000/svg":
            fail("html names an address outside the file: %s" % m.group(0))
    if re.search(r"@font-face|@import|url\(", text):
        fail("html loads a font or a style from outside")
    if "@page" not in text or "A4" not in text:
        fail("html has no @page rule for A4")
    want = {}
    for s in b["sections"]:
        for f in s["figures"]:
            a = {"data-unit": f["unit"], "data-indicator": f["indicator"]}
            for k, attr in (("value", "data-value"), ("previous", "data-previous"),
                            ("change", "data-change"), ("change_pct", "data-change-pct"),
                            ("points", "data-points")):
                if f[k] is not None:
                    a[attr] = f[k]
            want[(s["name"], f["unit"], f["indicator"])] = a
            if "text" in f and h.spans.get((s["name"], f["unit"], f["indicator"])) != f["text"]:
                fail("html: sentence of %s %s is %r, json %r" % (
                    f["unit"], f["indicator"],
                    h.spans.get((s["name"], f["unit"], f["indicator"])), f["text"]))
    got = {k: {x: y for x, y in v.items() if x.startswith("data-")} for k, v in h.figs.items()}
    for k in sorted(set(want) | set(got), key=str):
        if got.get(k) != want.get(k):
            fail("html figure %s: %s, json %s" % (k, got.get(k), want.get(k)))
    wcv = {(x["unit"], x["stage"], x["indicator"]): x["cv"] for x in b["balance"]}
    if h.cvs != wcv:
        fail("html 差异系数 differ from the json")
    wt = {t["line"]: (t["met"], t["missed"], t["no_data"]) for t in b["targets"]}
    if h.targets != wt:
        fail("html targets %s, json %s" % (h.targets, wt))
    wu = {x["unit"]: (x["expected"], x["reported"], Decimal(x["rate"]))
          for x in b["completeness"]["units"]}
    if h.units != wu:
        fail("html 上报率 %s, json %s" % (h.units, wu))
    if h.warn != (b["completeness"]["schools_with_warnings"],
                  b["completeness"]["schools_unexplained"]):
        fail("html warnings %s" % (h.warn,))
    # The charts: a bar chart per key indicator with values below, the line
    # chart, the 差异系数 per county.
    bars = sum(1 for c in h.svg if "bars" in c)
    lines = sum(1 for c in h.svg if "lines" in c)
    want_bars = sum(1 for s in b["sections"] for k in s["key"]
                    if any(f["indicator"] == k and f["unit"] != b["unit"] and f["value"] is not None
                           for f in s["figures"]))
    want_bars += len({x["stage"] for x in b["balance"]})
    if bars != want_bars:
        fail("html has %d bar charts, want %d" % (bars, want_bars))
    if lines < 1 and line_periods >= 2:
        fail("html has no line chart of the %d periods" % line_periods)
    if text.count('class="limit"') < 1:
        fail("html draws no target or limit line")
    return len(got)


def check_md(b, path):
    text = open(path, encoding="utf-8").read()
    for s in b["sections"]:
        if "、%s\n" % s["name"] not in text:
            fail("md lacks section %s" % s["name"])
        for f in s["figures"]:
            if "text" in f and f["text"] not in text:
                fail("md lacks the sentence %r" % f["text"])
    if "<svg" in text:
        fail("md has a chart")


def check_xlsx(b, path):
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode("utf-8")
        names = re.findall(r'<sheet name="([^"]*)"', wb)
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        sheets = [n for n in z.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)]
        shared = z.read("xl/sharedStrings.xml").decode("utf-8") if \
            "xl/sharedStrings.xml" in z.namelist() else ""
    want = [s["name"] for s in b["sections"]]
    if names[:len(want)] != want:
        fail("xlsx sheets %s, want the sections %s first" % (names, want))
    if len(sheets) != len(names):
        fail("xlsx: %d sheet parts for %d sheets" % (len(sheets), len(names)))
    if not charts:
        fail("xlsx has no chart")
    for s in b["sections"]:
        for f in s["figures"]:
            if "text" in f and f["text"] not in shared:
                fail("xlsx lacks the sentence %r" % f["text"])


def cmd_check(argv):
    unit, period, layout_path, jpath, hpath, mpath, xpath = argv
    layout = None
    if layout_path != "-":
        with open(layout_path, encoding="utf-8") as f:
            layout = [(r["section"], r["indicator"], r.get("chart") or "")
                      for r in csv.DictReader(f)]
    with open(jpath, encoding="utf-8") as f:
        b = json.load(f)
    if (b["unit"], b["period"]) != (unit, period):
        fail("json unit/period %s %s" % (b["unit"], b["period"]))
    city = City()
    n = check_figures(city, b, unit, period, layout)
    nt = check_targets(city, b, unit, period)
    nb = check_balance(city, b, unit, period)
    w = check_completeness(city, b, unit, period)
    if hpath != "-":
        # The line chart needs two periods of the kind of PERIOD with a
        # rate of the unit in a key indicator.
        kind = re.sub(r"[0-9]", "9", period)
        keys = {k for s in b["sections"] for k in s["key"] if city.ind[k]["unit"] == "%"}
        line_periods = len({p for (_, p, _) in city.value
                            if re.sub(r"[0-9]", "9", p) == kind and p <= period
                            and any(city.unit_agg(unit, p, k)[1] is not None for k in keys)})
        check_html(b, hpath, line_periods)
    if mpath != "-":
        check_md(b, mpath)
    if xpath != "-":
        check_xlsx(b, xpath)
    print("bulletin %s %s: %d figures, %d targets, %d 差异系数, warnings %s; %d failures"
          % (unit, period, n, nt, nb, w, len(FAILS)))
    return 1 if FAILS else 0


def cmd_png(argv):
    png, html = argv
    try:
        from PIL import Image
    except ImportError:
        print("FAIL: python3-pil is missing (Debian: apt-get install python3-pil)")
        return 1
    img = Image.open(png).convert("RGB")
    w, h = img.size
    if (w, h) != (1240, 1754):
        fail("screenshot is %dx%d" % (w, h))
    px = img.getdata()
    dark = sum(1 for p in px if sum(p) < 600)
    colored = sum(1 for p in px if max(p) - min(p) > 60)
    share = dark / (w * h)
    # Text alone darkens a few % of an A4 page; the charts' bars are colour.
    if share < 0.01:
        fail("screenshot is blank: %.4f of it is not white" % share)
    if colored < 2000:
        fail("screenshot shows no chart: %d coloured pixels" % colored)
    text = open(html, encoding="utf-8").read()
    if text.count("<svg") < 2:
        fail("html has no charts")
    print("screenshot: %.3f not white, %d coloured pixels" % (share, colored))
    return 1 if FAILS else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "check" and len(argv) == 9:
        return cmd_check(argv[2:])
    if len(argv) == 4 and argv[1] == "png":
        return cmd_png(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
