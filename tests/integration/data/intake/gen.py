#!/usr/bin/env python3
"""The small round of tests/integration/intake.sh: the schools of one town
(盘山县高升镇, 211122100, of the sample config in config/), each with a
value for every indicator of its stage's form (forms.csv), except the last
school, which leaves four out and types a bad value in each of their cells.

    gen.py CONFIG_DIR reference PERIOD     the long UTF-8 file: the good values
    gen.py CONFIG_DIR cells                unit,indicator,value of every cell to
                                           type into a form: the good values and
                                           the four bad ones
    gen.py CONFIG_DIR wide TEMPLATE.csv    TEMPLATE.csv (the collector's CSV form)
                                           filled with the cells, to stdout
    gen.py CONFIG_DIR long-gbk PERIOD      the long file of the cells in GB18030,
                                           to stdout
    gen.py CONFIG_DIR long PERIOD          the same in UTF-8

The values are a fixed function of the school's and the indicator's position,
so that every form of the round carries the same values."""
import csv
import io
import sys

TOWN = "211122100"
# The last school's cells: left out of the reference, typed wrong in the forms.
BAD = {"dropouts": "-3", "fitness_tested": "12.5", "fitness_good": "无",
       "equip_value": "100.125"}


def load(cfg):
    units = list(csv.DictReader(open(cfg + "/orgunits.csv", encoding="utf-8-sig")))
    kids = {}
    for u in units:
        kids.setdefault(u["parent"], []).append(u)
    inds = {r["code"]: r for r in csv.DictReader(open(cfg + "/indicators.csv", encoding="utf-8-sig"))}
    forms = {}
    for r in csv.DictReader(open(cfg + "/forms.csv", encoding="utf-8-sig")):
        forms.setdefault(r["stage"], []).append(r["indicator"])

    def leaves(code):
        out = []
        for k in kids.get(code, []):
            out += leaves(k["code"]) if k["code"] in kids else [k]
        return out
    return leaves(TOWN), inds, forms


def cells(cfg):
    schools, inds, forms = load(cfg)
    out = []
    for i, s in enumerate(schools):
        last = i == len(schools) - 1
        for j, code in enumerate(forms[s["stage"]]):
            if last and code in BAD:
                out.append((s["code"], code, BAD[code], False))
                continue
            if inds[code]["kind"] == "count":
                v = str(10 + (i * 37 + j * 11) % 900)
            else:
                v = "%d.%02d" % (1000 + i * 131 + j * 17, (i * 7 + j * 3) % 100)
            out.append((s["code"], code, v, True))
    return out


def main():
    cfg, what = sys.argv[1], sys.argv[2]
    w = csv.writer(sys.stdout, lineterminator="\n")
    if what == "reference":
        w.writerow(["unit", "period", "indicator", "value"])
        for u, code, v, good in cells(cfg):
            if good:
                w.writerow([u, sys.argv[3], code, v])
    elif what == "cells":
        w.writerow(["unit", "indicator", "value"])
        for u, code, v, _ in cells(cfg):
            w.writerow([u, code, v])
    elif what == "wide":
        by = {(u, code): v for u, code, v, _ in cells(cfg)}
        rows = list(csv.reader(open(sys.argv[3], encoding="utf-8-sig")))
        codes = [h[h.rfind("(") + 1:-1] if h.endswith(")") else None for h in rows[0]]
        out = io.StringIO()
        cw = csv.writer(out, lineterminator="\r\n")
        cw.writerow(rows[0])
        for r in rows[1:]:
            cw.writerow([by.get((r[0], c), "") if c else f for f, c in zip(r, codes)])
        sys.stdout.write(out.getvalue())
    elif what in ("long-gbk", "long"):
        out = io.StringIO()
        cw = csv.writer(out, lineterminator="\r\n")
        cw.writerow(["unit", "period", "indicator", "value"])
        for u, code, v, _ in cells(cfg):
            cw.writerow([u, sys.argv[3], code, v])
        sys.stdout.buffer.write(out.getvalue().encode("gb18030" if what == "long-gbk"
                                                      else "utf-8"))
    else:
        sys.exit("gen.py: unknown request " + what)


main()
