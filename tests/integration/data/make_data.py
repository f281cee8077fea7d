#!/usr/bin/env python3
"""Write the integration test's city and submission files.

The outputs are checked in; this script documents how they were made and
regenerates them byte for byte (fixed seed).  Run it from anywhere:

    python3 tests/integration/data/make_data.py

The city is NOT the sample city: 试验市 (330100) with three districts.
东湖区 (330181) has towns, one of them (石桥镇) without schools, plus one
school directly under the district, so leaves sit at two depths.  南湖区
(330183) holds the five schools of the MoE 差异系数 worked example
(indicators-research.md §2): pupils 45, 37, 89, 76, 55 and books 279, 137,
935, 160, 402, whose books-per-pupil CV is 0.515.  They are the only schools
of 南湖区 with a defined books-per-pupil in 2024 (a closed school reports
books but 0 pupils), so the oracle can assert that figure.

runs.txt lists the collector runs in order; pipeline.sh and oracle.py both
read it.  Each line: KIND EXIT ARGS..., where KIND is
  submit     run the collector, expect exit code EXIT
  identical  the same, and the run must change no row of unit_value and add
             no value_history row (the file re-sends values already stored)
  restart    stop and start the sink and the aggregator (EXIT is ignored)
FILE.expect lists, for a file with rejections, "LINE<TAB>REGEX": the physical
line of each rejected row and a regex its reason must match (ignoring case).
"""

import itertools
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20240901)

# ---------------------------------------------------------------- the city

CITY = ("330100", "", "city", "试验市")
DISTRICTS = [
    ("330181", "330100", "district", "东湖区"),
    ("330182", "330100", "district", "西山区"),
    ("330183", "330100", "district", "南湖区"),
]
TOWNS = [
    ("330181100", "330181", "town", "城关镇"),
    ("330181101", "330181", "town", "河口镇"),
    ("330181102", "330181", "town", "石桥镇"),  # no schools: a leaf town
]

# (code, parent, name, stage, locality, ownership)
SCHOOLS = [
    ("2133810001", "330181100", "城关镇第一小学", "primary", "urban", "public"),
    ("2133810002", "330181100", "城关镇第二小学", "primary", "urban", "public"),
    ("2133810003", "330181100", "城关镇育才小学(民办)", "primary", "urban", "private"),
    ("3133810004", "330181100", "城关镇第一初级中学", "junior", "urban", "public"),
    ("3133810005", "330181100", "城关镇第二初级中学", "junior", "urban", "public"),
    ("1133810006", "330181100", "城关镇中心幼儿园", "kindergarten", "urban", "public"),
    ("1133810007", "330181100", "城关镇阳光幼儿园", "kindergarten", "urban", "private"),
    ("2133810101", "330181101", "河口镇中心小学", "primary", "town", "public"),
    ("2133810102", "330181101", "河口镇柳村小学", "primary", "rural", "public"),
    ("3133810103", "330181101", "河口镇初级中学", "junior", "town", "public"),
    ("1133810104", "330181101", "河口镇中心幼儿园", "kindergarten", "town", "public"),
    ("1133810105", "330181101", "河口镇柳村幼儿园", "kindergarten", "rural", "private"),
    ("3133810201", "330181", "东湖区实验学校(东校区, 初中部)", "junior", "urban", "public"),
    ("2133820001", "330182", "西山区第一小学", "primary", "urban", "public"),
    ("2133820002", "330182", "西山区第二小学", "primary", "urban", "public"),
    ("2133820003", "330182", "西山区第三小学", "primary", "urban", "public"),
    ("2133820004", "330182", "西山区实验小学", "primary", "urban", "public"),
    ("2133820005", "330182", "西山区枫林小学", "primary", "town", "public"),
    ("2133820006", "330182", "西山区松岭小学", "primary", "rural", "public"),
    ("2133820007", "330182", "西山区石门小学", "primary", "rural", "public"),
    ("2133820008", "330182", "西山区启明小学", "primary", "urban", "private"),
    ("3133820009", "330182", "西山区第一初级中学", "junior", "urban", "public"),
    ("3133820010", "330182", "西山区第二初级中学", "junior", "town", "public"),
    ("3133820011", "330182", "西山区松岭初级中学", "junior", "rural", "public"),
    ("1133820012", "330182", "西山区机关幼儿园", "kindergarten", "urban", "public"),
    ("1133820013", "330182", "西山区枫林幼儿园", "kindergarten", "town", "public"),
    ("1133820014", "330182", "西山区小天鹅幼儿园", "kindergarten", "urban", "private"),
    ("2133830001", "330183", "南湖区第一小学", "primary", "urban", "public"),
    ("2133830002", "330183", "南湖区第二小学", "primary", "urban", "public"),
    ("2133830003", "330183", "南湖区湖滨小学", "primary", "town", "public"),
    ("2133830004", "330183", "南湖区渔村小学", "primary", "rural", "public"),
    ("2133830005", "330183", "南湖区芦苇小学", "primary", "rural", "public"),
    ("2133830006", "330183", "南湖区新城小学", "primary", "urban", "public"),
    ("2133830007", "330183", "南湖区旧城小学(停办)", "primary", "urban", "public"),
    ("3133830008", "330183", "南湖区第一初级中学", "junior", "urban", "public"),
    ("3133830009", "330183", "南湖区第二初级中学", "junior", "town", "public"),
    ("3133830010", "330183", "南湖区\"启航\"初级中学", "junior", "rural", "private"),
    ("1133830011", "330183", "南湖区中心幼儿园", "kindergarten", "urban", "public"),
    ("1133830012", "330183", "南湖区湖滨幼儿园", "kindergarten", "town", "public"),
    ("1133830013", "330183", "南湖区贝贝幼儿园", "kindergarten", "urban", "private"),
]
assert len(SCHOOLS) == 40

INDICATORS = [
    # code, name_zh, name_en, unit, kind, numerator, denominator, multiplier, decimals
    ("pupils", "在校学生数", "Pupils enrolled", "人", "count", "", "", "", ""),
    ("teachers", "专任教师数", "Full-time teachers", "人", "count", "", "", "", ""),
    ("classes", "班级数", "Classes", "个", "count", "", "", "", ""),
    ("large_classes", "大班额班级数", "Classes of 56 or more pupils", "个", "count", "", "", "", ""),
    ("books", "图书册数", "Library books", "册", "count", "", "", "", ""),
    ("kg_children", "在园幼儿数", "Children in kindergarten", "人", "count", "", "", "", ""),
    ("pop_3_5", "3-5岁常住人口", "Resident children aged 3-5", "人", "count", "", "", "", ""),
    ("floor_area", "教学及辅助用房面积", "Teaching and auxiliary floor area, m2", "m²",
     "amount", "", "", "", "1"),
    ("equip_value", "教学仪器设备值", "Teaching equipment value", "元", "amount", "", "", "", "2"),
    ("books_per_pupil", "生均图书册数", "Books per pupil", "册", "ratio", "books", "pupils", "1", "2"),
    ("area_per_pupil", "生均教学及辅助用房面积", "Floor area per pupil", "m²", "ratio",
     "floor_area", "pupils", "1", "2"),
    ("equip_per_pupil", "生均教学仪器设备值", "Equipment value per pupil", "元", "ratio",
     "equip_value", "pupils", "1", "2"),
    ("large_class_share", "大班额比例", "Share of large classes", "%", "ratio",
     "large_classes", "classes", "100", "1"),
    ("kg_ger", "学前三年毛入园率", "Preschool gross enrolment rate", "%", "ratio",
     "kg_children", "pop_3_5", "100", "1"),
    ("pupil_teacher_ratio", "生师比", "Pupil-teacher ratio", "", "ratio", "pupils",
     "teachers", "1", "1"),
]


def csv_field(s):
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write(name, rows, crlf=False, bom=False, raw_lines=None):
    """rows: lists of fields; raw_lines: exact lines (already quoted)."""
    eol = "\r\n" if crlf else "\n"
    if raw_lines is None:
        raw_lines = [",".join(csv_field(f) for f in r) for r in rows]
    text = eol.join(raw_lines) + eol
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_config():
    rows = [["code", "parent", "level", "name", "stage", "locality", "ownership"]]
    rows.append(list(CITY) + ["", "", ""])
    for d in DISTRICTS:
        rows.append(list(d) + ["", "", ""])
    for t in TOWNS:
        rows.append(list(t) + ["", "", ""])
    for code, parent, name, stage, loc, own in SCHOOLS:
        rows.append([code, parent, "school", name, stage, loc, own])
    write("config/orgunits.csv", rows)
    rows = [["code", "name_zh", "name_en", "unit", "kind", "numerator", "denominator",
             "multiplier", "decimals"]]
    rows += [list(i) for i in INDICATORS]
    write("config/indicators.csv", rows)


# ------------------------------------------------------------ school values

MOE = {  # the worked example: pupils, books
    "2133830001": (45, 279),
    "2133830002": (37, 137),
    "2133830003": (89, 935),
    "2133830004": (76, 160),
    "2133830005": (55, 402),
}


def school_values_2024(code, stage):
    """A plausible 2024 return for one school, as {indicator: text}."""
    v = {}
    if stage == "kindergarten":
        kids = rng.randint(60, 320)
        v["kg_children"] = str(kids)
        v["teachers"] = str(max(1, kids // rng.randint(12, 17)))
        v["classes"] = str(max(1, kids // 30))
        v["floor_area"] = "%d.%d" % (kids * rng.randint(3, 6), rng.randint(0, 9))
        return v
    if code in MOE:
        pupils, books = MOE[code]
    else:
        pupils = rng.randint(180, 1500) if stage == "primary" else rng.randint(300, 1800)
        books = pupils * rng.randint(18, 42)
    v["pupils"] = str(pupils)
    v["teachers"] = str(max(2, pupils // rng.randint(13, 19)))
    classes = max(1, round(pupils / rng.randint(38, 52)))
    v["classes"] = str(classes)
    v["large_classes"] = str(rng.choice([0, 0, 0, 1, 2, 3, 5]) if classes > 5 else 0)
    v["books"] = str(books)
    v["floor_area"] = "%d.%d" % (pupils * rng.randint(4, 8), rng.randint(0, 9))
    v["equip_value"] = "%d.%02d" % (pupils * rng.randint(1500, 3200), rng.randint(0, 99))
    return v


def school_values_2025(code, stage):
    v = {}
    if stage == "kindergarten":
        v["kg_children"] = str(rng.randint(60, 320))
        v["teachers"] = str(rng.randint(5, 22))
        v["classes"] = str(rng.randint(2, 10))
        return v
    pupils = rng.randint(180, 1800)
    v["pupils"] = str(pupils)
    v["teachers"] = str(max(2, pupils // rng.randint(13, 19)))
    classes = max(1, round(pupils / rng.randint(38, 52)))
    v["classes"] = str(classes)
    v["large_classes"] = str(rng.choice([0, 0, 1, 2]))
    return v


def main():
    write_config()
    runs = []
    stage = {s[0]: s[3] for s in SCHOOLS}
    names = {s[0]: s[2] for s in SCHOOLS}
    donghu = [s[0] for s in SCHOOLS if s[1] == "330181" or s[1].startswith("330181")]
    xishan = [s[0] for s in SCHOOLS if s[1] == "330182"]
    nanhu = [s[0] for s in SCHOOLS if s[1] == "330183"]
    assert len(donghu) == 13 and len(xishan) == 14 and len(nanhu) == 13

    v2024 = {c: school_values_2024(c, stage[c]) for c in donghu + xishan + nanhu}
    # Special leaves of 2024:
    #   2133830007 has closed: 0 pupils (a zero denominator at a leaf) but
    #   still owns books and a building;
    #   in 南湖区 only the five MoE schools report books.
    for c in nanhu:
        if c not in MOE:
            v2024[c].pop("books", None)
    v2024["2133830007"] = {"pupils": "0", "teachers": "0", "classes": "0",
                           "large_classes": "0", "books": "5200", "floor_area": "2400.0"}
    # A first, wrong figure that the correction run fixes (935 in the MoE data).
    v2024["2133830003"]["books"] = "953"
    # 2133820006 reports 0 classes at first (corrected to 9 later): a zero
    # denominator that becomes positive.
    v2024["2133820006"]["classes"] = "0"
    v2024["2133820006"]["large_classes"] = "0"
    # 3133820011 has no large class: its share is 0, a mean of 0, so its
    # cv is NULL.
    v2024["3133820011"]["large_classes"] = "0"

    # --- run 1: 东湖区 2024, BOM + CRLF, extra quoted name column, odd order.
    rows = [["indicator", "name", "value", "unit", "period"]]
    for c in donghu:
        for ind, val in v2024[c].items():
            rows.append([ind, names[c], val, c, "2024"])
    # Names with commas and doubled quotes, and one that spans two lines.
    rows[1][1] = '城关镇第一小学, "本部"'
    rows[2][1] = '城关镇第一小学 ""本部""'
    rows[3][1] = "城关镇第一小学\r\n(本部)"
    write("donghu_2024.csv", rows, crlf=True, bom=True)
    runs.append("submit 0 donghu_2024.csv")

    # --- run 2: 西山区 2024, plain LF, the contract's own column order.
    rows = [["unit", "period", "indicator", "value"]]
    for c in xishan:
        for ind, val in v2024[c].items():
            rows.append([c, "2024", ind, val])
    write("xishan_2024.csv", rows)
    runs.append("submit 0 xishan_2024.csv")

    # --- run 3: 南湖区 2024, BOM without CRLF, reversed columns.
    rows = [["value", "indicator", "period", "unit"]]
    for c in nanhu:
        for ind, val in v2024[c].items():
            rows.append([val, ind, "2024", c])
    write("nanhu_2024.csv", rows, bom=True)
    runs.append("submit 0 nanhu_2024.csv")

    # --- runs 4-6: district populations, through the flags.
    write("pop_330181_2024.csv", [["indicator", "value"], ["pop_3_5", "2480"]])
    runs.append("submit 0 --unit 330181 --period 2024 pop_330181_2024.csv")
    write("pop_330182_2024.csv", [["value", "indicator"], ["3015", "pop_3_5"]], crlf=True)
    runs.append("submit 0 --period 2024 --unit 330182 pop_330182_2024.csv")
    # 南湖区 also reports the teachers of its own office (教研员): a value
    # stored at a unit that has children.
    write("pop_330183_2024.csv", [["unit", "indicator", "value"],
                                  ["330183", "pop_3_5", "1760"],
                                  ["330183", "teachers", "3"]])
    runs.append("submit 0 --period 2024 pop_330183_2024.csv")

    # --- run 7: 2025S1 in every order of the four columns, one school a file,
    # all files in one run.
    order_2025 = [c for c in donghu + xishan + nanhu if c not in MOE]
    rng.shuffle(order_2025)
    perm_files = []
    perms = list(itertools.permutations(["unit", "period", "indicator", "value"]))
    assert len(perms) == 24
    v2025 = {}
    for k, perm in enumerate(perms):
        c = order_2025[k]
        v2025[c] = school_values_2025(c, stage[c])
        rows = [list(perm)]
        for ind, val in v2025[c].items():
            rec = {"unit": c, "period": "2025S1", "indicator": ind, "value": val}
            rows.append([rec[col] for col in perm])
        name = "perm_%02d_2025S1.csv" % k
        write(name, rows, crlf=(k % 2 == 1), bom=(k % 3 == 0))
        perm_files.append(name)
    runs.append("submit 0 " + " ".join(perm_files))

    # --- runs 8-9: --unit and --period, only indicator and value columns.
    c1, c2 = order_2025[24], order_2025[25]
    for c, cols, flags_first in ((c1, ["indicator", "value"], True),
                                 (c2, ["value", "indicator"], False)):
        v2025[c] = school_values_2025(c, stage[c])
        rows = [cols] + [[ind, val] if cols[0] == "indicator" else [val, ind]
                         for ind, val in v2025[c].items()]
        name = "flags_%s_2025S1.csv" % c
        write(name, rows)
        runs.append("submit 0 --unit %s --period 2025S1 %s" % (c, name))

    # --- run 10: --period only, the three remaining columns in every order.
    # The files also carry the districts' and a town's 2025S1 population
    # (石桥镇 is a leaf: its population is a leaf value) and a school that
    # reports books without pupils (a numerator without a denominator).
    files = []
    rest = order_2025[26:32]
    extra = {
        0: [("330181", "pop_3_5", "2510")],
        1: [("330181102", "pop_3_5", "430")],
        2: [("2133830001", "books", "300")],  # no 2025S1 pupils for it
    }
    for k, perm in enumerate(itertools.permutations(["unit", "indicator", "value"])):
        c = rest[k]
        v2025[c] = school_values_2025(c, stage[c])
        recs = [(c, ind, val) for ind, val in v2025[c].items()] + extra.get(k, [])
        rows = [list(perm)]
        for u, ind, val in recs:
            rec = {"unit": u, "indicator": ind, "value": val}
            rows.append([rec[col] for col in perm])
        name = "period_flag_%d_2025S1.csv" % k
        write(name, rows, crlf=(k == 4))
        files.append(name)
    runs.append("submit 0 --period 2025S1 " + " ".join(files))

    # --- run 11: corrections of 2024 in a later run, with duplicate keys.
    # 西山区's pupils: the largest moves inward (max must be found again) and
    # the smallest moves up (min must be found again).
    xs_pupils = sorted((int(v2024[c]["pupils"]), c) for c in xishan if "pupils" in v2024[c])
    lo_c, hi_c = xs_pupils[0][1], xs_pupils[-1][1]
    mid = xs_pupils[len(xs_pupils) // 2][0]
    rows = [["unit", "period", "indicator", "value"],
            ["2133830003", "2024", "books", "935"],  # the MoE figure
            [hi_c, "2024", "pupils", str(mid + 1)],
            [lo_c, "2024", "pupils", str(mid - 1)],
            ["2133820006", "2024", "classes", "9"],
            ["2133820006", "2024", "large_classes", "1"],
            # duplicate key: three rows, the last one wins
            ["2133820004", "2024", "teachers", "31"],
            ["2133820004", "2024", "teachers", "33"],
            ["2133820004", "2024", "teachers", "32"],
            # duplicate key whose first row repeats the stored value
            ["3133820009", "2024", "equip_value", v2024["3133820009"]["equip_value"]],
            ["3133820009", "2024", "equip_value", "1500000.5"],
            # a correction to zero, and an amount with fewer decimals
            ["2133820008", "2024", "large_classes", "0"],
            ["3133830008", "2024", "floor_area", "9000"],
            ["330183", "2024", "pop_3_5", "1790"]]
    write("corrections_2024.csv", rows)
    runs.append("submit 0 corrections_2024.csv")

    # --- run 12: 2025S1 corrections: CRLF, yet another order, duplicates.
    a, b = order_2025[0], order_2025[1]
    a_ind = "pupils" if "pupils" in v2025[a] else "kg_children"
    rows = [["period", "unit", "value", "indicator"],
            ["2025S1", a, "999", a_ind],
            ["2025S1", b, "7", "teachers"],
            ["2025S1", a, "1001", a_ind],  # later row wins
            ["2025S1", "330181", "2600", "pop_3_5"]]
    write("corrections_2025S1.csv", rows, crlf=True)
    runs.append("submit 0 corrections_2025S1.csv")

    # --- run 13: the BOM/CRLF file again, unchanged: nothing may change.
    runs.append("identical 0 donghu_2024.csv")

    # --- run 14: every rejection the contract lists, mixed with good rows.
    # BOM + CRLF; a quoted note spanning two lines shifts the physical line
    # numbers of the rows after it.
    lines = [
        "unit,period,indicator,value,note",                      # 1
        "2133820001,2024,books,30123,good",                      # 2 good (correction)
        "9999999999,2024,pupils,10,unknown unit",                # 3
        "2133820001,2024,no_such_indicator,10,unknown ind",      # 4
        "2133820001,2024,books_per_pupil,5,ratio",               # 5
        "2133820002,2025S1,books,21000,good",                    # 6 good (new key)
        "2133820002,2024Q5,pupils,10,bad period",                # 7
        "2133820002,202413,pupils,10,bad period",                # 8
        "2133820002,24,pupils,10,bad period",                    # 9
        "2133820002,2024,teachers,,empty value",                 # 10
        "2133820002,2024,teachers,abc,not a number",             # 11
        '2133820003,2025S1,books,18000,"a note over',            # 12 good
        'two lines, with ""quotes"""',                           # 13
        "2133820003,2024,pupils,NaN,nan",                        # 14
        "2133820003,2024,pupils,inf,inf",                        # 15
        "2133820003,2024,pupils,-5,negative",                    # 16
        "2133820003,2024,pupils,12.5,not whole",                 # 17
        "2133820003,2024,equip_value,1.234,too precise",         # 18
        "2133820003,2024,floor_area,2e15,too big",               # 19
        "2133820004,2024,pupils,10,too,many",                    # 20
        "2133820004,2024,pupils",                                # 21
        '2133820004,2025S1,floor_area,4321.5,"good, ""quoted"""',  # 22 good
        "",                                                      # 23 blank
        "2133820004,2025S1,equip_value,88000.25,good",           # 24 good
        ",2024,pupils,10,empty unit",                            # 25
        "2133820005,2024,pupils,-inf,negative infinity",         # 26
        "2133820005,2024,equip_value,0.005,too precise",         # 27
        "2133820005,2024Q1,pupils,10000000000000000,too big",    # 28
        '2133820005,2024,teachers,x1,"a rejected row whose note', # 29
        'spans two lines"',                                      # 30
        '2133820005,2024,teachers,7,"too many fields, and a',    # 31
        'note over two lines",extra',                            # 32
        "2133820005,2025S1,teachers,17,good",                    # 33 good
    ]
    write("bad_2024.csv", None, crlf=True, bom=True, raw_lines=lines)
    expect = [
        (3, "9999999999"), (4, "no_such_indicator"), (5, "books_per_pupil"),
        (7, "2024Q5"), (8, "202413"), (9, "period"), (10, "empty|value"), (11, "abc"),
        (14, "nan"), (15, "inf"), (16, "-5|negative"), (17, r"12\.5"), (18, r"1\.234"),
        (19, "scientific notation"), (20, "field"), (21, "field"), (25, "unit"), (26, "inf"),
        (27, r"0\.005"), (28, "10000000000000000"), (29, "x1"), (31, "field"),
    ]
    with open(os.path.join(HERE, "bad_2024.csv.expect"), "w") as f:
        for line, rx in expect:
            f.write("%d\t%s\n" % (line, rx))
    runs.append("submit 1 bad_2024.csv")

    # --- run 15: a header without the value column (one rejection, line 1)
    # in the same run as a good file, which must still be stored.
    write("missing_value_column.csv", [["unit", "period", "indicator", "amount"],
                                       ["2133820001", "2024", "pupils", "1"]])
    with open(os.path.join(HERE, "missing_value_column.csv.expect"), "w") as f:
        f.write("1\tvalue\n")
    rows = [["unit", "indicator", "period", "value"]]
    for c in ("2133830002", "2133830003", "2133830004", "2133830005"):
        p, b = MOE[c]
        rows += [[c, "pupils", "2025S1", str(p + 2)], [c, "books", "2025S1", str(b + 40)]]
    write("nanhu_2025S1.csv", rows)
    runs.append("submit 1 missing_value_column.csv nanhu_2025S1.csv")

    # --- run 16-18: restart both daemons (state rebuilt from PostgreSQL),
    # then an identical re-send must still change nothing and a correction
    # must still roll up.
    runs.append("restart 0")
    runs.append("identical 0 xishan_2024_resend.csv")
    rows = [["unit", "period", "indicator", "value"]]
    touched = {hi_c, lo_c, "2133820001", "2133820004", "2133820006", "2133820008",
               "3133820009"}
    for c in [c for c in xishan if c not in touched][:3]:
        for ind, val in v2024[c].items():
            rows.append([c, "2024", ind, val])
    write("xishan_2024_resend.csv", rows)
    write("after_restart_2024.csv", [["unit", "period", "indicator", "value"],
                                     ["2133830004", "2024", "pupils", "77"],
                                     ["2133830004", "2024", "pupils", "76"],
                                     ["2133810101", "2024", "pupils", "640"]])
    runs.append("submit 0 after_restart_2024.csv")

    with open(os.path.join(HERE, "runs.txt"), "w") as f:
        f.write("# KIND EXIT ARGS...: the collector runs, in order (see make_data.py)\n")
        for r in runs:
            f.write(r + "\n")


if __name__ == "__main__":
    main()
