#!/usr/bin/env python3
"""Generate the sample city, 盘锦市, and a simulated submission round.

Writes (relative to the repository root, or --out):
  config/orgunits.csv     the org tree: city, 4 districts, 3 towns, ~300 schools
  config/indicators.csv   the indicator catalogue
  config/targets.csv      the targets of bureaus' published work plans and of
                          the national standards, each with its document
  config/periods.csv      the two reporting rounds and their due dates
  config/balance.csv      the 优质均衡 resource standard (教督〔2017〕6号)
  demo/2024/*.csv         one file per school and one per district (the
                          populations behind the enrolment rates)
  demo/2025S1/*.csv       the same for the first half of 2025; four schools
                          have not reported yet
  demo/2025S1/by-flag/UNIT.csv   files without unit/period columns, for
                          `edustat-collector submit --unit UNIT --period 2025S1`
  demo/corrections/2024.csv      later corrections of some 2024 values
  demo/2023/all.csv       the year before: each school's pupils, teachers,
                          classes, 大班额 and kindergarten places, so the
                          year-on-year view (edustat.agg_change) has a story

Deterministic: a fixed seed, so the checked-in files are reproducible with
`python3 scripts/gen_sample.py`.  The schools, codes and figures are
synthetic; only the city, its districts and its towns are real names.

The files vary the way real exports do: most are plain LF UTF-8, some carry a
BOM and CRLF line ends (Excel), some order the columns differently or carry
an extra quoted name column, and two files hold deliberately bad rows so the
demo shows rejections with reasons.

The figures tell a story the views of docs/SQL.md show: 盘山县 misses the
95% preschool enrolment target and the 90% senior secondary one, 大洼区 the
50% fitness target; in 优质均衡, 双台子区 and 盘山县 pass, 兴隆台区 fails on
one 差异系数 only and 大洼区 on three schools (balance_story(); the script
stops if its own recomputation disagrees).
"""

import argparse
import csv
import math
import os
import random
import shutil

SEED = 20240901
CITY = ("211100", "盘锦市")
DISTRICTS = [
    ("211102", "双台子区"),
    ("211103", "兴隆台区"),
    ("211104", "大洼区"),
    ("211122", "盘山县"),
]
URBAN_DISTRICTS = {"211102", "211103"}
# Towns of 盘山县 that report through their own office (the tree's deepest
# branch: city -> district -> town -> school).
TOWNS = [("211122100", "高升镇"), ("211122101", "沙岭镇"), ("211122102", "胡家镇")]
# Other towns and streets, used in school names only.
PLACES = {
    "211102": ["胜利", "红旗", "建设", "辽河", "双盛", "铁东", "统一", "陆家"],
    "211103": ["兴隆", "渤海", "振兴", "曙光", "惠宾", "创新", "新生", "兴盛", "石油",
               "欢喜岭", "沈家", "茨采"],
    "211104": ["田家", "榆树", "王家", "西安", "新立", "新兴", "唐家", "平安", "东风",
               "清水", "赵圈河", "荣兴"],
    "211122": ["石新", "东郭", "羊圈子", "坝墙子", "甜水", "太平", "陈家", "吴家",
               "古城子", "得胜"],
}
VILLAGES = ["大台", "小荒地", "双岗子", "三道沟", "新立屯", "王家", "李家", "前进", "红光",
            "永胜", "胜利", "长兴", "东岗", "西岗", "南洼", "北井子", "高家", "于家"]
PRIVATE_KG = ["阳光", "小天使", "蓝天", "金色童年", "博苑", "启明星", "七色花", "童之梦",
              "小太阳", "爱心", "贝贝", "育才", "新苗", "彩虹", "春蕾", "智慧树", "星星",
              "好孩子", "小博士", "未来星", "乐乐", "金苹果", "小白鸽", "开心果"]
NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
            "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十"]

# Schools per district: kindergarten, primary, junior, senior.  盘山县's town
# offices hold a few more (TOWN_SCHOOLS each).
PLAN = {
    "211102": (22, 14, 6, 2),
    "211103": (40, 24, 10, 4),
    "211104": (36, 26, 10, 2),
    "211122": (30, 22, 9, 3),
}
TOWN_SCHOOLS = (4, 5, 1, 0)
STAGES = ("kindergarten", "primary", "junior", "senior")
PREFIX = {"kindergarten": "11", "primary": "21", "junior": "31", "senior": "34"}
PROVINCE = "21"

INDICATORS = [
    # code, name_zh, name_en, unit, kind, numerator, denominator, multiplier, decimals
    ("pupils", "在校生数", "Pupils enrolled", "人", "count", "", "", "", ""),
    ("teachers", "专任教师数", "Full-time teachers", "人", "count", "", "", "", ""),
    ("classes", "班级数", "Classes", "个", "count", "", "", "", ""),
    ("large_classes", "大班额班级数(56人及以上)", "Large classes (56 or more pupils)", "个",
     "count", "", "", "", ""),
    ("xl_classes", "超大班额班级数(66人及以上)", "Extra-large classes (66 or more pupils)",
     "个", "count", "", "", "", ""),
    ("dropouts", "辍学人数", "Dropouts during the school year", "人", "count", "", "", "",
     ""),
    ("pupils_prev", "上学年初在校生数", "Pupils at the start of the previous school year",
     "人", "count", "", "", "", ""),
    ("kg_children", "在园幼儿数", "Children in kindergarten", "人", "count", "", "", "", ""),
    ("kg_public_children", "公办园在园幼儿数", "Children in public kindergartens", "人",
     "count", "", "", "", ""),
    ("pop_3to5", "3-5岁常住人口", "Resident population aged 3-5 (submitted by districts)",
     "人", "count", "", "", "", ""),
    ("teach_area", "教学及辅助用房面积", "Teaching and auxiliary floor area", "m²",
     "amount", "", "", "", "2"),
    ("sports_area", "体育运动场馆面积", "Sports grounds and halls", "m²", "amount", "", "",
     "", "2"),
    ("equip_value", "教学仪器设备值", "Teaching equipment, book value", "元", "amount", "",
     "", "", "2"),
    ("pupil_teacher_ratio", "生师比", "Pupil-teacher ratio", "人/人", "ratio", "pupils",
     "teachers", "1", "2"),
    ("large_class_share", "大班额比例", "Share of large classes", "%", "ratio",
     "large_classes", "classes", "100", "2"),
    ("xl_class_share", "超大班额比例", "Share of extra-large classes", "%", "ratio",
     "xl_classes", "classes", "100", "2"),
    ("dropout_rate", "辍学率", "Dropout rate", "%", "ratio", "dropouts", "pupils_prev",
     "100", "2"),
    ("kg_ger_3yr", "学前三年毛入园率", "Preschool gross enrolment rate, ages 3-5", "%",
     "ratio", "kg_children", "pop_3to5", "100", "2"),
    ("kg_public_share", "公办园在园幼儿占比", "Share of children in public kindergartens",
     "%", "ratio", "kg_public_children", "kg_children", "100", "2"),
    ("teach_area_per_pupil", "生均教学及辅助用房面积", "Teaching and auxiliary area per pupil",
     "m²", "ratio", "teach_area", "pupils", "1", "2"),
    ("sports_area_per_pupil", "生均体育运动场馆面积", "Sports area per pupil", "m²", "ratio",
     "sports_area", "pupils", "1", "2"),
    ("equip_value_per_pupil", "生均教学仪器设备值", "Teaching equipment value per pupil", "元",
     "ratio", "equip_value", "pupils", "1", "2"),
    # The other four 优质均衡 resource indicators (教督〔2017〕6号), as raw
    # counts and per-100-pupil ratios.
    ("qual_teachers", "高于规定学历教师数", "Teachers above the required qualification", "人",
     "count", "", "", "", ""),
    ("backbone_teachers", "县级以上骨干教师数", "County-level or higher backbone teachers", "人",
     "count", "", "", "", ""),
    ("pe_art_teachers", "体育艺术专任教师数", "Full-time PE, music and art teachers", "人",
     "count", "", "", "", ""),
    ("mm_rooms", "网络多媒体教室数", "Networked multimedia classrooms", "间", "count", "", "", "",
     ""),
    ("qual_teachers_per100", "每百名学生拥有高于规定学历教师数",
     "Teachers above the required qualification per 100 pupils", "人", "ratio",
     "qual_teachers", "pupils", "100", "2"),
    ("backbone_teachers_per100", "每百名学生拥有县级以上骨干教师数",
     "Backbone teachers per 100 pupils", "人", "ratio", "backbone_teachers", "pupils", "100",
     "2"),
    ("pe_art_teachers_per100", "每百名学生拥有体育艺术专任教师数",
     "PE and art teachers per 100 pupils", "人", "ratio", "pe_art_teachers", "pupils", "100",
     "2"),
    ("mm_rooms_per100", "每百名学生拥有网络多媒体教室数",
     "Multimedia classrooms per 100 pupils", "间", "ratio", "mm_rooms", "pupils", "100", "2"),
    # Enrolment rates: the schools submit the enrolled, the districts the
    # resident population of the age group.
    ("primary_enrolled_age", "小学适龄在校生数", "Enrolled children aged 6-11", "人", "count",
     "", "", "", ""),
    ("pop_6to11", "6-11岁常住人口", "Resident population aged 6-11 (submitted by districts)",
     "人", "count", "", "", "", ""),
    ("primary_enrol_rate", "小学适龄儿童入学率", "Primary age-specific enrolment rate", "%",
     "ratio", "primary_enrolled_age", "pop_6to11", "100", "2"),
    ("junior_enrolled_age", "初中适龄在校生数", "Enrolled children aged 12-14", "人", "count",
     "", "", "", ""),
    ("pop_12to14", "12-14岁常住人口", "Resident population aged 12-14 (submitted by districts)",
     "人", "count", "", "", "", ""),
    ("junior_enrol_rate", "初中适龄少年入学率", "Junior secondary age-specific enrolment rate",
     "%", "ratio", "junior_enrolled_age", "pop_12to14", "100", "2"),
    ("senior_pupils", "高中阶段在校生数", "Senior secondary pupils", "人", "count", "", "", "",
     ""),
    ("pop_15to17", "15-17岁常住人口", "Resident population aged 15-17 (submitted by districts)",
     "人", "count", "", "", "", ""),
    ("senior_ger", "高中阶段毛入学率", "Senior secondary gross enrolment rate", "%", "ratio",
     "senior_pupils", "pop_15to17", "100", "2"),
    # 《国家学生体质健康标准》: 优良率 = (优秀 + 良好) / tested.
    ("fitness_tested", "体质健康测试人数", "Pupils tested for physical fitness", "人", "count",
     "", "", "", ""),
    ("fitness_good", "体质健康优良人数", "Pupils rated excellent or good", "人", "count", "", "",
     "", ""),
    ("fitness_good_rate", "体质健康优良率", "Physical fitness excellent-or-good rate", "%",
     "ratio", "fitness_good", "fitness_tested", "100", "2"),
]

# The MoE 优质均衡 resource standard (教督〔2017〕6号, reference §1): per
# stage and indicator the minimum every school must reach, and the largest
# between-school 差异系数 of the county.
BALANCE_STANDARD = "优质均衡(教督〔2017〕6号)"
BALANCE = [
    # indicator, primary minimum, junior minimum
    ("qual_teachers_per100", 4.2, 5.3),
    ("backbone_teachers_per100", 1, 1),
    ("pe_art_teachers_per100", 0.9, 0.9),
    ("teach_area_per_pupil", 4.5, 5.8),
    ("sports_area_per_pupil", 7.5, 10.2),
    ("equip_value_per_pupil", 2000, 2500),
    ("mm_rooms_per100", 2.3, 2.4),
]
CV_MAX = {"primary": "0.50", "junior": "0.45"}

# Documents the targets come from: bureaus' published work plans and
# speeches, and the national standards (the MoE's 督导评估办法).
SRC_PANJIN = "盘锦市全市教育工作大会(2019)"
SRC_LINXIANG = "临湘市教育体育局2021年工作计划"
SRC_HUAIREN = "怀仁市落实国家政策推动义务教育优质均衡发展实施意见(怀政办发〔2022〕64号)"
SRC_PINGYU = "平舆县教育局:坚持高标准深化改革 建设高质量教育体系"
SRC_KG = "县域学前教育普及普惠督导评估办法(2020)"
SRC_SENIOR = "高中阶段教育普及攻坚计划(2017—2020年)"
SRC_HEALTH = "国务院关于实施健康中国行动的意见(2019)"
SRC_BALANCE = "县域义务教育优质均衡发展督导评估办法(教督〔2017〕6号)"

# When each target is in force (from, to; empty: open) and, for the Panjin
# steps, the path from the 2018 figure the meeting gave ("由现在的30.4%").
SINCE_2017, SINCE_2020, SINCE_2021 = ("2017", "", "", ""), ("2020", "", "", ""), \
    ("2021", "", "", "")
ALWAYS = ("", "", "", "")

TARGETS = [
    # indicator, level, unit, stage, op, value, source, from, to,
    # baseline_period, baseline
    ("kg_ger_3yr", "district", "", "", ">=", "95", SRC_LINXIANG + ": 学前三年入园率达到95%以上")
    + SINCE_2021,
    ("kg_ger_3yr", "district", "", "", ">=", "85", SRC_KG + ": 学前三年毛入园率≥85%") + SINCE_2020,
    ("kg_public_share", "city", "211100", "", ">=", "41.5",
     SRC_PANJIN + ": 公办幼儿园在园幼儿比例由现在(2018年)的30.4%提高到41.5%(2019年)",
     "2019", "2019", "2018", "30.4"),
    ("kg_public_share", "city", "211100", "", ">=", "50",
     SRC_PANJIN + ": 到2020年全市公办幼儿园在园幼儿比例达到50%(2018年为30.4%)",
     "2020", "2020", "2018", "30.4"),
    ("kg_public_share", "district", "", "", ">=", "50", SRC_KG + ": 公办园在园幼儿占比≥50%")
    + SINCE_2020,
    ("pupil_teacher_ratio", "district", "", "kindergarten", "<=", "15",
     SRC_KG + ": 专任教师与幼儿比不低于1:15") + SINCE_2020,
    ("primary_enrol_rate", "district", "", "", ">=", "100",
     SRC_LINXIANG + "; " + SRC_HUAIREN + ": 小学入学率100%") + SINCE_2021,
    ("junior_enrol_rate", "district", "", "", ">=", "100",
     SRC_LINXIANG + "; " + SRC_HUAIREN + ": 初中入学率100%") + SINCE_2021,
    ("senior_ger", "district", "", "", ">=", "90",
     SRC_LINXIANG + ": 高中阶段入学率在90%以上; " + SRC_SENIOR + ": 毛入学率≥90%") + SINCE_2021,
    ("dropout_rate", "district", "", "", "=", "0", SRC_LINXIANG + ": 年度辍学率为零") + SINCE_2021,
    ("large_classes", "district", "", "", "=", "0",
     SRC_PINGYU + ": 消除大班额; " + SRC_LINXIANG + ": 巩固大班额化解成果") + ALWAYS,
    ("xl_classes", "district", "", "", "=", "0", SRC_LINXIANG + ": 巩固大班额化解成果")
    + SINCE_2021,
    ("fitness_good_rate", "district", "", "", ">=", "50",
     SRC_LINXIANG + ": 学生体质健康标准优良率达50%; " + SRC_HEALTH + ": 2022年≥50%") + SINCE_2021,
    ("fitness_good_rate", "city", "211100", "", ">=", "60", SRC_HEALTH + ": 2030年≥60%",
     "2030", "", "", ""),
] + [
    (ind, "school", "", stage, ">=", ("%g" % (pmin if stage == "primary" else jmin)),
     SRC_BALANCE + ": 资源配置") + SINCE_2017 for stage in ("primary", "junior")
    for ind, pmin, jmin in BALANCE
]

PERIODS = [
    # period, opens, due: 教育事业统计 is taken in September and due in
    # October; the half-year round is due at the end of April.  periods.csv
    # is also the list of periods the aggregator accepts: the year before
    # (demo/2023) and the demo's two rounds.
    ("2023", "2023-09-01", "2023-10-31"),
    ("2024", "2024-09-01", "2024-10-31"),
    ("2025S1", "2025-03-01", "2025-04-30"),
]

class School:
    def __init__(self, code, parent, name, stage, locality, ownership):
        self.code, self.parent, self.name = code, parent, name
        self.stage, self.locality, self.ownership = stage, locality, ownership


def make_schools(rng):
    """The school list, with unique 10-digit 学校标识码 and unique names."""
    used_codes, used_names = set(), set()
    schools = []

    def code_for(stage):
        while True:
            c = PREFIX[stage] + PROVINCE + "%06d" % rng.randrange(1000, 60000)
            if c not in used_codes:
                used_codes.add(c)
                return c

    def add(parent, name, stage, locality, ownership):
        assert name not in used_names, name
        used_names.add(name)
        schools.append(School(code_for(stage), parent, name, stage, locality, ownership))

    for dcode, dname in DISTRICTS:
        urban = dcode in URBAN_DISTRICTS
        places = PLACES[dcode]
        city_prefix = "盘锦市" + dname
        suffix = "街道" if urban else "镇"
        nkg, npri, njun, nsen = PLAN[dcode]
        private_names = rng.sample(PRIVATE_KG, len(PRIVATE_KG))

        def locality():
            r = rng.random()
            if urban:
                return "urban" if r < 0.9 else "town"
            return "urban" if r < 0.15 else ("town" if r < 0.65 else "rural")

        # Kindergartens: about 45% private.
        pub_n = 0
        for i in range(nkg):
            loc = locality()
            if rng.random() < 0.45 and private_names:
                name = dname + private_names.pop() + "幼儿园"
                add(dcode, name, "kindergarten", loc, "private")
            elif loc == "urban":
                add(dcode, dname + "第" + NUMERALS[pub_n] + "幼儿园", "kindergarten", loc,
                    "public")
                pub_n += 1
            else:
                place = places[i % len(places)]
                name = dname + place + suffix + "中心幼儿园"
                if name in used_names:
                    name = dname + "第" + NUMERALS[pub_n] + "幼儿园"
                    pub_n += 1
                add(dcode, name, "kindergarten", loc, "public")

        # Primary schools: an 实验小学, numbered schools, town centre schools.
        add(dcode, city_prefix + "实验小学", "primary", "urban", "public")
        num = 0
        for i in range(npri - 1):
            loc = locality()
            if loc == "urban":
                if dcode == "211103" and i % 4 == 3:
                    name = "盘锦市辽河油田" + places[i % len(places)] + "小学"
                else:
                    name = dname + "第" + NUMERALS[num] + "小学"
                    num += 1
            elif loc == "town":
                name = dname + places[i % len(places)] + suffix + "中心小学"
            else:
                name = dname + places[i % len(places)] + suffix + \
                    VILLAGES[i % len(VILLAGES)] + "村小学"
            if name in used_names:
                name = dname + "第" + NUMERALS[num] + "小学"
                num += 1
            add(dcode, name, "primary", loc, "public" if rng.random() < 0.95 else "private")

        for i in range(njun):
            loc = locality()
            if loc == "urban":
                name = dname + "第" + NUMERALS[i] + "初级中学"
            else:
                name = dname + places[(i * 3) % len(places)] + suffix + "初级中学"
            if name in used_names:
                name = dname + "第" + NUMERALS[i] + "初级中学"
            add(dcode, name, "junior", loc, "public")

        senior_names = ["高级中学", "第二高级中学", "第三高级中学", "第四高级中学"]
        for i in range(nsen):
            name = ("盘锦市" if urban else "") + dname + senior_names[i]
            own = "private" if (dcode == "211103" and i == 3) else "public"
            if own == "private":
                name = "盘锦市兴隆台区育英高级中学"
            add(dcode, name, "senior", "urban" if urban else "town", own)

    for tcode, tname in TOWNS:
        nkg, npri, njun, _ = TOWN_SCHOOLS
        prefix = "盘山县" + tname
        villages = rng.sample(VILLAGES, nkg + npri)
        add(tcode, prefix + "中心幼儿园", "kindergarten", "town", "public")
        for i in range(nkg - 1):
            add(tcode, prefix + villages[i] + "村幼儿园", "kindergarten", "rural",
                "private" if i % 2 else "public")
        add(tcode, prefix + "中心小学", "primary", "town", "public")
        for i in range(npri - 1):
            add(tcode, prefix + villages[nkg + i] + "村小学", "primary", "rural", "public")
        add(tcode, prefix + "初级中学", "junior", "town", "public")

    # Two names that need CSV quoting, as real school lists have.
    kg = next(s for s in schools if s.parent == "211103" and s.ownership == "private")
    kg.name = '兴隆台区"%s"双语幼儿园' % kg.name[len("兴隆台区"):-len("幼儿园")]
    exp = next(s for s in schools if s.name == "盘锦市双台子区实验小学")
    exp.name = "盘锦市双台子区实验小学(东校区, 原红旗小学)"
    return schools


def at_least(minimum, pupils):
    """The smallest count whose per-100-pupil rate clears minimum by 6%, so
    a school stays above it when its enrolment grows a little."""
    return math.ceil(minimum * 1.06 * pupils / 100)


def figures(rng, s, fit_rate):
    """One school's 2024 figures, as {indicator: text}."""
    loc = s.locality
    f = {}
    if s.stage == "kindergarten":
        lo, hi = {"urban": (150, 450), "town": (90, 260), "rural": (40, 120)}[loc]
        kids = rng.randint(lo, hi)
        f["kg_children"] = kids
        f["kg_public_children"] = kids if s.ownership == "public" else 0
        f["pupils"] = kids
        f["teachers"] = max(3, round(kids / rng.uniform(10, 15)))
        f["classes"] = max(2, round(kids / rng.uniform(25, 32)))
        f["large_classes"] = 0
        f["xl_classes"] = 0
        area_pp, sports_pp, equip_pp = (3.5, 6.0), (2.5, 5.0), (400, 1200)
    else:
        ranges = {
            "primary": {"urban": (1200, 2500), "town": (450, 1200), "rural": (60, 300)},
            "junior": {"urban": (800, 2000), "town": (400, 1100), "rural": (150, 400)},
            "senior": {"urban": (1800, 3500), "town": (1200, 2600), "rural": (800, 1500)},
        }[s.stage]
        lo, hi = ranges[loc]
        pupils = rng.randint(lo, hi)
        ptr = {"primary": 17, "junior": 13, "senior": 13}[s.stage]
        if loc == "rural":
            ptr = 11
        teachers = max(6, round(pupils / rng.uniform(ptr - 2.5, ptr + 2.5)))
        size = {"primary": 45, "junior": 48, "senior": 50}[s.stage]
        if loc == "rural":
            size = 25
        classes = max(6, round(pupils / rng.uniform(size - 5, size + 4)))
        avg = pupils / classes
        large = xl = 0
        # A few crowded urban schools still have 大班额.
        if loc == "urban" and (avg > 47 or (s.stage == "senior" and rng.random() < 0.6)):
            large = rng.randint(1, max(1, classes // 6))
            if rng.random() < 0.25:
                xl = rng.randint(1, max(1, large // 3))
        f["pupils_prev"] = round(pupils * rng.uniform(0.95, 1.05))
        drop = 0
        if s.stage in ("junior", "senior") and loc != "urban" and rng.random() < 0.2:
            drop = rng.randint(1, 3)
        elif rng.random() < 0.03:
            drop = 1
        f["dropouts"] = drop
        # Teachers and rooms: comfortably above the 优质均衡 minimums (the
        # story of main() then makes a few schools miss on purpose).
        mins = {ind: (pmin if s.stage == "primary" else jmin) for ind, pmin, jmin in BALANCE}
        if s.stage == "senior":
            mins = {ind: 0 for ind in mins}
        teachers = max(teachers, at_least(mins["qual_teachers_per100"], pupils))
        f.update(pupils=pupils, teachers=teachers, classes=classes, large_classes=large,
                 xl_classes=xl)
        f["qual_teachers"] = min(teachers, max(at_least(mins["qual_teachers_per100"], pupils),
                                               round(teachers * rng.uniform(0.85, 0.97))))
        f["backbone_teachers"] = max(at_least(mins["backbone_teachers_per100"], pupils),
                                     round(teachers * rng.uniform(0.18, 0.26)))
        f["pe_art_teachers"] = max(at_least(mins["pe_art_teachers_per100"], pupils),
                                   round(teachers * rng.uniform(0.15, 0.20)))
        f["mm_rooms"] = max(at_least(mins["mm_rooms_per100"], pupils),
                            round(classes * rng.uniform(1.05, 1.3)))
        if s.stage == "primary":
            f["primary_enrolled_age"] = pupils - round(pupils * rng.uniform(0.005, 0.02))
        elif s.stage == "junior":
            f["junior_enrolled_age"] = pupils - round(pupils * rng.uniform(0.005, 0.02))
        else:
            f["senior_pupils"] = pupils
        tested = pupils - round(pupils * rng.uniform(0, 0.01))
        f["fitness_tested"] = tested
        f["fitness_good"] = round(tested * min(0.95, max(0.2, fit_rate + rng.uniform(-0.05,
                                                                                     0.05))))
        area_pp = {"primary": (4.9, 7.5), "junior": (6.2, 8.8), "senior": (6.0, 9.0)}[s.stage]
        sports_pp = {"primary": (8.1, 12.5), "junior": (10.9, 15.0), "senior": (8.0, 13.0)}[
            s.stage]
        equip_pp = {"primary": (2150, 4200), "junior": (2700, 4800), "senior": (3000, 6000)}[
            s.stage]
    n = f["pupils"]
    f["teach_area"] = "%.2f" % (n * rng.uniform(*area_pp))
    f["sports_area"] = "%.2f" % (n * rng.uniform(*sports_pp))
    f["equip_value"] = "%.2f" % (n * rng.uniform(*equip_pp))
    return {k: str(v) for k, v in f.items()}


def figures_2025s1(rng, f2024):
    """Half-year figures: headcounts drift a little, the buildings, rooms,
    equipment and teachers' qualifications stay; dropouts and the fitness
    tests are yearly, so they are not in this round."""
    out = {}
    for k in ("pupils", "teachers", "classes", "large_classes", "xl_classes", "kg_children",
              "kg_public_children"):
        if k not in f2024:
            continue
        v = int(f2024[k])
        if k in ("pupils", "kg_children"):
            v = round(v * rng.uniform(0.96, 1.04))
        elif k == "teachers":
            v = max(1, v + rng.choice((-1, 0, 0, 0, 1)))
        elif k == "large_classes" and v > 0:
            v = max(0, v - rng.choice((0, 1, 1)))  # the city is removing them
        elif k == "xl_classes":
            v = 0
        out[k] = v
    if "kg_public_children" in out and out["kg_public_children"]:
        out["kg_public_children"] = out["kg_children"]
    if "pupils" in out and "kg_children" in out:
        out["pupils"] = out["kg_children"]
    for k in ("qual_teachers", "backbone_teachers", "pe_art_teachers", "mm_rooms", "teach_area",
              "sports_area", "equip_value"):
        if k in f2024:
            out[k] = f2024[k]
    if "qual_teachers" in out:
        out["qual_teachers"] = min(int(out["qual_teachers"]), out["teachers"])
    for k in ("primary_enrolled_age", "junior_enrolled_age"):
        if k in f2024:
            share = int(f2024[k]) / int(f2024["pupils"])
            out[k] = round(out["pupils"] * share)
    if "senior_pupils" in f2024:
        out["senior_pupils"] = out["pupils"]
    return {k: str(v) for k, v in out.items()}


def write_csv(path, header, rows, bom=False, crlf=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fp:
        w = csv.writer(fp, lineterminator="\r\n" if crlf else "\n")
        w.writerow(header)
        w.writerows(rows)


def write_school_file(path, s, period, fig, variant, extra_rows=()):
    """Write one school's file in one of the layouts exports come in."""
    items = list(fig.items()) + list(extra_rows)
    if variant == "reordered":
        rows = [(ind, val, period, s.code) for ind, val in items]
        write_csv(path, ["indicator", "value", "period", "unit"], rows)
    elif variant == "excel":
        # BOM, CRLF, upper-case header, a quoted name column first.
        rows = [(s.name, s.code, period, ind, val) for ind, val in items]
        write_csv(path, ["school", "Unit", "Period", "Indicator", "Value"], rows, bom=True,
                  crlf=True)
    elif variant == "value-first":
        rows = [(val, s.code, ind, period) for ind, val in items]
        write_csv(path, ["value", "unit", "indicator", "period"], rows, crlf=True)
    else:
        rows = [(s.code, period, ind, val) for ind, val in items]
        write_csv(path, ["unit", "period", "indicator", "value"], rows)


def variant_of(i):
    if i % 9 == 4:
        return "excel"
    if i % 7 == 2:
        return "reordered"
    if i % 13 == 6:
        return "value-first"
    return "plain"


# 体质健康优良率 around which each district's schools are drawn: 大洼区
# misses the 50% target, and the city the 60% of 2030.
FITNESS = {"211102": 0.58, "211103": 0.60, "211104": 0.47, "211122": 0.53}


def by_stage(schools, district_of, dcode, stage, fig):
    """The district's schools of a stage, largest first."""
    out = [s for s in schools if district_of[s.parent] == dcode and s.stage == stage]
    return sorted(out, key=lambda s: (-int(fig[s.code]["pupils"]), s.code))


def balance_story(schools, district_of, fig):
    """Make the 优质均衡 results tell a story (edustat.balance_status):
    双台子区 and 盘山县 pass; 兴隆台区 fails on one CV only, because its
    three largest primary schools hold about three times the equipment per
    pupil of the others; 大洼区 fails because three of its
    schools fail the per-school rule (two misses; one miss below 85% of the
    minimum), while a fourth misses one indicator by less than 15% and
    passes."""
    def set_pp(s, ind, per_pupil):
        fig[s.code][ind] = "%.2f" % (int(fig[s.code]["pupils"]) * per_pupil)

    for k, s in enumerate(by_stage(schools, district_of, "211103", "primary", fig)[:3]):
        set_pp(s, "equip_value", 10400 + 600 * k)
    dw = by_stage(schools, district_of, "211104", "primary", fig)
    two_misses, below_85, one_miss = dw[1], dw[2], dw[3]
    set_pp(two_misses, "sports_area", 7.0)                       # 93% of 7.5
    fig[two_misses.code]["mm_rooms"] = str(
        round(2.15 * int(fig[two_misses.code]["pupils"]) / 100))  # ~93% of 2.3
    set_pp(below_85, "equip_value", 1600)                        # 80% of 2000
    set_pp(one_miss, "teach_area", 4.2)                          # 93% of 4.5: passes
    junior = by_stage(schools, district_of, "211104", "junior", fig)[1]
    set_pp(junior, "teach_area", 5.3)                            # 91% of 5.8
    set_pp(junior, "sports_area", 9.5)                           # 93% of 10.2


def check_balance_story(schools, district_of, fig, period):
    """Recompute the 优质均衡 results the way the MoE does (reference §1,
    §2) and stop if the story of balance_story() does not hold."""
    ratio = {code: (num, den, float(mult)) for code, _, _, _, kind, num, den, mult, _
             in INDICATORS if kind == "ratio"}
    want_cv_fail = {("211103", "primary", "equip_value_per_pupil")}
    for dcode, dname in DISTRICTS:
        for stage in ("primary", "junior"):
            group = [s for s in schools if district_of[s.parent] == dcode and s.stage == stage]
            failed_cv, failed_schools = set(), []
            for ind, pmin, jmin in BALANCE:
                num, den, mult = ratio[ind]
                xs = [(mult * float(fig[s.code][num]) / float(fig[s.code][den]),
                       float(fig[s.code][den])) for s in group]
                w = sum(d for _, d in xs)
                mean = sum(x * d for x, d in xs) / w
                sd = math.sqrt(sum(d * (x - mean) ** 2 for x, d in xs) / w)
                if sd / mean > float(CV_MAX[stage]):
                    failed_cv.add((dcode, stage, ind))
            for s in group:
                misses = []
                for ind, pmin, jmin in BALANCE:
                    num, den, mult = ratio[ind]
                    x = mult * float(fig[s.code][num]) / float(fig[s.code][den])
                    minimum = pmin if stage == "primary" else jmin
                    if x < minimum:
                        misses.append(x / minimum)
                if len(misses) > 1 or any(m < 0.85 for m in misses):
                    failed_schools.append(s.code)
            want_cv = {k for k in want_cv_fail if k[:2] == (dcode, stage)}
            want_fail = {"211104": {"primary": 2, "junior": 1}}.get(dcode, {}).get(stage, 0)
            if failed_cv != want_cv or len(failed_schools) != want_fail:
                raise SystemExit("gen_sample: %s %s %s: CVs failed %s, schools failing %s; "
                                 "the story wants %s and %d" %
                                 (period, dname, stage, sorted(failed_cv), failed_schools,
                                  sorted(want_cv), want_fail))


def missing_2025s1(schools, district_of, fig):
    """Four schools that have not reported for 2025S1: kindergartens of
    兴隆台区 and 盘山县, a 大洼区 high school and its smallest primary
    school.  None of them changes who passes 均衡."""
    def first(dcode, stage, pred=lambda s: True):
        return next(s for s in reversed(by_stage(schools, district_of, dcode, stage, fig))
                    if pred(s))
    return [first("211103", "kindergarten", lambda s: s.ownership == "private"),
            first("211122", "kindergarten", lambda s: s.parent == "211122"),
            first("211104", "senior"),
            first("211104", "primary")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), ".."),
                    help="repository root to write config/ and demo/ under")
    args = ap.parse_args()
    root = os.path.abspath(args.out)
    rng = random.Random(SEED)

    schools = make_schools(rng)

    units = [(CITY[0], "", "city", CITY[1], "", "", "")]
    units += [(c, CITY[0], "district", n, "", "", "") for c, n in DISTRICTS]
    units += [(c, "211122", "town", "盘山县" + n, "", "", "") for c, n in TOWNS]
    units += [(s.code, s.parent, "school", s.name, s.stage, s.locality, s.ownership)
              for s in schools]
    write_csv(os.path.join(root, "config", "orgunits.csv"),
              ["code", "parent", "level", "name", "stage", "locality", "ownership"], units)
    write_csv(os.path.join(root, "config", "indicators.csv"),
              ["code", "name_zh", "name_en", "unit", "kind", "numerator", "denominator",
               "multiplier", "decimals"], INDICATORS)
    write_csv(os.path.join(root, "config", "targets.csv"),
              ["indicator", "level", "unit", "stage", "op", "value", "source", "from", "to",
               "baseline_period", "baseline"], TARGETS)
    write_csv(os.path.join(root, "config", "periods.csv"), ["period", "opens", "due"], PERIODS)
    write_csv(os.path.join(root, "config", "balance.csv"),
              ["standard", "stage", "indicator", "school_min", "cv_max"],
              [(BALANCE_STANDARD, stage, ind, "%g" % (pmin if stage == "primary" else jmin),
                CV_MAX[stage]) for stage in ("primary", "junior") for ind, pmin, jmin in BALANCE])

    demo = os.path.join(root, "demo")
    if os.path.isdir(demo):
        shutil.rmtree(demo)

    district_of = {c: c for c, _ in DISTRICTS}
    district_of.update({c: "211122" for c, _ in TOWNS})
    by_district = {c: [s for s in schools if district_of[s.parent] == c] for c, _ in DISTRICTS}

    fig2024 = {s.code: figures(rng, s, FITNESS[district_of[s.parent]]) for s in schools}
    balance_story(schools, district_of, fig2024)
    fig2025 = {s.code: figures_2025s1(rng, fig2024[s.code]) for s in schools}
    for period, figs in (("2024", fig2024), ("2025S1", fig2025)):
        check_balance_story(schools, district_of, figs, period)

    # Two schools whose exports went wrong, to show rejections.
    bad2024 = [s for s in schools if s.stage == "primary"][3]
    bad2025 = [s for s in schools if s.stage == "junior"][2]
    flagged = [s for s in schools if s.parent in dict(TOWNS)][:3]
    # Schools that have not reported for 2025S1 yet (edustat.completeness).
    missing2025 = missing_2025s1(schools, district_of, fig2024)

    for i, s in enumerate(schools):
        extra = ()
        if s is bad2024:
            extra = [("pupil", "812"),            # unknown indicator (typo)
                     ("dropouts", "-1"),          # negative
                     ("teachers", "56.5"),        # non-integer count
                     ("pupil_teacher_ratio", "17.2")]  # ratios are derived
        write_school_file(os.path.join(demo, "2024", s.code + ".csv"), s, "2024",
                          fig2024[s.code], variant_of(i), extra)
        if s in flagged:
            rows = [(ind, val) for ind, val in fig2025[s.code].items()]
            write_csv(os.path.join(demo, "2025S1", "by-flag", s.code + ".csv"),
                      ["indicator", "value"], rows)
            continue
        if s in missing2025:
            continue
        extra = ()
        if s is bad2025:
            extra = [("teach_area", "12,5"),      # decimal comma: not a number
                     ("classes", ""),             # empty value
                     ("pupils", "NaN")]           # not a number
        write_school_file(os.path.join(demo, "2025S1", s.code + ".csv"), s, "2025S1",
                          fig2025[s.code], variant_of(i + 1), extra)

    # A wrong period and a row with too many fields in the second bad file.
    with open(os.path.join(demo, "2025S1", bad2025.code + ".csv"), "a", encoding="utf-8",
              newline="") as fp:
        v = variant_of(schools.index(bad2025) + 1)
        line_end = "\r\n" if v in ("excel", "value-first") else "\n"
        cells = {"unit": bad2025.code, "period": "2025S3", "indicator": "pupils",
                 "value": "900"}
        order = {"plain": ["unit", "period", "indicator", "value"],
                 "reordered": ["indicator", "value", "period", "unit"],
                 "value-first": ["value", "unit", "indicator", "period"],
                 "excel": ["school", "unit", "period", "indicator", "value"]}[v]
        cells["school"] = "x"
        fp.write(",".join(cells[c] for c in order) + line_end)
        fp.write(",".join(cells[c] for c in order) + ",surplus" + line_end)

    # Districts submit the resident population of each age group, the
    # denominators of the enrolment rates.  Chosen so that 学前三年毛入园率
    # lands between 88% and 99% with the rural county below the 95% target,
    # every district but 盘山县 enrols 100% of its primary-age children, and
    # 盘山县 misses the 90% 高中阶段毛入学率 (its pupils go to the city's
    # high schools, which count them where they study).  The populations
    # come from the full figures, so a school that has not reported lowers
    # its district's rate.
    kg_rate = {"211102": 0.975, "211103": 0.985, "211104": 0.962, "211122": 0.895}
    primary_rate = {"211102": 1, "211103": 1, "211104": 1, "211122": 0.996}
    senior_rate = {"211102": 1.08, "211103": 1.05, "211104": 0.93, "211122": 0.86}
    for period, figs in (("2024", fig2024), ("2025S1", fig2025)):
        for dcode, _ in DISTRICTS:
            def total(ind):
                return sum(int(figs[s.code].get(ind, 0)) for s in by_district[dcode])
            rows = [
                ("pop_3to5", round(total("kg_children") /
                                   (kg_rate[dcode] + rng.uniform(-0.004, 0.004)))),
                ("pop_6to11", round(total("primary_enrolled_age") / primary_rate[dcode])),
                ("pop_12to14", total("junior_enrolled_age")),
                ("pop_15to17", round(total("senior_pupils") / senior_rate[dcode])),
            ]
            write_csv(os.path.join(demo, period, "district_" + dcode + ".csv"),
                      ["unit", "period", "indicator", "value"],
                      [(dcode, period, ind, str(v)) for ind, v in rows])

    # Corrections to 2024: recounted pupils and teachers, a removed large
    # class, and two rows repeated unchanged (accepted, not changed).
    picks = rng.sample([s for s in schools if s.stage != "kindergarten"], 8)
    rows = []
    for s in picks[:4]:
        rows.append((s.code, "2024", "pupils",
                     str(int(fig2024[s.code]["pupils"]) + rng.choice((-12, -5, 3, 8, 21)))))
    for s in picks[4:6]:
        rows.append((s.code, "2024", "teachers", str(int(fig2024[s.code]["teachers"]) + 2)))
    # A school with more large classes than extra-large ones: removing one
    # keeps xl_classes <= large_classes (rule R02 of config/rules.csv).
    crowded = [s for s in schools if int(fig2024[s.code].get("large_classes", "0")) >
               int(fig2024[s.code].get("xl_classes", "0"))]
    if crowded:
        s = crowded[0]
        rows.append((s.code, "2024", "large_classes",
                     str(int(fig2024[s.code]["large_classes"]) - 1)))
    for s in picks[6:8]:
        rows.append((s.code, "2024", "classes", fig2024[s.code]["classes"]))
    rows.append((bad2024.code, "2024", "teachers", fig2024[bad2024.code]["teachers"]))
    write_csv(os.path.join(demo, "corrections", "2024.csv"),
              ["unit", "period", "indicator", "value"], rows)

    # 2023, the year before, for edustat.agg_change: a little fewer pupils,
    # more 大班额 (being cleared) and a lower share of children in public
    # kindergartens (being raised).  Its own generator, so every file above
    # stays as it was.
    rng23 = random.Random(2023)
    rows = []
    for s in schools:
        f = fig2024[s.code]
        kids = None
        pupils23 = 0
        for ind in ("pupils", "teachers", "classes", "large_classes", "kg_children",
                    "kg_public_children"):
            if ind not in f:
                continue
            v = int(f[ind])
            if ind == "pupils":
                v = pupils23 = round(v / rng23.uniform(1.0, 1.04))
            elif ind in ("teachers", "classes"):
                v = round(v / rng23.uniform(0.99, 1.03))
            elif ind == "large_classes":
                v += rng23.randint(0, 2) if v > 0 else int(rng23.random() < 0.08)
                # 56 pupils or more each (config/rules.csv R04), of the year's pupils.
                v = min(v, pupils23 // 56)
            elif ind == "kg_children":
                v = kids = round(v / rng23.uniform(0.98, 1.04))
            else:
                v = min(kids if kids is not None else v, round(v / rng23.uniform(1.05, 1.2)))
            rows.append((s.code, "2023", ind, str(v)))
    write_csv(os.path.join(demo, "2023", "all.csv"), ["unit", "period", "indicator", "value"],
              rows)

    nfiles = sum(len(files) for _, _, files in os.walk(demo))
    print("gen_sample: %d units (%d schools), %d indicators, %d demo files under %s"
          % (len(units), len(schools), len(INDICATORS), nfiles, demo))


if __name__ == "__main__":
    main()
