#!/usr/bin/env python3
"""rules_oracle: an independent model of 审核, the validation rules of
rules.csv, for the end-to-end test (rules.sh).

It shares nothing with the C code: its parser, its evaluator and its
judgement of a batch are written here from the contract alone.

  * rules.csv: code,name_zh,left,op,right,severity,scope,stage,missing.
    left/right are expressions over indicator codes, decimal numbers,
    + - * /, parentheses, unary minus and prev_year(code); op is one of
    <= < >= > == !=.
  * Exact decimal arithmetic: sums and differences exact, every product and
    quotient rounded to 12 places, half away from zero.  A division by zero
    leaves the rule unchecked (skipped) for that unit and period.
  * An indicator is the unit's own value for the period; a ratio is
    multiplier * num / den (a missing part counts 0; missing when the
    denominator is 0 or absent).  prev_year(code) is the same indicator and
    unit one year earlier in the same kind of period.
  * scope school (default): leaves (of `stage` when it is set); scope LEVEL:
    the units of that level, on their aggregates (the sum of the values at
    or below, the unit's own included; a ratio is multiplier * sum(num) /
    sum(den)).
  * missing skip (default): a missing operand leaves the rule unchecked;
    zero: a missing operand counts 0.
  * A (unit, period) is checked when some value is stored for it (for a
    level, at or below it).
  * Where the contract is silent, the stricter reading: severity and
    name_zh must be given, a stage goes with school scope only, numbers and
    names are ASCII.

Usage:
  rules_oracle.py --self-test
  rules_oracle.py violations CONFIG_DIR VALUES_TSV
        the violations (unit, period, rule, severity, left, right), one per
        line, tab-separated, sorted, from unit_value rows
        (unit TAB period TAB indicator TAB value)
  rules_oracle.py compare CONFIG_DIR VALUES_TSV VIOLATIONS_TSV
        compare the rows of edustat.rule_violation (unit, period, rule,
        severity, left_value, right_value) with the oracle's; exit 1 and
        print the differences when they differ
  rules_oracle.py judge CONFIG_DIR VALUES_TSV BATCH_CSV SHOWN_PATH OUT_PREFIX
        judge a batch (a long CSV: unit,period,indicator,value) against the
        stored values: writes OUT_PREFIX.reject (the receipt's lines
        "SHOWN_PATH:LINE: reason" for every refused record), OUT_PREFIX.warn
        (the lines "SHOWN_PATH: warning: unit U period P: rule ..." the
        submit must print: school-scoped warnings of the (unit, period)s it
        touched, once stored) and OUT_PREFIX.values (unit_value afterwards)
  rules_oracle.py same-values A_TSV B_TSV
        exit 0 when both unit_value dumps hold the same keys and numbers
  rules_oracle.py differential RULES_EVAL CONFIG_DIR SEED COUNT
        COUNT files of 24 random rules over random values of one school,
        judged by lib/rules.c (tests/integration/rules_eval.c) and by the
        oracle: exit 1 when any verdict, value or message differs
  rules_oracle.py demo CONFIG_DIR CSV...
        replay long CSV files in order (latest value wins) and print every
        violation they leave, with the rule's message
"""

import csv
import os
import re
import sys
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

PLACES = Decimal("1e-12")
PREC = 200
OPS = ("<=", "<", ">=", ">", "==", "!=")
FAILED_AS = {"<=": ">", "<": ">=", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


class RuleError(Exception):
    """A rules.csv that does not hold together: 'rules.csv:LINE: problem'."""


class Skip(Exception):
    """The rule is not checked for this unit and period."""


# lib/rules.c leaves a rule unchecked when a value it computes passes 10^24
# in magnitude (rules.h, RULE_NUM_LIMIT), a limit the contract does not
# have: the differential test (only) sets LIMIT to tell those cases apart.
LIMIT = None


class Beyond(Exception):
    """A value past LIMIT."""


def bounded(x):
    if LIMIT is not None and abs(x) > LIMIT:
        raise Beyond()
    return x


def q12(x):
    """x rounded to 12 places, half away from zero."""
    with localcontext() as c:
        c.prec = PREC
        return x.quantize(PLACES, rounding=ROUND_HALF_UP)


def mul(a, b):
    with localcontext() as c:
        c.prec = PREC
        return bounded(q12(a * b))


def div(a, b):
    if b == 0:
        raise Skip("division by zero")
    with localcontext() as c:
        c.prec = PREC
        return bounded(q12(a / b))


def add(a, b):
    with localcontext() as c:
        c.prec = PREC
        return bounded(a + b)


def sub(a, b):
    """a - b, exact (unary minus too: Decimal's own rounds to the context)."""
    with localcontext() as c:
        c.prec = PREC
        return bounded(a - b)


def plain(x):
    """Plain decimal text without trailing zeros: 40, 1.25, -0.5."""
    if x == 0:
        return "0"
    with localcontext() as c:
        c.prec = PREC  # normalize() rounds to the context's precision
        return format(x.normalize(), "f")


def holds(left, op, right):
    return {"<=": left <= right, "<": left < right, ">=": left >= right,
            ">": left > right, "==": left == right, "!=": left != right}[op]


# ------------------------------------------------------------------ periods

PERIOD_FORMS = (re.compile(r"^(\d{4})$"), re.compile(r"^(\d{4})(S[12])$"),
                re.compile(r"^(\d{4})(Q[1-4])$"), re.compile(r"^(\d{4})(0[1-9]|1[0-2])$"))


def prev_period(p):
    """The same kind of period one year earlier, or None."""
    for form in PERIOD_FORMS:
        m = form.match(p)
        if m:
            year = int(m.group(1)) - 1
            if year < 1000:
                return None
            rest = m.group(2) if form.groups > 1 else ""
            return "%04d%s" % (year, rest)
    return None


# ------------------------------------------------------------------ config

def rows_of(path):
    """(line number, dict) of a CSV file with a header; keys lower case."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = None
        out = []
        for row in reader:
            if header is None:
                header = [h.strip().lower() for h in row]
                continue
            if not any(c.strip() for c in row):
                continue
            d = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header)}
            out.append((reader.line_num, d))
        return header or [], out


class Catalog:
    def __init__(self, cfgdir):
        _, rows = rows_of(os.path.join(cfgdir, "indicators.csv"))
        self.ind = {}
        for _, r in rows:
            self.ind[r["code"]] = r

    def is_ratio(self, code):
        return self.ind[code]["kind"] == "ratio"


class Tree:
    def __init__(self, cfgdir):
        _, rows = rows_of(os.path.join(cfgdir, "orgunits.csv"))
        self.unit = {r["code"]: r for _, r in rows}
        self.children = {c: [] for c in self.unit}
        for c, r in self.unit.items():
            if r["parent"]:
                self.children[r["parent"]].append(c)
        self.levels = {r["level"] for r in self.unit.values()}
        self.stages = {r["stage"] for r in self.unit.values() if r["stage"]}

    def leaf(self, u):
        return not self.children[u]

    def subtree(self, u):
        out, todo = [], [u]
        while todo:
            x = todo.pop()
            out.append(x)
            todo.extend(self.children[x])
        return out


# ------------------------------------------------------------------ expressions

# ASCII only: a full-width digit or space from an input method is not a number.
TOKEN = re.compile(r"[ \t]*(?:([0-9]+(?:\.[0-9]+)?|\.[0-9]+)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|==|!=|[-+*/()]))")


def tokenize(text):
    toks, pos = [], 0
    text = text.rstrip(" \t")
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("unexpected %r at column %d" % (text[pos:].lstrip()[:1], pos + 1))
        if m.group(1):
            toks.append(("num", Decimal(m.group(1))))
        elif m.group(2):
            toks.append(("name", m.group(2)))
        else:
            toks.append(("op", m.group(3)))
        pos = m.end()
    return toks


class Parser:
    """expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*;
    unary := '-' unary | atom; atom := NUM | CODE | prev_year(CODE) | (expr).
    The tree: ("num", d) ("ind", code) ("prev", code) ("neg", e)
    (op, a, b) for op in + - * /."""

    def __init__(self, text, catalog):
        self.toks = tokenize(text)
        self.i = 0
        self.cat = catalog

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def parse(self):
        if not self.toks:
            raise ValueError("empty expression")
        e = self.expr()
        if self.i != len(self.toks):
            raise ValueError("unexpected %s" % (self.peek()[1],))
        return e

    def expr(self):
        e = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            e = (op, e, self.term())
        return e

    def term(self):
        e = self.unary()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            e = (op, e, self.unary())
        return e

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return ("neg", self.unary())
        return self.atom()

    def code(self, name):
        if name not in self.cat.ind:
            raise ValueError("unknown indicator %s" % name)
        return name

    def atom(self):
        kind, v = self.take()
        if kind == "num":
            return ("num", v)
        if kind == "name":
            if v == "prev_year":
                if self.take() != ("op", "("):
                    raise ValueError("prev_year needs (")
                k, name = self.take()
                if k != "name":
                    raise ValueError("prev_year takes an indicator code")
                if self.take() != ("op", ")"):
                    raise ValueError("prev_year: ) expected")
                return ("prev", self.code(name))
            return ("ind", self.code(v))
        if (kind, v) == ("op", "("):
            e = self.expr()
            if self.take() != ("op", ")"):
                raise ValueError(") expected")
            return e
        raise ValueError("operand expected, got %s" % (v if v is not None else "the end"))


def uses_prev(e):
    if e[0] == "prev":
        return True
    if e[0] in ("num", "ind"):
        return False
    return any(uses_prev(x) for x in e[1:])


class Rule:
    def __init__(self, line, code, name, left, op, right, severity, scope, stage, missing,
                 left_tree, right_tree):
        self.line, self.code, self.name = line, code, name
        self.left, self.op, self.right = left, op, right
        self.severity, self.scope, self.stage, self.missing = severity, scope, stage, missing
        self.lt, self.rt = left_tree, right_tree

    def message(self, lv, rv, fails):
        return "rule %s %s: %s %s %s%s (%s %s %s)" % (
            self.code, self.name, self.left, self.op, self.right, " fails" if fails else "",
            plain(lv), FAILED_AS[self.op], plain(rv))


def parse_rules(path, catalog, tree):
    """The rules of path, in file order; RuleError on the first problem."""
    base = os.path.basename(path)
    header, rows = rows_of(path)
    for col in ("code", "name_zh", "left", "op", "right"):
        if col not in header:
            raise RuleError("%s:1: the header lacks the column %s" % (base, col))
    rules, seen = [], set()
    for line, r in rows:
        def bad(msg):
            raise RuleError("%s:%d: %s" % (base, line, msg))
        code = r.get("code", "")
        if not code:
            bad("a rule without a code")
        if code in seen:
            bad("duplicate rule code %s" % code)
        seen.add(code)
        trees = []
        for side in ("left", "right"):
            try:
                trees.append(Parser(r.get(side, ""), catalog).parse())
            except (ValueError, InvalidOperation) as e:
                bad("rule %s: %s: %s" % (code, side, e))
        op = r.get("op", "")
        if op not in OPS:
            bad("rule %s: unknown operator %r" % (code, op))
        if not r.get("name_zh", ""):
            bad("rule %s has no name_zh" % code)
        severity = r.get("severity", "")
        if severity not in ("error", "warning"):
            bad("rule %s: severity must be error or warning" % code)
        if severity == "error" and (uses_prev(trees[0]) or uses_prev(trees[1])):
            bad("rule %s: prev_year is allowed in warnings only" % code)
        scope = r.get("scope", "") or "school"
        if scope != "school" and scope not in tree.levels:
            bad("rule %s: unknown level %s" % (code, scope))
        stage = r.get("stage", "")
        if stage and stage not in tree.stages:
            bad("rule %s: unknown stage %s" % (code, stage))
        if stage and scope != "school":
            bad("rule %s: a stage restricts school rules only, not scope %s" % (code, scope))
        missing = r.get("missing", "") or "skip"
        if missing not in ("skip", "zero"):
            bad("rule %s: missing must be skip or zero" % code)
        rules.append(Rule(line, code, r.get("name_zh", ""), r["left"].strip(), op,
                          r["right"].strip(), severity, scope, stage, missing,
                          trees[0], trees[1]))
    return rules


def load_rules(cfgdir, catalog, tree):
    path = os.path.join(cfgdir, "rules.csv")
    return parse_rules(path, catalog, tree) if os.path.exists(path) else []


# ------------------------------------------------------------------ evaluation

class Values:
    """The stored values: (unit, period, indicator) -> Decimal, and the
    aggregates of the tree computed from them."""

    def __init__(self, catalog, tree, raw):
        self.cat, self.tree = catalog, tree
        self.raw = dict(raw)
        self.keys = {(u, p) for (u, p, _) in self.raw}
        self.periods = {p for (_, p, _) in self.raw}
        self._agg = {}

    def own(self, unit, period, ind):
        return self.raw.get((unit, period, ind))

    def summed(self, unit, period, ind):
        k = (unit, period, ind)
        if k not in self._agg:
            vals = [self.raw[(x, period, ind)] for x in self.tree.subtree(unit)
                    if (x, period, ind) in self.raw]
            total = None
            for v in vals:
                total = v if total is None else add(total, v)
            self._agg[k] = total
        return self._agg[k]

    def value(self, unit, period, ind, aggregate):
        """The operand, or None when missing."""
        get = self.summed if aggregate else self.own
        row = self.cat.ind[ind]
        if row["kind"] != "ratio":
            return get(unit, period, ind)
        num = get(unit, period, row["numerator"])
        den = get(unit, period, row["denominator"])
        if den is None or den == 0:
            return None
        mult = Decimal(row["multiplier"] or "1")
        with localcontext() as c:
            c.prec = PREC
            return q12(mult * (num if num is not None else Decimal(0)) / den)

    def has_any(self, unit, period, aggregate):
        if not aggregate:
            return (unit, period) in self.keys
        return any((x, period) in self.keys for x in self.tree.subtree(unit))


def evaluate(e, fetch, missing):
    kind = e[0]
    if kind == "num":
        return e[1]
    if kind in ("ind", "prev"):
        v = fetch(e[1], kind == "prev")
        if v is None:
            if missing == "zero":
                return Decimal(0)
            raise Skip("missing %s" % e[1])
        return v
    if kind == "neg":
        return sub(Decimal(0), evaluate(e[1], fetch, missing))
    a = evaluate(e[1], fetch, missing)
    b = evaluate(e[2], fetch, missing)
    return {"+": add, "-": sub, "*": mul, "/": div}[kind](a, b)


def check(rule, values, unit, period):
    """(left, right, fails) or None when the rule is skipped."""
    aggregate = rule.scope != "school"
    pp = prev_period(period)

    def fetch(ind, prev):
        if prev:
            if pp is None:
                return None
            return values.value(unit, pp, ind, aggregate)
        return values.value(unit, period, ind, aggregate)
    try:
        lv = evaluate(rule.lt, fetch, rule.missing)
        rv = evaluate(rule.rt, fetch, rule.missing)
    except Skip:
        return None
    return lv, rv, not holds(lv, rule.op, rv)


def applies(rule, tree, unit):
    r = tree.unit[unit]
    if rule.scope == "school":
        return tree.leaf(unit) and (not rule.stage or r["stage"] == rule.stage)
    return r["level"] == rule.scope


def violations(rules, values, tree):
    """{(unit, period, rule code): (severity, left, right)} failing now."""
    out = {}
    for rule in rules:
        aggregate = rule.scope != "school"
        for unit in tree.unit:
            if not applies(rule, tree, unit):
                continue
            for period in values.periods:
                if not values.has_any(unit, period, aggregate):
                    continue
                res = check(rule, values, unit, period)
                if res and res[2]:
                    out[(unit, period, rule.code)] = (rule.severity, res[0], res[1])
    return out


def judge(rules, catalog, tree, stored, batch):
    """Judge a batch against the stored values.

    batch: [(line, unit, period, indicator, Decimal)].  Returns
    (rejected {line: reason}, new stored dict, warnings [(unit, period,
    rule, left, right)]): a (unit, period) whose records make a
    school-scoped error rule fail has all its records refused with the
    first failing rule's reason (file order); the others are stored."""
    groups = {}
    for line, u, p, ind, v in batch:
        groups.setdefault((u, p), []).append((line, ind, v))
    rejected, new = {}, dict(stored)
    for (u, p), recs in groups.items():
        trial = dict(stored)
        for _, ind, v in recs:
            trial[(u, p, ind)] = v
        vals = Values(catalog, tree, trial)
        for rule in rules:
            if rule.severity != "error" or not applies(rule, tree, u) or rule.scope != "school":
                continue
            res = check(rule, vals, u, p)
            if res and res[2]:
                reason = rule.message(res[0], res[1], True)
                for line, _, _ in recs:
                    rejected[line] = reason
                break
        else:
            for _, ind, v in recs:
                new[(u, p, ind)] = v
    vals = Values(catalog, tree, new)
    warnings = []
    for (u, p) in sorted(groups):
        if any(line in rejected for line, _, _ in groups[(u, p)]):
            continue
        for rule in rules:
            if rule.severity != "warning" or rule.scope != "school" or not applies(rule, tree, u):
                continue
            res = check(rule, vals, u, p)
            if res and res[2]:
                warnings.append((u, p, rule, res[0], res[1]))
    return rejected, new, warnings


# ------------------------------------------------------------------ files

def read_values_tsv(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if not ln:
                continue
            u, p, ind, v = ln.split("\t")
            out[(u, p, ind)] = Decimal(v)
    return out


def write_values_tsv(path, vals):
    with open(path, "w", encoding="utf-8") as f:
        for (u, p, ind), v in sorted(vals.items()):
            f.write("%s\t%s\t%s\t%s\n" % (u, p, ind, plain(v)))


def read_long_csv(path, lenient=False):
    """[(line, unit, period, indicator, Decimal)] of a unit,period,indicator,value file;
    lenient: leave out the rows whose value is not a number (the demo's bad rows)."""
    out = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = None
        for row in reader:
            if header is None:
                header = [h.strip().lower() for h in row]
                continue
            d = dict(zip(header, (c.strip() for c in row)))
            try:
                v = Decimal(d.get("value", ""))
                if not v.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                if lenient:
                    continue
                raise
            out.append((reader.line_num, d.get("unit", ""), d.get("period", ""),
                        d.get("indicator", ""), v))
    return out


def setup(cfgdir):
    catalog, tree = Catalog(cfgdir), Tree(cfgdir)
    return catalog, tree, load_rules(cfgdir, catalog, tree)


def cmd_violations(cfgdir, values_tsv):
    catalog, tree, rules = setup(cfgdir)
    v = violations(rules, Values(catalog, tree, read_values_tsv(values_tsv)), tree)
    for (u, p, code), (sev, lv, rv) in sorted(v.items()):
        print("\t".join((u, p, code, sev, plain(lv), plain(rv))))
    return 0


def cmd_compare(cfgdir, values_tsv, viol_tsv):
    catalog, tree, rules = setup(cfgdir)
    want = violations(rules, Values(catalog, tree, read_values_tsv(values_tsv)), tree)
    got = {}
    with open(viol_tsv, encoding="utf-8") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if not ln:
                continue
            u, p, code, sev, lv, rv = ln.split("\t")
            try:
                got[(u, p, code)] = (sev, Decimal(lv) if lv else None, Decimal(rv) if rv else None)
            except InvalidOperation:
                got[(u, p, code)] = (sev, lv, rv)
    bad = 0
    for k in sorted(set(want) | set(got)):
        w, g = want.get(k), got.get(k)
        if w == g:
            continue
        bad += 1
        ws = "absent" if w is None else "%s %s %s" % (w[0], plain(w[1]), plain(w[2]))
        gs = "absent" if g is None else "%s %s %s" % g
        print("rule_violation %s %s %s: want %s, got %s" % (k + (ws, gs)))
    if bad:
        print("rule_violation: %d row(s) differ from the oracle (%d wanted, %d present)"
              % (bad, len(want), len(got)))
        return 1
    return 0


def cmd_judge(cfgdir, values_tsv, batch_csv, shown, prefix):
    catalog, tree, rules = setup(cfgdir)
    stored = read_values_tsv(values_tsv)
    rejected, new, warnings = judge(rules, catalog, tree, stored, read_long_csv(batch_csv))
    with open(prefix + ".reject", "w", encoding="utf-8") as f:
        for line in sorted(rejected):
            f.write("%s:%d: %s\n" % (shown, line, rejected[line]))
    with open(prefix + ".warn", "w", encoding="utf-8") as f:
        for u, p, rule, lv, rv in warnings:
            f.write("%s: warning: unit %s period %s: %s\n" % (shown, u, p, rule.message(lv, rv, False)))
    write_values_tsv(prefix + ".values", new)
    return 0


def cmd_same_values(a, b):
    va, vb = read_values_tsv(a), read_values_tsv(b)
    if va == vb:
        return 0
    for k in sorted(set(va) | set(vb)):
        if va.get(k) != vb.get(k):
            print("unit_value %s: want %s, got %s" % (
                " ".join(k), plain(va[k]) if k in va else "absent",
                plain(vb[k]) if k in vb else "absent"))
    return 1


def cmd_demo(cfgdir, files):
    catalog, tree, rules = setup(cfgdir)
    stored, left_out = {}, 0
    for path in files:
        for _, u, p, ind, v in read_long_csv(path, lenient=True):
            # rows the aggregator rejects anyway: unknown unit, indicator or ratio
            if u not in tree.unit or ind not in catalog.ind or catalog.is_ratio(ind):
                left_out += 1
                continue
            stored[(u, p, ind)] = v
    print("%d row(s) left out (unknown unit or indicator, a ratio)" % left_out, file=sys.stderr)
    vals = Values(catalog, tree, stored)
    v = violations(rules, vals, tree)
    names = {r.code: r for r in rules}
    for (u, p, code), (sev, lv, rv) in sorted(v.items(), key=lambda kv: (kv[1][0], kv[0])):
        print("%s\t%s\t%s\t%s\t%s" % (sev, u, p, tree.unit[u]["name"],
                                      names[code].message(lv, rv, False)))
    n_err = sum(1 for x in v.values() if x[0] == "error")
    print("%d violation(s): %d error, %d warning" % (len(v), n_err, len(v) - n_err),
          file=sys.stderr)
    return 0


# ------------------------------------------------------------------ differential

DIFF_INDICATORS = ("pupils", "teachers", "classes", "large_classes", "teach_area", "equip_value")
DIFF_OPERANDS = DIFF_INDICATORS + ("pupil_teacher_ratio", "large_class_share")
DIFF_NUMBERS = ("0", "1", "2", "3", "1.3", "0.7", "0.05", "100", "7", "0.001", "12.5", "1000000",
                "0.000000000001")


def cmd_differential(eval_bin, cfgdir, seed, count):
    """Random rules and values of one school through lib/rules.c (the
    rules_eval command) and through this oracle: the verdicts, both values
    and the messages must agree."""
    import random
    import subprocess
    import tempfile
    global LIMIT
    rng = random.Random(int(seed))
    catalog, tree = Catalog(cfgdir), Tree(cfgdir)

    def expr(depth, prev_ok):
        r = rng.random()
        if depth == 0 or r < 0.3:
            k = rng.random()
            if k < 0.45:
                return rng.choice(DIFF_NUMBERS)
            if k < 0.6 and prev_ok:
                return "prev_year(%s)" % rng.choice(DIFF_OPERANDS)
            return rng.choice(DIFF_OPERANDS)
        if r < 0.38:
            return "-" + expr(depth - 1, prev_ok)
        if r < 0.5:
            return "(" + expr(depth - 1, prev_ok) + ")"
        return "%s %s %s" % (expr(depth - 1, prev_ok), rng.choice("+-*/"), expr(depth - 1, prev_ok))

    def value(ind):
        if rng.random() < 0.12:
            return None
        if ind in ("teach_area", "equip_value"):
            return "%d.%02d" % (rng.randint(0, 99999), rng.randint(0, 99))
        return str(rng.choice((0, rng.randint(0, 50), rng.randint(0, 3000))))

    bad = checked = beyond = 0
    with tempfile.TemporaryDirectory() as d:
        rpath, vpath = os.path.join(d, "rules.csv"), os.path.join(d, "values")
        for _ in range(int(count)):
            rows = []
            for k in range(24):
                sev = rng.choice(("error", "warning"))
                rows.append("R%d,规则%d,%s,%s,%s,%s,,,%s" % (
                    k, k, expr(3, sev == "warning"), rng.choice(OPS), expr(3, sev == "warning"),
                    sev, rng.choice(("skip", "zero"))))
            with open(rpath, "w", encoding="utf-8") as f:
                f.write("code,name_zh,left,op,right,severity,scope,stage,missing\n")
                f.write("\n".join(rows) + "\n")
            raw, lines = {}, []
            for ind in DIFF_INDICATORS:
                for which, period in (("cur", "2025"), ("prev", "2024")):
                    v = value(ind)
                    if v is not None:
                        raw[("U", period, ind)] = Decimal(v)
                        lines.append("%s %s %s" % (which, ind, v))
            with open(vpath, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            got = subprocess.run([eval_bin, os.path.join(cfgdir, "indicators.csv"),
                                  os.path.join(cfgdir, "orgunits.csv"), rpath, vpath],
                                 capture_output=True, text=True, check=True).stdout.splitlines()
            rules = parse_rules(rpath, catalog, tree)
            if len(got) != len(rules):
                print("rules_eval gave %d line(s) for %d rules: %s" % (len(got), len(rules), got[:2]))
                bad += 1
                continue
            vals = Values(catalog, tree, raw)
            for rule, line in zip(rules, got):
                checked += 1
                LIMIT = Decimal(10) ** 24
                try:
                    res = check(rule, vals, "U", "2025")
                except Beyond:
                    res = None  # lib/rules.c skips it, as rules.h says
                    beyond += 1
                finally:
                    LIMIT = None
                if res is None:
                    want = "%s skip" % rule.code
                else:
                    want = "%s %s %s %s %s" % (rule.code, "fail" if res[2] else "pass", plain(res[0]),
                                               plain(res[1]), rule.message(res[0], res[1], res[2]))
                if line != want:
                    bad += 1
                    if bad <= 10:
                        print("rule %s %s %s (missing %s), values %s:\n  want %s\n  got  %s" % (
                            rule.left, rule.op, rule.right, rule.missing, "; ".join(lines), want, line))
    print("rules_oracle differential: %d rules checked (%d past 10^24, unchecked by lib/rules.c), "
          "%d disagree" % (checked, beyond, bad))
    return 1 if bad or checked == 0 else 0


# ------------------------------------------------------------------ self-test

SELF_INDICATORS = """code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals
pupils,在校生数,,人,count,,,,
teachers,专任教师数,,人,count,,,,
classes,班级数,,个,count,,,,
big,大班额,,个,count,,,,
area,面积,,m²,amount,,,,2
ptr,生师比,,,ratio,pupils,teachers,1,2
share,大班额比例,,%,ratio,big,classes,100,2
"""
SELF_ORGUNITS = """code,parent,level,name,stage,locality,ownership
C,,city,市,,,
D1,C,district,一区,,,
D2,C,district,二区,,,
S1,D1,school,一小,primary,,
S2,D1,school,一中,junior,,
S3,D2,school,二小,primary,,
"""


def self_test():
    import tempfile
    fails = []

    def eq(what, got, want):
        if got != want:
            fails.append("%s: got %r, want %r" % (what, got, want))

    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "indicators.csv"), "w", encoding="utf-8") as f:
            f.write(SELF_INDICATORS)
        with open(os.path.join(d, "orgunits.csv"), "w", encoding="utf-8") as f:
            f.write(SELF_ORGUNITS)
        cat, tree = Catalog(d), Tree(d)

        def rules_of(body):
            p = os.path.join(d, "rules.csv")
            with open(p, "w", encoding="utf-8") as f:
                f.write("code,name_zh,left,op,right,severity,scope,stage,missing\n" + body)
            return parse_rules(p, cat, tree)

        def run(body, raw, unit="S1", period="2025"):
            r = rules_of(body)[0]
            vals = Values(cat, tree, {k: Decimal(v) for k, v in raw.items()})
            return check(r, vals, unit, period)

        D = Decimal
        # exact decimals: 0.1 + 0.2 == 0.3, no binary floating point
        eq("0.1+0.2", run("R,和,area + 0.2,==,0.3,error,,,\n", {("S1", "2025", "area"): "0.1"}),
           (D("0.3"), D("0.3"), False))
        # division rounds to 12 places, half away from zero
        eq("1/3", run("R,三,pupils / 3,==,0.333333333333,error,,,\n", {("S1", "2025", "pupils"): "1"}),
           (D("0.333333333333"), D("0.333333333333"), False))
        eq("2/3", run("R,三,pupils / 3,<,0,error,,,\n", {("S1", "2025", "pupils"): "2"})[0],
           D("0.666666666667"))
        eq("-2/3", run("R,三,-pupils / 3,<,0,error,,,\n", {("S1", "2025", "pupils"): "2"})[0],
           D("-0.666666666667"))
        # half away from zero on an exact tie: 5e-13 -> 1e-12, -5e-13 -> -1e-12
        eq("tie", run("R,半,pupils / 2,>,0,error,,,\n", {("S1", "2025", "pupils"): "0.000000000001"})[0],
           D("0.000000000001"))
        eq("-tie", run("R,半,0 - pupils / 2,>,0,error,,,\n",
                       {("S1", "2025", "pupils"): "0.000000000001"})[0], D("-0.000000000001"))
        # each product and quotient rounded: (1/3)*3 is 0.999999999999, not 1
        eq("(1/3)*3", run("R,乘,pupils / 3 * 3,==,1,error,,,\n", {("S1", "2025", "pupils"): "1"}),
           (D("0.999999999999"), D("1"), True))
        # precedence, parentheses, unary minus
        eq("prec", run("R,序,2 + 3 * 4 - -(1 - 3) / 2,==,13,error,,,\n", {("S1", "2025", "pupils"): "1"}),
           (D("13"), D("13"), False))
        # more digits than Decimal's default context holds (28), negated and shown
        big = run("R,大,-(pupils * 1000000),<,0,error,,,\n",
                  {("S1", "2025", "pupils"): "123456789012345678.123456789012"})
        eq("big", (plain(big[0]), big[2]), ("-123456789012345678123456.789012", False))
        # division by zero skips; a number divided by a missing value under zero too
        eq("div0", run("R,零,pupils / (classes - 2),<=,1,error,,,\n",
                       {("S1", "2025", "pupils"): "9", ("S1", "2025", "classes"): "2"}), None)
        eq("div0 zero", run("R,零,pupils / classes,<=,1,error,,,zero\n",
                            {("S1", "2025", "pupils"): "9"}), None)
        # missing: skip by default, 0 under zero
        raw = {("S1", "2025", "classes"): "5"}
        eq("skip", run("R,缺,big,<=,classes,error,,,\n", raw), None)
        eq("zero", run("R,缺,big,<=,classes,error,,,zero\n", raw), (D(0), D(5), False))
        eq("zero fails", run("R,缺,classes,<=,big,error,,,zero\n", raw), (D(5), D(0), True))
        # ratio: multiplier * num / den; missing numerator 0; zero or absent den missing
        raw = {("S1", "2025", "big"): "1", ("S1", "2025", "classes"): "3",
               ("S1", "2025", "pupils"): "100"}
        eq("ratio", run("R,比,share,<=,30,warning,,,\n", raw),
           (D("33.333333333333"), D(30), True))
        eq("ratio den absent", run("R,比,ptr,<=,30,warning,,,\n", raw), None)
        eq("ratio den absent zero", run("R,比,ptr,<=,30,warning,,,zero\n", raw), (D(0), D(30), False))
        raw2 = {("S1", "2025", "classes"): "3"}
        eq("ratio num missing", run("R,比,share,==,0,warning,,,\n", raw2), (D(0), D(0), False))
        raw3 = {("S1", "2025", "classes"): "0", ("S1", "2025", "big"): "0"}
        eq("ratio den 0", run("R,比,share,==,0,warning,,,\n", raw3), None)
        # prev_year for every kind of period
        for p, pp in (("2025", "2024"), ("2025S1", "2024S1"), ("2025S2", "2024S2"),
                      ("2025Q3", "2024Q3"), ("202503", "202403"), ("202512", "202412")):
            eq("prev_period " + p, prev_period(p), pp)
            raw = {("S1", p, "pupils"): "1500", ("S1", pp, "pupils"): "1000"}
            eq("prev_year " + p,
               run("R,同比,pupils,<=,prev_year(pupils) * 1.3,warning,,,\n", raw, period=p),
               (D(1500), D("1300.0"), True))
        # prev_year of a missing year: skip, or 0 under zero
        raw = {("S1", "2025", "pupils"): "1500"}
        eq("prev missing", run("R,同比,pupils,<=,prev_year(pupils) * 1.3,warning,,,\n", raw), None)
        eq("prev zero", run("R,同比,pupils,<=,prev_year(pupils) * 1.3,warning,,,zero\n", raw),
           (D(1500), D(0), True))
        # a level scope sums the subtree (own values included), ratios of sums
        raw = {("S1", "2025", "pupils"): "100", ("S2", "2025", "pupils"): "50",
               ("D1", "2025", "pupils"): "7", ("S3", "2025", "pupils"): "1000",
               ("S1", "2025", "teachers"): "10", ("S2", "2025", "teachers"): "2"}
        eq("district sum", run("R,区,pupils,<=,100,warning,district,,\n", raw, unit="D1"),
           (D(157), D(100), True))
        eq("district ratio", run("R,区,ptr,<=,13,warning,district,,\n", raw, unit="D1"),
           (D("13.083333333333"), D(13), True))
        # the messages: the relation that holds, plain decimals
        r = rules_of("R1,大班额,big,<=,classes,error,,,\n")[0]
        eq("message", r.message(D("40"), D("38.000"), True),
           "rule R1 大班额: big <= classes fails (40 > 38)")
        for op, shown in FAILED_AS.items():
            r = rules_of("R2,比, pupils ,%s, 2.50 ,warning,,,\n" % op)[0]
            eq("message " + op, r.message(D("-0.50"), D("2.5"), False),
               "rule R2 比: pupils %s 2.50 (-0.5 %s 2.5)" % (op, shown))
        # violations: stage restricts school rules; periods with no values unchecked
        rs = rules_of("A,小学,classes,<=,1,error,,primary,\nB,区,classes,<=,2,error,district,,\n"
                      "C,缺零,pupils,>=,1,error,,,zero\n")
        vals = Values(cat, tree, {("S1", "2025", "classes"): D(2), ("S2", "2025", "classes"): D(2),
                                  ("S3", "2024", "pupils"): D(0)})
        eq("violations", sorted(violations(rs, vals, tree)),
           [("D1", "2025", "B"), ("S1", "2025", "A"), ("S1", "2025", "C"), ("S2", "2025", "C"),
            ("S3", "2024", "C")])
        # judge: a failing unit's records are all refused, the others stored
        rs = rules_of("E1,大班额,big,<=,classes,error,,,\nW1,生师比,ptr,<=,20,warning,,,\n")
        stored = {("S1", "2025", "classes"): D(10)}
        batch = [(2, "S1", "2025", "big", D(11)), (3, "S1", "2025", "pupils", D(5)),
                 (4, "S3", "2025", "pupils", D(300)), (5, "S3", "2025", "teachers", D(10))]
        rej, new, warns = judge(rs, cat, tree, stored, batch)
        eq("judge rejected", rej, {2: "rule E1 大班额: big <= classes fails (11 > 10)",
                                   3: "rule E1 大班额: big <= classes fails (11 > 10)"})
        eq("judge stored", new, {("S1", "2025", "classes"): D(10), ("S3", "2025", "pupils"): D(300),
                                 ("S3", "2025", "teachers"): D(10)})
        eq("judge warnings", [(u, p, r.code, lv, rv) for u, p, r, lv, rv in warns],
           [("S3", "2025", "W1", D(30), D(20))])
        # malformed rules are refused with the line
        for body, what in (("X,坏,pupils +,<=,1,,,,\n", "rules.csv:2:"),
                           ("X,坏,pupil,<=,1,,,,\n", "unknown indicator"),
                           ("X,坏,(pupils,<=,1,,,,\n", ") expected"),
                           ("X,坏,pupils,=<,1,,,,\n", "unknown operator"),
                           ("X,坏,pupils,<=,prev_year(pupils),error,,,\n", "warnings only"),
                           ("X,坏,pupils,<=,1,fatal,,,\n", "severity"),
                           ("X,坏,pupils,<=,1,warning,county,,\n", "unknown level"),
                           ("X,坏,pupils,<=,1,warning,,college,\n", "unknown stage"),
                           ("X,坏,pupils,<=,1,warning,,,maybe\n", "missing must be"),
                           ("X,坏,pupils,<=,1,error,,,\nX,再,pupils,<=,2,error,,,\n", "rules.csv:3: duplicate"),
                           ("X,坏,,<=,1,,,,\n", "empty expression"),
                           ("X,坏,pupils 3,<=,1,,,,\n", "unexpected"),
                           ("X,坏,prev_year(3),<=,1,warning,,,\n", "prev_year takes"),
                           ("X,坏,pupils,<=,３,warning,,,\n", "unexpected"),
                           ("X,坏,pupils,<=,1,,,,\n", "severity"),
                           ("X,,pupils,<=,1,error,,,\n", "no name_zh"),
                           ("X,坏,pupils,<=,1,error,district,primary,\n", "school rules only")):
            try:
                rules_of(body)
                fails.append("malformed rule accepted: %r" % body)
            except RuleError as e:
                if what not in str(e):
                    fails.append("malformed rule %r: message %r lacks %r" % (body, str(e), what))
    for f in fails:
        print("FAIL: " + f)
    print("rules_oracle self-test: %s" % ("%d failure(s)" % len(fails) if fails else "ok"))
    return 1 if fails else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    cmds = {"violations": (cmd_violations, 2), "compare": (cmd_compare, 3),
            "judge": (cmd_judge, 5), "same-values": (cmd_same_values, 2)}
    if len(argv) == 6 and argv[1] == "differential":
        return cmd_differential(*argv[2:])
    if len(argv) >= 3 and argv[1] == "demo":
        return cmd_demo(argv[2], argv[3:])
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return cmds[argv[1]][0](*argv[2:])
    except RuleError as e:
        print("rules_oracle: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
