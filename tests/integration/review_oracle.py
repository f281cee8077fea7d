#!/usr/bin/env python3
"""review_oracle: an independent model of the review round (上报 → 审核 →
退回/通过) for the end-to-end test (review.sh).

It is written from the contract alone and shares nothing with the C code or
the SQL: the states per (unit, period) (open, submitted, approved), who may
move them, what a finish needs, what a return withdraws, which value
records the aggregator refuses, and what edustat.review,
edustat.review_history, edustat.review_status and edustat.completeness
must hold.  The 审核 rules (which warnings and errors a unit has) come from
rules_oracle.py, the independent evaluator of rules.csv.

  * finish (open -> submitted), by a key registered for the unit or an
    ancestor.  Refused, listing EVERY missing thing ("; "-separated),
    unless: a leaf stores every indicator of its stage's form (forms.csv;
    without a form for its stage: some value); the unit has no error
    violation; every warning violation has an explanation; every unit below
    (towns included) is approved.
  * approve (submitted -> approved), by a key registered for a strict
    ancestor; the root by a root key.  A unit's own key: refused.
  * return (submitted or approved -> open), the same keys as approve, with
    a reason; every ancestor that is submitted or approved goes back to
    open ("reopen", comment "returned with CODE", by the returning key).
  * explain: refused unless the unit is open (and the rule violated).
  * a finish, approve or return whose result is in place, put there by the
    same key (a return: with the same reason), is a resend whose ack was
    lost: taken, with no new transition (the aggregator may have restarted
    since the commit, so batch ids alone cannot tell).
  * a value record of a (unit, period) that is submitted or approved is
    refused: "unit U period P is approved by NAME at TIME; ask NAME to
    return it" or "... is submitted by NAME at TIME; ask the office above
    to return it".

The state lives in a JSON file that `act` updates with the oracle's own
verdict (never with what the daemons did), so one wrong answer shows up in
every later comparison too.

Usage:
  review_oracle.py --self-test
  review_oracle.py init STATE
  review_oracle.py act STATE CONFIG_DIR VALUES_TSV KEY KIND UNIT PERIOD TEXT RC OUTPUT
        judge one command (KIND finish, approve, return, explain RULE=TEXT...)
        run with the key named KEY (collectors.csv): RC its exit status,
        OUTPUT its stdout and stderr.  TEXT "-" is none.  Prints FAIL lines
        and exits 1 when the outcome or the message is not the oracle's.
  review_oracle.py values STATE CONFIG_DIR VALUES_TSV REVIEW_AT_TSV BATCH_CSV SHOWN OUT_PREFIX
        the review gate and the 审核 rules on a batch: OUT_PREFIX.reject
        (every refused line "SHOWN:LINE: reason") and OUT_PREFIX.values
        (unit_value afterwards).  REVIEW_AT_TSV: unit, period, at as the
        aggregator prints it.
  review_oracle.py compare STATE CONFIG_DIR VALUES_TSV REVIEW_TSV HISTORY_TSV STATUS_TSV COMPL_TSV
        compare edustat.review, edustat.review_history, review_status and
        the submitted/approved counts of completeness (tab-separated dumps,
        NULL written as \\N) with the oracle's; exit 1 with the differences.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rules_oracle as ro  # noqa: E402

NULL = "\\N"


# ------------------------------------------------------------------ config

class Config:
    def __init__(self, cfgdir):
        self.catalog, self.tree, self.rules = ro.setup(cfgdir)
        self.parent = {c: (r["parent"] or None) for c, r in self.tree.unit.items()}
        self.root = [c for c, p in self.parent.items() if p is None][0]
        self.forms = {}
        path = os.path.join(cfgdir, "forms.csv")
        if os.path.exists(path):
            for _, r in ro.rows_of(path)[1]:
                self.forms.setdefault(r["stage"], []).append(r["indicator"])
        self.periods = []
        path = os.path.join(cfgdir, "periods.csv")
        if os.path.exists(path):
            self.periods = [r["period"] for _, r in ro.rows_of(path)[1]]
        self.keys = {}
        for _, r in ro.rows_of(os.path.join(cfgdir, "collectors.csv"))[1]:
            self.keys[r["name"]] = set(re.split(r"[ ;|]+", r["units"].strip()))

    def ancestors(self, u):
        """Strict ancestors, nearest first."""
        out = []
        p = self.parent[u]
        while p is not None:
            out.append(p)
            p = self.parent[p]
        return out

    def below(self, u):
        """Every unit strictly below u."""
        return [x for x in self.tree.subtree(u) if x != u]

    def allows(self, key, u):
        return bool(self.keys.get(key, set()) & ({u} | set(self.ancestors(u))))

    def above(self, key, u):
        """The key may approve or return u: a strict ancestor, or the root's own key."""
        if u == self.root:
            return u in self.keys.get(key, set())
        return bool(self.keys.get(key, set()) & set(self.ancestors(u)))

    def ind_name(self, ind):
        return self.catalog.ind[ind]["name_zh"]

    def rule(self, code):
        return [r for r in self.rules if r.code == code][0]


# ------------------------------------------------------------------ state

def load_state(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_state(path, st):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(st, f, ensure_ascii=False, indent=1)
    os.replace(path + ".tmp", path)


def state_of(st, u, p):
    r = st["review"].get(u + "\t" + p)
    return r["state"] if r else "open"


def set_state(st, u, p, state, by, comment):
    st["review"][u + "\t" + p] = {"state": state, "by": by, "comment": comment}


def read_values(path):
    return ro.read_values_tsv(path)


def blockers(cfg, st, values, u, p):
    """What stops the finish of an open (u, p) now, as tuples:
    ("missing", ind), ("novalue",), ("error", code), ("warning", code),
    ("below", [(code, state)...])."""
    out = []
    if cfg.tree.leaf(u):
        stage = cfg.tree.unit[u]["stage"]
        form = cfg.forms.get(stage) if stage else None
        if form:
            for ind in form:
                if (u, p, ind) not in values:
                    out.append(("missing", ind))
        elif not any(k[0] == u and k[1] == p for k in values):
            out.append(("novalue",))
    viol = ro.violations(cfg.rules, ro.Values(cfg.catalog, cfg.tree, values), cfg.tree)
    notes = {tuple(n) for n in st["notes"]}
    for (vu, vp, code), (sev, _, _) in sorted(viol.items()):
        if vu != u or vp != p:
            continue
        if sev == "error":
            out.append(("error", code))
        elif (u, p, code) not in notes:
            out.append(("warning", code))
    below = [(x, state_of(st, x, p)) for x in sorted(cfg.below(u))]
    below = [b for b in below if b[1] != "approved"]
    if below:
        out.append(("below", below))
    return out


def violated(cfg, values, u, p, code):
    viol = ro.violations(cfg.rules, ro.Values(cfg.catalog, cfg.tree, values), cfg.tree)
    return (u, p, code) in viol


# ------------------------------------------------------------------ messages

def agg_item_ok(cfg, item, text):
    """Whether one "; "-separated item of the aggregator's refusal says item."""
    kind = item[0]
    if kind == "missing":
        return text == "indicator %s (%s) not stored" % (item[1], cfg.ind_name(item[1]))
    if kind == "warning":
        return text == "warning %s (%s) not explained" % (item[1], cfg.rule(item[1]).name)
    if kind == "error":
        # the contract gives no wording: the item names the error rule
        return re.search(r"\berror\b", text) is not None and re.search(
            r"\b%s\b" % re.escape(item[1]), text) is not None
    if kind == "novalue":
        return re.search(r"(no|not|nothing).*(value|stored)|(value|stored).*(no|not)", text) is not None
    if kind == "below":
        m = re.fullmatch(r"(\d+) units? below (?:are|is) not approved: (.*)", text)
        if not m or int(m.group(1)) != len(item[1]):
            return False
        listed = m.group(2)
        more = re.search(r",? and (\d+) more$", listed)
        if more:
            listed = listed[:more.start()]
        got = set(listed.split(", "))
        want = {"%s (%s)" % b for b in item[1]}
        if len(item[1]) <= 20:
            return got == want and not more
        return len(got) == 20 and got <= want and more and int(more.group(1)) == len(item[1]) - 20
    return False


def view_item(cfg, item):
    kind = item[0]
    if kind == "missing":
        return ["missing %s (%s)" % (item[1], cfg.ind_name(item[1]))]
    if kind == "warning":
        return ["warning %s unexplained" % item[1]]
    if kind == "error":
        return ["error %s" % item[1]]
    if kind == "novalue":
        return ["no value"]
    return ["%s %s" % b for b in item[1]]


def message_after(output, prefix):
    """The rest of the first line of output that contains prefix, from it on."""
    for ln in output.splitlines():
        i = ln.find(prefix)
        if i >= 0:
            return ln[i:]
    return None


# ------------------------------------------------------------------ act

def cmd_act(path, cfgdir, values_tsv, key, kind, u, p, text, rc, outfile):
    cfg = Config(cfgdir)
    st = load_state(path)
    values = read_values(values_tsv)
    rc = int(rc)
    with open(outfile, encoding="utf-8", errors="replace") as f:
        output = f.read()
    text = None if text == "-" else text
    what = "%s %s %s %s by %s" % (kind, u, p, text or "", key)
    fails = []

    def refused(msg_prefix, rest_check=None, rcs=(3,)):
        if rc == 0:
            fails.append("%s: exited 0, want a refusal (%s)" % (what, msg_prefix))
            return
        if rc not in rcs:
            fails.append("%s: exited %d, want %s" % (what, rc, " or ".join(map(str, rcs))))
        if msg_prefix is None:
            return
        line = message_after(output, msg_prefix)
        if line is None:
            fails.append("%s: the output lacks \"%s\": %s" % (what, msg_prefix, output.strip()[:600]))
        elif rest_check is not None:
            problem = rest_check(line[len(msg_prefix):])
            if problem:
                fails.append("%s: %s in \"%s\"" % (what, problem, line))

    def taken():
        if rc != 0:
            fails.append("%s: exited %d, want 0: %s" % (what, rc, output.strip()[:600]))

    notauth = "not authorized for unit %s" % u
    state = state_of(st, u, p)
    cur = st["review"].get(u + "\t" + p) or {}
    # A command whose result is in place already, put there by the same key
    # (a return: with the same reason), is a resend after a commit whose ack
    # was lost: taken again, with no new transition.
    if cfg.allows(key, u) and cur.get("by") == key and (
            (kind == "finish" and state == "submitted")
            or (kind == "approve" and state == "approved")
            or (kind == "return" and state == "open" and text and cur.get("comment") == text)):
        taken()
        for f in fails:
            print("FAIL: " + f)
        return 1 if fails else 0
    head = "cannot %s unit %s period %s: " % (kind, u, p)
    if kind == "finish":
        if not cfg.allows(key, u):
            refused(notauth)
        elif state != "open":
            refused(head + "it is " + state)
        else:
            bl = blockers(cfg, st, values, u, p)
            if bl:
                def check_items(rest):
                    items = rest.split("; ")
                    left = list(bl)
                    for it in items:
                        for b in left:
                            if agg_item_ok(cfg, b, it):
                                left.remove(b)
                                break
                        else:
                            return "the item \"%s\" is not one the oracle expects" % it
                    if left:
                        return "missing item(s) %s" % "; ".join(" ".join(view_item(cfg, b)) for b in left)
                    return None
                refused(head, check_items)
            else:
                taken()
                set_state(st, u, p, "submitted", key, None)
                st["history"].append([u, p, "finish", "open", "submitted", key, None])
    elif kind == "approve":
        if not cfg.allows(key, u):
            refused(notauth)
        elif not cfg.above(key, u):
            refused(head + "a unit's own key cannot approve it; the office above approves")
        elif state != "submitted":
            refused(head + ("it is open (not submitted)" if state == "open" else "it is " + state))
        else:
            taken()
            set_state(st, u, p, "approved", key, text)
            st["history"].append([u, p, "approve", "submitted", "approved", key, text])
    elif kind == "return":
        if not cfg.allows(key, u):
            refused(notauth)
        elif not cfg.above(key, u):
            refused(head)
        elif not text:
            # the collector may refuse it itself (usage, 2) or the aggregator (3)
            refused(None, rcs=(2, 3))
            if "reason" not in output:
                fails.append("%s: the refusal of a return without a reason does not say"
                             " \"reason\": %s" % (what, output.strip()[:300]))
        elif state == "open":
            refused(head + "it is open")
        else:
            taken()
            set_state(st, u, p, "open", key, text)
            st["history"].append([u, p, "return", state, "open", key, text])
            for a in cfg.ancestors(u):
                sa = state_of(st, a, p)
                if sa in ("submitted", "approved"):
                    c = "returned with %s" % u
                    set_state(st, a, p, "open", key, c)
                    st["history"].append([a, p, "reopen", sa, "open", key, c])
    elif kind.startswith("explain="):
        code = kind[len("explain="):]
        if not cfg.allows(key, u):
            refused(None)
        elif state != "open":
            refused(None)
            if state not in output:
                fails.append("%s: the refusal of an explanation of a %s unit does not say"
                             " \"%s\": %s" % (what, state, state, output.strip()[:300]))
        elif not violated(cfg, values, u, p, code):
            refused(None)
        else:
            taken()
            if [u, p, code] not in st["notes"]:
                st["notes"].append([u, p, code])
    else:
        print("review_oracle: unknown kind %s" % kind, file=sys.stderr)
        return 2
    save_state(path, st)
    for f in fails:
        print("FAIL: " + f)
    return 1 if fails else 0


# ------------------------------------------------------------------ values

def cmd_values(path, cfgdir, values_tsv, at_tsv, batch_csv, shown, prefix):
    cfg = Config(cfgdir)
    st = load_state(path)
    stored = read_values(values_tsv)
    at = {}
    with open(at_tsv, encoding="utf-8") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln:
                u, p, t = ln.split("\t")
                at[(u, p)] = t
    batch = ro.read_long_csv(batch_csv)
    rejected = {}
    rest = []
    for line, u, p, ind, v in batch:
        s = state_of(st, u, p)
        if s == "open":
            rest.append((line, u, p, ind, v))
            continue
        by = st["review"][u + "\t" + p]["by"]
        t = at.get((u, p), "?")
        if s == "approved":
            rejected[line] = "unit %s period %s is approved by %s at %s; ask %s to return it" % (
                u, p, by, t, by)
        else:
            rejected[line] = ("unit %s period %s is submitted by %s at %s; ask the office above to"
                              " return it" % (u, p, by, t))
    rj, new, _ = ro.judge(cfg.rules, cfg.catalog, cfg.tree, stored, rest)
    rejected.update(rj)
    with open(prefix + ".reject", "w", encoding="utf-8") as f:
        for line in sorted(rejected):
            f.write("%s:%d: %s\n" % (shown, line, rejected[line]))
    ro.write_values_tsv(prefix + ".values", new)
    return 0


# ------------------------------------------------------------------ compare

def read_tsv(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            if ln:
                out.append([None if c == NULL else c for c in ln.split("\t")])
    return out


def status_rows(cfg, st, values):
    """{(unit, period): (state, by, comment, n_open, n_submitted, n_approved, ready, blockers set)}"""
    periods = sorted({k[1] for k in values} | set(cfg.periods))
    out = {}
    for p in periods:
        for u in cfg.tree.unit:
            data = any((x, p) in {(k[0], k[1]) for k in values} for x in cfg.tree.subtree(u))
            stage = cfg.tree.unit[u]["stage"]
            owed = cfg.tree.leaf(u) and stage and stage in cfg.forms and p in cfg.periods
            if not data and not owed:
                continue
            r = st["review"].get(u + "\t" + p)
            state = r["state"] if r else "open"
            n = {"open": 0, "submitted": 0, "approved": 0}
            for x in cfg.below(u):
                n[state_of(st, x, p)] += 1
            bl = blockers(cfg, st, values, u, p) if state == "open" else []
            ready = state == "open" and not bl
            items = None
            if state == "open" and bl:
                items = sorted(s for b in bl for s in view_item(cfg, b))
            out[(u, p)] = (state, r["by"] if r else None, r["comment"] if r else None,
                           n["open"], n["submitted"], n["approved"], ready, items)
    return out


def cmd_compare(path, cfgdir, values_tsv, review_tsv, history_tsv, status_tsv, compl_tsv):
    cfg = Config(cfgdir)
    st = load_state(path)
    values = read_values(values_tsv)
    fails = []

    # edustat.review: unit, period, state, by, comment
    got = {(r[0], r[1]): (r[2], r[3], r[4]) for r in read_tsv(review_tsv)}
    want = {tuple(k.split("\t")): (v["state"], v["by"], v["comment"]) for k, v in st["review"].items()}
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            fails.append("review %s %s: (state, by, comment) is %s, want %s" % (
                k[0], k[1], got.get(k), want.get(k)))

    # edustat.review_history in id order: unit, period, action, from, to, by, comment, collector.
    # The reopens that follow a return may come in any order among themselves.
    hist = read_tsv(history_tsv)
    for r in hist:
        if r[7] is None or r[7] != r[5]:
            fails.append("review_history %s %s %s: collector %s, want the key's name %s" % (
                r[0], r[1], r[2], r[7], r[5]))

    def groups(rows):
        out = []
        for r in rows:
            if r[2] == "reopen" and out and out[-1][0][2] in ("return", "reopen"):
                out[-1].append(r)
            else:
                out.append([r])
        return [(g[0], sorted(map(tuple, g[1:]))) for g in out]

    gh = groups([r[:7] for r in hist])
    gw = groups([list(r) for r in st["history"]])
    for i in range(max(len(gh), len(gw))):
        a = gh[i] if i < len(gh) else None
        b = gw[i] if i < len(gw) else None
        if a is None or b is None or list(a[0]) != list(b[0]) or a[1] != b[1]:
            fails.append("review_history differs from transition %d on: got %s, want %s" % (
                i + 1, a, b))
            break

    # review_status: unit, period, state, by, comment, n_open, n_submitted, n_approved, ready, blockers
    got = {}
    for r in read_tsv(status_tsv):
        got[(r[0], r[1])] = (r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]), r[8] == "t",
                             sorted(r[9].split("; ")) if r[9] is not None else None)
    want = status_rows(cfg, st, values)
    for k in sorted(set(got) | set(want)):
        if k not in got:
            fails.append("review_status lacks the row of %s %s" % k)
        elif k not in want:
            fails.append("review_status has a row for %s %s, which has neither data nor a form owed" % k)
        elif got[k] != want[k]:
            fails.append("review_status %s %s: (state, by, comment, open, submitted, approved,"
                         " ready, blockers) is %s, want %s" % (k[0], k[1], got[k], want[k]))

    # completeness: unit, period, stage, expected, submitted, approved
    for r in read_tsv(compl_tsv):
        u, p, stage = r[0], r[1], r[2]
        schools = [x for x in cfg.below(u) if cfg.tree.leaf(x)
                   and (stage is None or cfg.tree.unit[x]["stage"] == stage)]
        w = (len(schools), sum(state_of(st, x, p) == "submitted" for x in schools),
             sum(state_of(st, x, p) == "approved" for x in schools))
        g = (int(r[3]), int(r[4]), int(r[5]))
        if g != w:
            fails.append("completeness %s %s stage %s: (expected, submitted, approved) is %s,"
                         " want %s" % (u, p, stage, g, w))
    for f in fails:
        print("FAIL: " + f)
    return 1 if fails else 0


# ------------------------------------------------------------------ self-test

def self_test():
    """Hand-written cases on a tiny city, each verdict worked out by hand."""
    import tempfile
    d = tempfile.mkdtemp(prefix="review-oracle.")
    files = {
        "orgunits.csv": "code,parent,level,name,stage\nC,,city,市,\nD,C,district,区,\n"
                        "T,D,town,镇,\nS1,T,school,一小,primary\nS2,D,school,幼儿园,kindergarten\n",
        "indicators.csv": "code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals\n"
                          "pupils,在校学生数,P,人,count,,,,\nteachers,专任教师数,T,人,count,,,,\n",
        "forms.csv": "stage,indicator\nprimary,pupils\nprimary,teachers\n",
        "rules.csv": "code,name_zh,left,op,right,severity,scope,stage,missing\n"
                     "W1,教师不多于学生,teachers,<=,pupils,warning,,,\n",
        "periods.csv": "period,opens,due\n2024,2024-09-01,2024-10-31\n",
        "collectors.csv": "public_key,name,units\nk1,school,S1\nk2,office,D\nk3,city,C\n",
    }
    for name, text in files.items():
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(text)
    cfg = Config(d)
    st = {"review": {}, "history": [], "notes": []}
    vals = {("S1", "2024", "pupils"): ro.Decimal(5), ("S1", "2024", "teachers"): ro.Decimal(9)}
    bad = []

    def expect(got, want, what):
        if got != want:
            bad.append("%s: got %s, want %s" % (what, got, want))

    expect(blockers(cfg, st, vals, "S1", "2024"), [("warning", "W1")], "S1 with an unexplained warning")
    expect(blockers(cfg, st, {}, "S1", "2024"), [("missing", "pupils"), ("missing", "teachers")],
           "S1 without values")
    expect(blockers(cfg, st, vals, "S2", "2024"), [("novalue",)], "S2 (no form) without values")
    expect(blockers(cfg, st, vals, "D", "2024"),
           [("below", [("S1", "open"), ("S2", "open"), ("T", "open")])], "D with all below open")
    st["notes"].append(["S1", "2024", "W1"])
    expect(blockers(cfg, st, vals, "S1", "2024"), [], "S1 explained")
    expect((cfg.allows("school", "S1"), cfg.above("school", "S1")), (True, False), "school key on S1")
    expect((cfg.allows("office", "S1"), cfg.above("office", "S1")), (True, True), "office key on S1")
    expect((cfg.allows("office", "C"), cfg.above("city", "C")), (False, True), "root keys")
    expect(cfg.ancestors("S1"), ["T", "D", "C"], "ancestors of S1")
    expect(agg_item_ok(cfg, ("warning", "W1"), "warning W1 (教师不多于学生) not explained"), True,
           "warning item")
    expect(agg_item_ok(cfg, ("below", [("S1", "open"), ("T", "submitted")]),
                       "2 units below are not approved: T (submitted), S1 (open)"), True, "below item")
    expect(agg_item_ok(cfg, ("below", [("S1", "open")]),
                       "2 units below are not approved: S1 (open)"), False, "below item, wrong count")
    # a return from approved reopens the submitted and approved ancestors, nearest first
    for u, s in (("S1", "approved"), ("T", "approved"), ("D", "submitted")):
        set_state(st, u, "2024", s, "office", None)
    out = os.path.join(d, "out")
    with open(out, "w") as f:
        f.write("")
    sp = os.path.join(d, "state.json")
    save_state(sp, st)
    vt = os.path.join(d, "values.tsv")
    ro.write_values_tsv(vt, vals)
    r = cmd_act(sp, d, vt, "office", "return", "S1", "2024", "第7行有误", "0", out)
    st = load_state(sp)
    expect(r, 0, "return accepted")
    expect([h[:5] for h in st["history"]],
           [["S1", "2024", "return", "approved", "open"], ["T", "2024", "reopen", "approved", "open"],
            ["D", "2024", "reopen", "submitted", "open"]], "history of a return")
    expect(st["review"]["D\t2024"], {"state": "open", "by": "office", "comment": "returned with S1"},
           "the district after the return")
    for b in bad:
        print("FAIL: " + b)
    print("review_oracle self-test: %d failure(s)" % len(bad))
    return 1 if bad else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) == 3 and argv[1] == "init":
        save_state(argv[2], {"review": {}, "history": [], "notes": []})
        return 0
    cmds = {"act": (cmd_act, 10), "values": (cmd_values, 7), "compare": (cmd_compare, 7)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
