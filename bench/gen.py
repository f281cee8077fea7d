#!/usr/bin/env python3
"""Deterministic data for the benchmarks (bench/README.md).

    bench/gen.py --out DIR [--schools N] [--indicators K] [--periods P]
                 [--lanes L] [--seed S] [--correct FRAC]

Defaults: 20000 schools, 50 indicators, 2 periods (2024, 2025, ...),
4 lanes, seed 1, 10% corrected.  The same arguments give byte-identical
output.

CONTRACT (bench/e2e.sh and bench/pg_baseline.sh read these; keep it stable):

  DIR/config/orgunits.csv    code,parent,level,name,stage,locality,ownership
                             province PR -> cities CT0001.. (~1500 schools)
                             -> districts DS00001.. (~200 schools) -> schools
                             (10-digit codes, depth 3 below the root).
                             Schools carry stage, locality and ownership so
                             every breakdown dimension has slices.
  DIR/config/indicators.csv  code,name_zh,name_en,unit,kind,numerator,
                             denominator,multiplier,decimals.  K submitted
                             indicators i001..iK (every tenth an `amount`
                             with 2 decimals, the rest `count`), plus a few
                             ratios r01.. over pairs of them.
  DIR/lanes/<l>/units        l = 1..L: the district codes lane l's collector
                             is authorized for, one per line (districts are
                             dealt round-robin over the lanes).
  DIR/lanes/<l>/fresh/<district>_<period>.csv
                             header indicator,value,period,unit: the records
                             of the district's schools for one period.
                             N*K*P records over all lanes.
  DIR/lanes/<l>/correct/<district>_<period>.csv
                             the same layout, a seeded FRAC of the keys with
                             a changed value (no file when a district has
                             none in that period).
  DIR/rows/fresh.copy, DIR/rows/correct.copy
                             the same records, in the same order, as COPY
                             text for
                             COPY edustat.unit_value (unit, period, indicator,
                             value, version, collector, batch_id) FROM STDIN
                             (received_at takes its default): the row as
                             unit_value stores it.  collector is the name
                             bench/e2e.sh registers for the lane (cLl<l-1>),
                             batch_id 32 hex digits per 5000 records, as
                             wide as edustat-collector's.  Versions are
                             1.. for fresh rows and 10^12 + 1.. for
                             corrections, so a correction always wins.
  DIR/meta.env               shell-sourceable counts: GEN_SCHOOLS,
                             GEN_DISTRICTS, GEN_CITIES, GEN_INDICATORS,
                             GEN_RATIOS, GEN_PERIODS, GEN_LANES,
                             GEN_RECORDS (fresh), GEN_CORRECTIONS, GEN_SEED,
                             GEN_PERIOD_LIST (space-separated).

There are at least L districts (so every lane has work) even when N/200 is
smaller.  Values: counts 1..4096 (never 0, so every ratio has a
denominator), amounts 0.01..100000.00.
"""

import argparse
import os
import random
import sys

STAGES = ("kindergarten", "primary", "junior", "senior")
LOCALITIES = ("urban", "town", "rural")
OWNERSHIPS = ("public", "public", "public", "private")
SCHOOLS_PER_DISTRICT = 200
SCHOOLS_PER_CITY = 1500
FRESH_VERSION_BASE = 0
CORRECT_VERSION_BASE = 10**12


def positive_int(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"{s}: must be at least 1")
    return v


def fraction(s):
    v = float(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{s}: must be in 0..1")
    return v


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--schools", type=positive_int, default=20000)
    p.add_argument("--indicators", type=positive_int, default=50)
    p.add_argument("--periods", type=positive_int, default=2)
    p.add_argument("--lanes", type=positive_int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--correct", type=fraction, default=0.10)
    a = p.parse_args(argv)
    if a.periods > 100:
        p.error("--periods: at most 100 (years 2024..2123)")
    if a.indicators > 999:
        p.error("--indicators: at most 999")
    return a


def split_even(n, parts):
    """Boundaries of n items dealt into `parts` contiguous runs."""
    return [n * i // parts for i in range(parts + 1)]


def build_tree(rng, nschools, lanes):
    """Return (cities, districts, schools) lists; see the module docstring."""
    ndistricts = max(round(nschools / SCHOOLS_PER_DISTRICT), min(lanes, nschools), 1)
    ncities = max(round(nschools / SCHOOLS_PER_CITY), 1)
    ncities = min(ncities, ndistricts)
    cities = [f"CT{c + 1:04d}" for c in range(ncities)]
    dbounds = split_even(ndistricts, ncities)
    districts = []  # (code, city)
    for c, city in enumerate(cities):
        for d in range(dbounds[c], dbounds[c + 1]):
            districts.append((f"DS{d + 1:05d}", city))
    # School codes look like the national 10-digit 学校标识码: unique and in
    # no particular order, so index inserts are as random as in real life.
    codes = rng.sample(range(1_000_000_000, 9_999_999_999), nschools)
    sbounds = split_even(nschools, ndistricts)
    schools = []  # (code, district index, stage, locality, ownership)
    for d in range(ndistricts):
        for s in range(sbounds[d], sbounds[d + 1]):
            schools.append(
                (
                    str(codes[s]),
                    d,
                    STAGES[rng.randrange(len(STAGES))],
                    LOCALITIES[rng.randrange(len(LOCALITIES))],
                    OWNERSHIPS[rng.randrange(len(OWNERSHIPS))],
                )
            )
    return cities, districts, schools, sbounds


def build_catalog(k):
    """Submitted indicators [(code, scale)] and ratios [(code, num, den, mult)]."""
    inds = []
    for i in range(k):
        scale = 2 if i % 10 == 9 else 0
        inds.append((f"i{i + 1:03d}", scale))
    ratios = []
    nratios = max(0, min(8, k // 6)) if k >= 2 else 0
    if k >= 2 and nratios == 0:
        nratios = 1
    for j in range(nratios):
        num, den = inds[2 * j][0], inds[2 * j + 1][0]
        ratios.append((f"r{j + 1:02d}", num, den, 100 if j % 2 == 0 else 1))
    return inds, ratios


def write_config(out, cities, districts, schools, inds, ratios):
    d = os.path.join(out, "config")
    os.makedirs(d, exist_ok=True)
    lines = ["code,parent,level,name,stage,locality,ownership", "PR,,province,Bench province,,,"]
    for c in cities:
        lines.append(f"{c},PR,city,City {c},,,")
    for code, city in districts:
        lines.append(f"{code},{city},district,District {code},,,")
    for code, di, stage, loc, own in schools:
        lines.append(f"{code},{districts[di][0]},school,School {code},{stage},{loc},{own}")
    with open(os.path.join(d, "orgunits.csv"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    lines = ["code,name_zh,name_en,unit,kind,numerator,denominator,multiplier,decimals"]
    for code, scale in inds:
        if scale:
            lines.append(f"{code},指标{code},Amount {code},元,amount,,,,{scale}")
        else:
            lines.append(f"{code},指标{code},Count {code},人,count,,,,")
    for code, num, den, mult in ratios:
        lines.append(f"{code},比率{code},Ratio {num}/{den},%,ratio,{num},{den},{mult},2")
    with open(os.path.join(d, "indicators.csv"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    a = parse_args(argv)
    rng = random.Random(a.seed)
    cities, districts, schools, sbounds = build_tree(rng, a.schools, a.lanes)
    inds, ratios = build_catalog(a.indicators)
    periods = [str(2024 + p) for p in range(a.periods)]
    write_config(a.out, cities, districts, schools, inds, ratios)

    lanes = a.lanes
    for lane in range(1, lanes + 1):
        for sub in ("fresh", "correct"):
            os.makedirs(os.path.join(a.out, "lanes", str(lane), sub), exist_ok=True)
        units = [districts[d][0] for d in range(lane - 1, len(districts), lanes)]
        with open(os.path.join(a.out, "lanes", str(lane), "units"), "w") as f:
            f.write("".join(u + "\n" for u in units))
    os.makedirs(os.path.join(a.out, "rows"), exist_ok=True)

    # Two streams from one seed: values and the choice of corrected keys, so
    # changing --correct does not change the fresh values.
    vrng = random.Random(a.seed * 1_000_003 + 1)
    crng = random.Random(a.seed * 1_000_003 + 2)
    getbits = vrng.getrandbits
    pick = crng.random
    cbits = crng.getrandbits
    frac = a.correct
    # Per indicator: value text from a random draw.  Counts 1..4096; amounts
    # 0.01..100000.00 (mantissa 1..10^7 at scale 2).
    counts = [str(v) for v in range(1, 4097)]
    is_amount = [scale != 0 for _, scale in inds]
    icodes = [c for c, _ in inds]

    def amount_text(m):
        return f"{m // 100}.{m % 100:02d}"

    nfresh = 0
    ncorr = 0
    fcopy = open(os.path.join(a.out, "rows", "fresh.copy"), "w", encoding="utf-8")
    ccopy = open(os.path.join(a.out, "rows", "correct.copy"), "w", encoding="utf-8")
    header = "indicator,value,period,unit\n"
    batch_records = 5000
    for d, (dcode, _) in enumerate(districts):
        lane = d % lanes + 1
        collector = f"c{lanes}l{lane - 1}"
        lane_dir = os.path.join(a.out, "lanes", str(lane))
        dschools = [schools[s][0] for s in range(sbounds[d], sbounds[d + 1])]
        for period in periods:
            fcsv = []
            fcp = []
            ccsv = []
            ccp = []
            for unit in dschools:
                for ii, ic in enumerate(icodes):
                    if is_amount[ii]:
                        m = getbits(24) % 10_000_000 + 1
                        v = amount_text(m)
                    else:
                        m = getbits(12) + 1
                        v = counts[m - 1]
                    nfresh += 1
                    fcsv.append(f"{ic},{v},{period},{unit}\n")
                    fcp.append(f"{unit}\t{period}\t{ic}\t{v}\t{FRESH_VERSION_BASE + nfresh}"
                               f"\t{collector}\t{nfresh // batch_records:032x}\n")
                    if frac and pick() < frac:
                        # A different valid value: add 1..256 units of the scale.
                        m2 = m + 1 + cbits(8)
                        v2 = amount_text(m2) if is_amount[ii] else str(m2)
                        ncorr += 1
                        ccsv.append(f"{ic},{v2},{period},{unit}\n")
                        ccp.append(f"{unit}\t{period}\t{ic}\t{v2}\t{CORRECT_VERSION_BASE + ncorr}"
                                   f"\t{collector}\t{(1 << 64) + ncorr // batch_records:032x}\n")
            name = f"{dcode}_{period}.csv"
            with open(os.path.join(lane_dir, "fresh", name), "w", encoding="utf-8") as f:
                f.write(header)
                f.write("".join(fcsv))
            fcopy.write("".join(fcp))
            if ccsv:
                with open(os.path.join(lane_dir, "correct", name), "w", encoding="utf-8") as f:
                    f.write(header)
                    f.write("".join(ccsv))
                ccopy.write("".join(ccp))
    fcopy.close()
    ccopy.close()

    with open(os.path.join(a.out, "meta.env"), "w") as f:
        f.write(
            f"GEN_SCHOOLS={len(schools)}\nGEN_DISTRICTS={len(districts)}\n"
            f"GEN_CITIES={len(cities)}\nGEN_INDICATORS={len(inds)}\n"
            f"GEN_RATIOS={len(ratios)}\nGEN_PERIODS={len(periods)}\n"
            f"GEN_LANES={lanes}\nGEN_RECORDS={nfresh}\nGEN_CORRECTIONS={ncorr}\n"
            f"GEN_SEED={a.seed}\nGEN_PERIOD_LIST='{' '.join(periods)}'\n"
        )
    print(
        f"gen.py: {len(schools)} schools, {len(districts)} districts, {len(cities)} cities, "
        f"{len(inds)}+{len(ratios)} indicators, {len(periods)} periods, {lanes} lanes: "
        f"{nfresh} records, {ncorr} corrections in {a.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
