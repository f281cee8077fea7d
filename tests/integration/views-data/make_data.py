#!/usr/bin/env python3
"""Write the test city and submission files of tests/integration/views.sh.

The outputs are checked in; this script documents how they were made and
regenerates them byte for byte (no randomness).  Run it from anywhere:

    python3 tests/integration/views-data/make_data.py

The city is neither the sample city nor the pipeline test's: 测试市 (990000)
with four districts, each built to show one outcome of the views:

  甲区 990001  passes 优质均衡 in both stages; enrols exactly 100% of its
               primary-age children (a target met with equality).
  乙区 990002  fails 优质均衡 on exactly one 差异系数: its largest primary
               school holds 9000 元 of equipment per pupil, the others
               ~2200, so the primary equip_value_per_pupil CV is ~0.69
               (limit 0.50); every school passes.  Below 95% 入园率.
  丙县 990003  fails on schools: P31 misses two thresholds (each above 85%
               of the minimum), P32 one at 80%, P35 does not report
               mm_rooms (a missing value is a miss); P33 misses one at 93%
               and passes (after a correction: its first file was far
               lower); P34 in 丙镇 sits exactly on every minimum and on 85%
               of one, and passes.  Has a town (丙镇) with schools.
  丁区 990004  the five schools of the MoE 差异系数 worked example
               (indicators-research.md §2): pupils 45, 37, 89, 76, 55 and
               books 279, 137, 935, 160, 402, CV 0.515; no locality or
               ownership, so they are in no such breakdown.

periods.csv is not here: views.sh writes it at test time relative to the
database's date (2024 due today, 2025S1 due yesterday, 2025S2 due in 30
days), because a submission's arrival time cannot be faked through the
pipeline.  runs.txt lists the files to submit, in order.  bad/ holds a
config with a bad targets.csv, which must stop the sink at start.
"""

import csv
import os

HERE = os.path.dirname(os.path.abspath(__file__))

CITY = "990000"
UNITS = [
    # code, parent, level, name, stage, locality, ownership
    (CITY, "", "city", "测试市", "", "", ""),
    ("990001", CITY, "district", "甲区", "", "", ""),
    ("990002", CITY, "district", "乙区", "", "", ""),
    ("990003", CITY, "district", "丙县", "", "", ""),
    ("990004", CITY, "district", "丁区", "", "", ""),
    ("990003100", "990003", "town", "丙镇", "", "", ""),
    ("P11", "990001", "school", "甲区第一小学", "primary", "urban", "public"),
    ("P12", "990001", "school", "甲区镇中心小学", "primary", "town", "public"),
    ("P13", "990001", "school", "甲区育才小学", "primary", "rural", "private"),
    ("J11", "990001", "school", "甲区第一初级中学", "junior", "urban", "public"),
    ("J12", "990001", "school", "甲区乡初级中学", "junior", "rural", "public"),
    ("K11", "990001", "school", "甲区第一幼儿园", "kindergarten", "urban", "public"),
    ("K12", "990001", "school", "甲区阳光幼儿园", "kindergarten", "town", "private"),
    ("P21", "990002", "school", "乙区实验小学", "primary", "urban", "public"),
    ("P22", "990002", "school", "乙区第二小学", "primary", "urban", "public"),
    ("P23", "990002", "school", "乙区镇小学", "primary", "town", "public"),
    ("P24", "990002", "school", "乙区村小学", "primary", "rural", "public"),
    ("J21", "990002", "school", "乙区第一初级中学", "junior", "urban", "public"),
    ("J22", "990002", "school", "乙区第二初级中学", "junior", "town", "public"),
    ("K21", "990002", "school", "乙区幼儿园", "kindergarten", "urban", "public"),
    ("P31", "990003", "school", "丙县第一小学", "primary", "urban", "public"),
    ("P32", "990003", "school", "丙县第二小学", "primary", "town", "public"),
    ("P33", "990003", "school", "丙县第三小学", "primary", "rural", "public"),
    ("J31", "990003", "school", "丙县第一初级中学", "junior", "town", "public"),
    ("P34", "990003100", "school", "丙镇中心小学", "primary", "town", "public"),
    ("P35", "990003100", "school", "丙镇村小学", "primary", "rural", "private"),
    ("J32", "990003100", "school", "丙镇初级中学", "junior", "rural", "public"),
    ("K31", "990003100", "school", "丙镇中心幼儿园", "kindergarten", "town", "public"),
    ("K32", "990003100", "school", "丙镇\"小太阳\"幼儿园", "kindergarten", "rural",
     "private"),
    ("D1", "990004", "school", "丁区一校", "primary", "", ""),
    ("D2", "990004", "school", "丁区二校", "primary", "", ""),
    ("D3", "990004", "school", "丁区三校", "primary", "", ""),
    ("D4", "990004", "school", "丁区四校", "primary", "", ""),
    ("D5", "990004", "school", "丁区五校", "primary", "", ""),
]

INDICATORS = [
    ("pupils", "在校生数", "Pupils", "人", "count", "", "", "", ""),
    ("teachers", "专任教师数", "Teachers", "人", "count", "", "", "", ""),
    ("qual_teachers", "高于规定学历教师数", "Qualified teachers", "人", "count", "", "", "", ""),
    ("backbone_teachers", "骨干教师数", "Backbone teachers", "人", "count", "", "", "", ""),
    ("pe_art_teachers", "体育艺术教师数", "PE and art teachers", "人", "count", "", "", "", ""),
    ("mm_rooms", "网络多媒体教室数", "Multimedia rooms", "间", "count", "", "", "", ""),
    ("teach_area", "教学及辅助用房面积", "Teaching area", "m²", "amount", "", "", "", "2"),
    ("sports_area", "体育运动场馆面积", "Sports area", "m²", "amount", "", "", "", "2"),
    ("equip_value", "教学仪器设备值", "Equipment value", "元", "amount", "", "", "", "2"),
    ("books", "图书册数", "Library books", "册", "count", "", "", "", ""),
    ("dropouts", "辍学人数", "Dropouts", "人", "count", "", "", "", ""),
    ("pupils_prev", "上学年初在校生数", "Pupils a year before", "人", "count", "", "", "", ""),
    ("kg_children", "在园幼儿数", "Children in kindergarten", "人", "count", "", "", "", ""),
    ("kg_public_children", "公办园在园幼儿数", "In public kindergartens", "人", "count", "", "",
     "", ""),
    ("pop_3to5", "3-5岁人口", "Population 3-5", "人", "count", "", "", "", ""),
    ("primary_enrolled_age", "小学适龄在校生数", "Enrolled aged 6-11", "人", "count", "", "",
     "", ""),
    ("pop_6to11", "6-11岁人口", "Population 6-11", "人", "count", "", "", "", ""),
    ("pupil_teacher_ratio", "生师比", "Pupil-teacher ratio", "", "ratio", "pupils", "teachers",
     "1", "2"),
    ("qual_teachers_per100", "每百名学生拥有高于规定学历教师数", "Qualified per 100", "人",
     "ratio", "qual_teachers", "pupils", "100", "2"),
    ("backbone_teachers_per100", "每百名学生拥有骨干教师数", "Backbone per 100", "人", "ratio",
     "backbone_teachers", "pupils", "100", "2"),
    ("pe_art_teachers_per100", "每百名学生拥有体育艺术教师数", "PE/art per 100", "人", "ratio",
     "pe_art_teachers", "pupils", "100", "2"),
    ("mm_rooms_per100", "每百名学生拥有网络多媒体教室数", "Rooms per 100", "间", "ratio",
     "mm_rooms", "pupils", "100", "2"),
    ("teach_area_per_pupil", "生均教学及辅助用房面积", "Teaching area per pupil", "m²", "ratio",
     "teach_area", "pupils", "1", "2"),
    ("sports_area_per_pupil", "生均体育运动场馆面积", "Sports area per pupil", "m²", "ratio",
     "sports_area", "pupils", "1", "2"),
    ("equip_value_per_pupil", "生均教学仪器设备值", "Equipment per pupil", "元", "ratio",
     "equip_value", "pupils", "1", "2"),
    ("books_per_pupil", "生均图书册数", "Books per pupil", "册", "ratio", "books", "pupils", "1",
     "2"),
    ("dropout_rate", "辍学率", "Dropout rate", "%", "ratio", "dropouts", "pupils_prev", "100",
     "2"),
    ("kg_ger_3yr", "学前三年毛入园率", "Preschool GER", "%", "ratio", "kg_children", "pop_3to5",
     "100", "2"),
    ("kg_public_share", "公办园在园幼儿占比", "Public kindergarten share", "%", "ratio",
     "kg_public_children", "kg_children", "100", "2"),
    ("primary_enrol_rate", "小学适龄儿童入学率", "Primary enrolment rate", "%", "ratio",
     "primary_enrolled_age", "pop_6to11", "100", "2"),
]

BAL = "优质均衡"
BASIC = "基本均衡(示例)"
BALANCE = [
    (BAL, "primary", "qual_teachers_per100", "4.2", "0.50"),
    (BAL, "primary", "backbone_teachers_per100", "1", "0.50"),
    (BAL, "primary", "pe_art_teachers_per100", "0.9", "0.50"),
    (BAL, "primary", "teach_area_per_pupil", "4.5", "0.50"),
    (BAL, "primary", "sports_area_per_pupil", "7.5", "0.50"),
    (BAL, "primary", "equip_value_per_pupil", "2000", "0.50"),
    (BAL, "primary", "mm_rooms_per100", "2.3", "0.50"),
    (BAL, "junior", "qual_teachers_per100", "5.3", "0.45"),
    (BAL, "junior", "backbone_teachers_per100", "1", "0.45"),
    (BAL, "junior", "pe_art_teachers_per100", "0.9", "0.45"),
    (BAL, "junior", "teach_area_per_pupil", "5.8", "0.45"),
    (BAL, "junior", "sports_area_per_pupil", "10.2", "0.45"),
    (BAL, "junior", "equip_value_per_pupil", "2500", "0.45"),
    (BAL, "junior", "mm_rooms_per100", "2.4", "0.45"),
    # A CV-only rule of a second standard: 丁区's books, the MoE example.
    (BASIC, "primary", "books_per_pupil", "", "0.65"),
]

TARGETS = [
    ("kg_ger_3yr", "district", "", "", ">=", "95", "计划: 学前三年入园率≥95%"),
    ("kg_public_share", "city", CITY, "", ">=", "50", "计划, 公办园占比"),
    ("kg_public_share", "city", CITY, "", ">=", "41.5", "计划(阶段目标)"),
    ("primary_enrol_rate", "district", "", "", ">=", "100", "计划: 小学入学率100%"),
    ("dropout_rate", "district", "", "", "=", "0", "计划: 辍学率为零"),
    ("dropout_rate", "town", "990003100", "", "=", "0", "丙镇: 辍学率为零"),
    ("pupil_teacher_ratio", "district", "", "primary", "<=", "17", "小学生师比"),
    ("pupil_teacher_ratio", "district", "", "kindergarten", "<=", "15", "幼儿园师幼比 1:15"),
    ("equip_value_per_pupil", "city", "", "junior", ">=", "2500", "初中生均设备"),
    ("teach_area_per_pupil", "school", "", "primary", ">=", "4.5", "教督〔2017〕6号"),
    ("books_per_pupil", "school", "D3", "primary", ">", "10", "一所学校"),
]


def primary(n, qual, backbone, pe_art, mm, teach, sports, equip, teachers=None):
    """A primary or junior school's resource figures from per-pupil values."""
    return {
        "pupils": n,
        "teachers": teachers if teachers is not None else qual + 4,
        "qual_teachers": qual,
        "backbone_teachers": backbone,
        "pe_art_teachers": pe_art,
        "mm_rooms": mm,
        "teach_area": "%.2f" % (n * teach),
        "sports_area": "%.2f" % (n * sports),
        "equip_value": "%.2f" % (n * equip),
    }


# 2024: every school's figures.  Per-100 counts are chosen against the
# minimums: qual 4.2/5.3, backbone 1, pe_art 0.9, rooms 2.3/2.4.
Y2024 = {
    "P11": primary(800, 40, 12, 9, 22, 5.5, 9.0, 2600, teachers=50),
    "P12": primary(400, 20, 6, 5, 11, 6.0, 9.5, 2400),
    "P13": primary(120, 6, 2, 2, 4, 5.2, 10.0, 2800, teachers=9),
    "J11": primary(900, 55, 12, 10, 25, 6.5, 12.0, 3000),
    "J12": primary(300, 18, 4, 3, 8, 7.0, 11.0, 2900),
    "P21": primary(1000, 48, 15, 11, 28, 5.0, 8.5, 9000),
    "P22": primary(900, 43, 12, 10, 24, 5.6, 9.0, 2200),
    "P23": primary(500, 24, 7, 6, 14, 6.1, 9.2, 2300),
    "P24": primary(300, 15, 4, 3, 9, 6.0, 10.5, 2100),
    "J21": primary(800, 46, 10, 9, 22, 6.2, 11.5, 2900),
    "J22": primary(500, 29, 6, 6, 13, 6.8, 12.5, 2800),
    "P31": primary(600, 29, 8, 7, 13, 5.4, 7.0, 2500),    # sports 93%, rooms 2.17 (94%)
    "P32": primary(500, 24, 7, 6, 14, 5.3, 9.0, 1600),    # equipment 80%
    "P33": primary(400, 19, 6, 5, 11, 4.2, 8.8, 2450),    # teaching area 93% (corrected)
    "J31": primary(700, 40, 9, 8, 19, 6.6, 11.8, 3100),
    "P34": primary(500, 21, 5, 5, 12, 4.5, 6.375, 2000),  # exactly on the minimums, 85%
    "P35": primary(300, 15, 4, 4, 0, 5.5, 9.0, 2500),     # mm_rooms not reported
    "J32": primary(250, 15, 3, 3, 7, 7.2, 12.0, 2700),
}
del Y2024["P35"]["mm_rooms"]
for code in Y2024:
    if code.startswith("P"):
        Y2024[code]["primary_enrolled_age"] = Y2024[code]["pupils"] - (
            0 if code.startswith("P1") else 3)
    Y2024[code]["pupils_prev"] = Y2024[code]["pupils"] + 10
    Y2024[code]["dropouts"] = {"P23": 2, "J31": 1}.get(code, 0)
KG = {
    "K11": (200, True, 14), "K12": (150, False, 11), "K21": (180, True, 11),
    "K31": (120, True, 9), "K32": (60, False, 5),
}
for code, (kids, public, teachers) in KG.items():
    Y2024[code] = {"pupils": kids, "kg_children": kids,
                   "kg_public_children": kids if public else 0, "teachers": teachers,
                   "teach_area": "%.2f" % (kids * 4.0)}
MOE = {"D1": (45, 279), "D2": (37, 137), "D3": (89, 935), "D4": (76, 160), "D5": (55, 402)}
for code, (pupils, books) in MOE.items():
    Y2024[code] = {"pupils": pupils, "books": books}

# P33's first file had the teaching area wrong (3.0 m² per pupil, 67%: a
# failing school); the correction, submitted later, makes it 4.2 (93%).
FIRST_P33 = {"teach_area": "%.2f" % (400 * 3.0)}


def population(sch, ind, rate):
    return round(sum(Y2024[c].get(ind, 0) for c in sch) / rate)


def district_schools(d):
    below = {d} | {u[0] for u in UNITS if u[1] == d}
    below |= {u[0] for u in UNITS if u[1] in below}
    return [u[0] for u in UNITS if u[0] in below and u[4]]


POP2024 = {
    "990001": {"pop_3to5": population(district_schools("990001"), "kg_children", 0.97),
               "pop_6to11": sum(Y2024[c].get("primary_enrolled_age", 0)
                                for c in district_schools("990001"))},
    "990002": {"pop_3to5": population(district_schools("990002"), "kg_children", 0.90),
               "pop_6to11": sum(Y2024[c].get("primary_enrolled_age", 0)
                                for c in district_schools("990002"))},
    "990003": {"pop_3to5": population(district_schools("990003"), "kg_children", 0.96),
               "pop_6to11": population(district_schools("990003"), "primary_enrolled_age",
                                       0.99)},
}

# 2025S1: headcounts only, and P13 and K32 have not reported.
Y2025 = {c: {"pupils": f["pupils"] + 5, "teachers": f.get("teachers", 1)}
         for c, f in Y2024.items() if c not in ("P13", "K32") and not c.startswith("D")}


def write(path, header, rows):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fp:
        w = csv.writer(fp, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main():
    write("config/orgunits.csv",
          ["code", "parent", "level", "name", "stage", "locality", "ownership"], UNITS)
    write("config/indicators.csv",
          ["code", "name_zh", "name_en", "unit", "kind", "numerator", "denominator",
           "multiplier", "decimals"], INDICATORS)
    write("config/targets.csv", ["indicator", "level", "unit", "stage", "op", "value", "source"],
          TARGETS)
    write("config/balance.csv", ["standard", "stage", "indicator", "school_min", "cv_max"],
          BALANCE)
    bad = list(TARGETS[:1]) + [("kg_ger_3y", "district", "", "", ">=", "95", "typo")]
    write("bad/targets.csv", ["indicator", "level", "unit", "stage", "op", "value", "source"],
          bad)
    runs = []
    for code, fig in Y2024.items():
        first = dict(fig, **FIRST_P33) if code == "P33" else fig
        write("2024_%s.csv" % code, ["unit", "period", "indicator", "value"],
              [(code, "2024", k, v) for k, v in first.items()])
        runs.append("2024_%s.csv" % code)
    for d, pops in POP2024.items():
        write("2024_%s.csv" % d, ["unit", "period", "indicator", "value"],
              [(d, "2024", k, v) for k, v in pops.items()])
        runs.append("2024_%s.csv" % d)
    write("2024_corrections.csv", ["unit", "period", "indicator", "value"],
          [("P33", "2024", "teach_area", Y2024["P33"]["teach_area"])])
    runs.append("2024_corrections.csv")
    write("2025S1_all.csv", ["unit", "period", "indicator", "value"],
          [(c, "2025S1", k, v) for c, f in Y2025.items() for k, v in f.items()])
    runs.append("2025S1_all.csv")
    with open(os.path.join(HERE, "runs.txt"), "w") as fp:
        fp.write("# The files views.sh submits, in order (see make_data.py).\n")
        fp.write("\n".join(runs) + "\n")


if __name__ == "__main__":
    main()
