#!/usr/bin/env python3
"""Write RESULTS.md from the figures of one bench/run.sh (bench/README.md).

    bench/report.py --out OUT --results RESULTS.md [--plot-dir DIR]

Reads OUT/*.tsv: `metric TAB value TAB unit TAB note`, one line per run and
metric (OUT/settings.tsv and OUT/pieces.tsv are run.sh's own: key TAB value,
and piece TAB status TAB seconds TAB note).  Writes the machine, the date,
the sizes and settings, every figure as median and min-max over its runs,
the targets with PASS/MISS, and a section "Where targets are
missed" that includes every OUT/notes-*.md verbatim.  With gnuplot present
it draws DIR/throughput.png (median records/s of every throughput figure,
log scale); PNGs that pieces left in OUT are copied to DIR and linked.
Exit 0, or 1 when OUT holds no figure at all or a malformed line (the
report is written either way).
"""

import argparse
import datetime
import glob
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys

# The measurements' numbering (bench/README.md): (number, metric, what it is).
KNOWN = [
    ("1", "baseline_copy_rps", "COPY text into an empty table LIKE unit_value (primary key), until COMMIT"),
    ("2", "e2e_fresh_rps", "end to end, fresh records, collectors → aggregator → sink, until committed"),
    ("2", "e2e_fresh_history_rows", "what (2) kept: rows of the value_history view (each stored once)"),
    ("2", "e2e_fresh_agg_rows", "what (2) wrote: aggregate rows (agg_rollup + agg_breakdown)"),
    ("3", "e2e_corr_rps", "end to end, corrections (changed keys)"),
    ("3", "staging_upsert_rps", "COPY into staging + INSERT … ON CONFLICT of the corrections, all updates"),
    ("4", "e2e_unchanged_rps", "end to end, unchanged resubmission of the fresh files"),
    ("5", "ack_p50_ms", "submit → ack at a steady offered load, p50"),
    ("5", "ack_p99_ms", "submit → ack at a steady offered load, p99"),
    ("5", "visible_p50_ms", "a school's correction → updated city row visible in PostgreSQL, p50"),
    ("5", "visible_p99_ms", "a school's correction → updated city row visible in PostgreSQL, p99"),
    ("6", "agg_inproc_rps", "aggregator alone, in process: decode + validate + apply + rollup, one core"),
    ("6", "agg_inproc_rules_rps", "the same with validation rules shaped like the sample city's (审核)"),
    ("7", "agg_bytes_per_value", "aggregator RSS per stored value"),
    ("8", "restart_s", "restart: rebuild of the stored values"),
    ("9a", "naive_rps", "row-by-row prepared INSERT … ON CONFLICT through libpq, autocommit"),
    ("9b", "matview_refresh_s", "one correction + REFRESH MATERIALIZED VIEW (GROUP BY ROLLUP)"),
    ("10", "intake_xlsx_cells_per_s", "collector reading a wide .xlsx (submit_file), value cells per second"),
    ("10", "intake_long_csv_rps", "its baseline: the same values as long CSV, records per second"),
]
KNOWN_METRICS = {m for _, m, _ in KNOWN}

# Throughput figures drawn in the plot, in this order.
PLOTTED = [
    ("info_copy_binary_noindex_rps", "COPY binary, no index"),
    ("info_copy_text_noindex_rps", "COPY text, no index"),
    ("baseline_copy_rps", "(1) COPY text + PK"),
    ("e2e_fresh_rps", "(2) edustat fresh"),
    ("info_staging_upsert_fresh_rps", "staging upsert, inserts"),
    ("staging_upsert_rps", "staging upsert, updates"),
    ("e2e_corr_rps", "(3) edustat corrections"),
    ("e2e_unchanged_rps", "(4) edustat unchanged"),
    ("agg_inproc_rps", "(6) aggregator in-process"),
    ("naive_rps", "(9a) naive row by row"),
]


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            rows.append((n, line.split("\t")))
    return rows


def load(out):
    settings, pieces, figures, problems = {}, [], {}, []
    p = os.path.join(out, "settings.tsv")
    if os.path.exists(p):
        for _, f in read_tsv(p):
            settings[f[0]] = f[1] if len(f) > 1 else ""
    p = os.path.join(out, "pieces.tsv")
    if os.path.exists(p):
        pieces = [f + [""] * (4 - len(f)) for _, f in read_tsv(p)]
    for p in sorted(glob.glob(os.path.join(out, "*.tsv"))):
        base = os.path.basename(p)
        if base in ("settings.tsv", "pieces.tsv"):
            continue
        for n, f in read_tsv(p):
            try:
                value = float(f[1])
            except (IndexError, ValueError):
                problems.append(f"{base}:{n}: not `metric TAB value TAB unit TAB note`: {f!r}")
                continue
            unit = f[2] if len(f) > 2 else ""
            note = f[3] if len(f) > 3 else ""
            figures.setdefault(f[0], []).append((value, unit, note, base))
    return settings, pieces, figures, problems


def fmt(v):
    """A number the way a person reads it: thousands grouped, 3 significant digits below 1000."""
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def median(figures, metric):
    vals = [v for v, _, _, _ in figures.get(metric, [])]
    return statistics.median(vals) if vals else None


def cmd(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu = os.cpu_count()
    return {
        "cpus": f"{ncpu} (nproc)",
        "cpu": cpu or platform.processor() or "unknown",
        "ram": ram or "unknown",
        "kernel": platform.release(),
        "os": cmd(["sh", "-c", ". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\""]) or "unknown",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def targets(figures):
    """[(name, measured text, target text, verdict)]; verdict PASS, MISS or '–'."""
    m = lambda k: median(figures, k)  # noqa: E731
    rows = []

    def ratio(name, a, b, want):
        va, vb = m(a), m(b)
        if va is None or vb is None or vb == 0:
            rows.append((name, "not measured", f"≥ {want}", "–"))
            return
        r = va / vb
        rows.append((name, f"{r:.2f} ({fmt(va)} / {fmt(vb)})", f"≥ {want}", "PASS" if r >= want else "MISS"))

    def bound(name, k, op, want, unit):
        v = m(k)
        if v is None:
            rows.append((name, "not measured", f"{op} {fmt(want)} {unit}", "–"))
            return
        ok = v >= want if op == "≥" else v <= want
        rows.append((name, f"{fmt(v)} {unit}", f"{op} {fmt(want)} {unit}", "PASS" if ok else "MISS"))

    ratio("(2) fresh / (1) baseline COPY", "e2e_fresh_rps", "baseline_copy_rps", 0.5)
    ratio("(3) corrections / staging upsert", "e2e_corr_rps", "staging_upsert_rps", 0.5)
    bound("(4) unchanged resubmission", "e2e_unchanged_rps", "≥", 1e6, "records/s")
    bound("(5) submit → ack p99", "ack_p99_ms", "≤", 250, "ms")
    bound("(5) correction → visible p99", "visible_p99_ms", "≤", 500, "ms")
    bound("(6) aggregator in process", "agg_inproc_rps", "≥", 3e6, "records/s")
    bound("(6) the same with validation rules", "agg_inproc_rules_rps", "≥", 3e6, "records/s")
    ratio("(6) with rules / without, the same run", "agg_inproc_rules_rps", "agg_inproc_rps", 0.9)
    bound("(7) memory per stored value", "agg_bytes_per_value", "≤", 100, "B")
    bound("(8) restart", "restart_s", "≤", 30, "s")
    bound("(10) collector reading .xlsx", "intake_xlsx_cells_per_s", "≥", 1e5, "cells/s")
    ratio("(2) fresh / (9a) naive row by row", "e2e_fresh_rps", "naive_rps", 20)
    vis, mv = m("visible_p50_ms"), m("matview_refresh_s")
    if vis is None or mv is None:
        rows.append(("(5) visible p50 vs (9b) matview refresh", "not measured", "visible p50 < refresh", "–"))
    else:
        rows.append(
            (
                "(5) visible p50 vs (9b) matview refresh",
                f"{fmt(vis)} ms vs {fmt(mv * 1000)} ms ({mv * 1000 / vis if vis else float('inf'):.1f}×)",
                "visible p50 < refresh",
                "PASS" if vis < mv * 1000 else "MISS",
            )
        )
    return rows


def figure_row(num, metric, what, figures):
    vals = figures.get(metric)
    if not vals:
        return f"| {num} | `{metric}` | {what} | not measured | | | |"
    xs = [v for v, _, _, _ in vals]
    unit = vals[0][1]
    return (
        f"| {num} | `{metric}` | {what} | **{fmt(statistics.median(xs))}** | "
        f"{fmt(min(xs))} – {fmt(max(xs))} | {unit} | {len(xs)} |"
    )


def plot(figures, plot_dir, work):
    """Draw plot_dir/throughput.png with gnuplot; return its name or None."""
    gp = shutil.which("gnuplot")
    if gp is None:
        return None
    data = [(label, median(figures, k)) for k, label in PLOTTED if median(figures, k)]
    if len(data) < 2:
        return None
    dat = os.path.join(work, "throughput.dat")
    with open(dat, "w", encoding="utf-8") as f:
        for i, (label, v) in enumerate(data):
            # edustat's own figures in a second colour.
            ours = "edustat" in label or "aggregator" in label
            f.write(f'{i} "{label}" {v} {0x1f77b4 if ours else 0xa0a0a0}\n')
    png = os.path.join(plot_dir, "throughput.png")
    script = f"""
set terminal png size 900,{120 + 34 * len(data)} font ",10"
set output "{png}"
set title "Records per second (median of runs, log scale)"
set style fill solid 0.6
set logscale x
set xrange [1000:*]
set yrange [-0.7:{len(data) - 0.3}]
set ytics nomirror
set grid x
unset key
plot "{dat}" using 3:1:(1000):3:($1-0.35):($1+0.35):4:ytic(2) with boxxyerror lc rgb variable, \
     "{dat}" using 3:1:(sprintf(" %.0f", $3)) with labels left
"""
    r = subprocess.run([gp], input=script, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(png):
        sys.stderr.write(f"report.py: gnuplot failed, no plot: {r.stderr.strip()}\n")
        return None
    return os.path.basename(png)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--plot-dir")
    a = ap.parse_args(argv)
    settings, pieces, figures, problems = load(a.out)
    s = settings.get
    mach = machine()
    L = []
    w = L.append
    w("# edustat benchmarks")
    w("")
    w(f"Written by `bench/run.sh` (`make bench`) on {s('finished', datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S UTC'))}"
      f" (started {s('started', '?')}). Regenerate with `make bench`; sizes are flags "
      "(`BENCH_FLAGS=\"--schools 40000 --runs 5\"`), see bench/README.md.")
    if s("smoke") == "1":
        w("")
        w("**Smoke run: tiny sizes, one run. These figures mean nothing; they only show that every piece works.**")
    w("")
    w("## Machine")
    w("")
    w(f"- CPUs: {mach['cpus']}, {mach['cpu']}")
    w(f"- RAM: {mach['ram']}; kernel {mach['kernel']}; {mach['os']}")
    w(f"- PostgreSQL {s('pg_version', '?')}, data directory on {s('data_fs', '?')}")
    w(f"- load average when the report was written: {mach['load']}")
    w("")
    w("## Sizes and settings")
    w("")
    w(f"- {s('schools', '?')} schools in {s('districts', '?')} districts and {s('cities', '?')} cities "
      f"under one province; {s('indicators', '?')} submitted indicators plus {s('ratios', '?')} ratios; "
      f"{s('periods', '?')} periods: **{fmt(float(s('records', 0) or 0))} records**; "
      f"{fmt(float(s('corrections', 0) or 0))} corrections; {s('lanes', '?')} collector lanes; seed {s('seed', '?')}.")
    w(f"- {s('runs', '?')} runs per figure; (9a) on the first {s('naive_rows', '?')} rows.")
    pg = ", ".join(f"{k[3:]}={v}" for k, v in settings.items() if k.startswith("pg_") and k != "pg_version")
    w(f"- PostgreSQL settings (the same for every measurement): {pg}.")
    w(f"- Build: {s('build', '?')}.")
    w("")
    if pieces:
        w("## Pieces")
        w("")
        w("| piece | status | seconds | note |")
        w("|---|---|---|---|")
        for p in pieces:
            w(f"| {p[0]} | {p[1]} | {p[2]} | {p[3]} |")
        w("")
    w("## Figures")
    w("")
    w("Median and min – max over the runs.")
    w("")
    w("| # | metric | what | median | min – max | unit | runs |")
    w("|---|---|---|---|---|---|---|")
    for num, metric, what in KNOWN:
        w(figure_row(num, metric, what, figures))
    others = sorted(k for k in figures if k not in KNOWN_METRICS)
    for k in others:
        # The piece's note of its first run says what the figure is.
        what = re.sub(r"^run \d+[:,]\s*", "", figures[k][0][2]).replace("|", "/")
        w(figure_row("info" if k.startswith("info_") else "", k, what, figures))
    w("")
    T = targets(figures)
    w("## Targets")
    w("")
    w("| target | measured (medians) | wanted | verdict |")
    w("|---|---|---|---|")
    for name, got, want, verdict in T:
        w(f"| {name} | {got} | {want} | {'**MISS**' if verdict == 'MISS' else verdict} |")
    w("")
    plots = []
    if a.plot_dir:
        os.makedirs(a.plot_dir, exist_ok=True)
        p = plot(figures, a.plot_dir, a.out)
        if p:
            plots.append(("Throughput", p))
        for png in sorted(glob.glob(os.path.join(a.out, "*.png"))):
            dst = os.path.join(a.plot_dir, os.path.basename(png))
            if os.path.basename(png) == "throughput.png":
                continue
            if not os.path.exists(dst) or not os.path.samefile(png, dst):
                shutil.copyfile(png, dst)
            plots.append((os.path.splitext(os.path.basename(png))[0], os.path.basename(png)))
    if plots:
        rel = os.path.relpath(a.plot_dir, os.path.dirname(os.path.abspath(a.results)))
        for title, p in plots:
            w(f"![{title}]({p if rel == '.' else os.path.join(rel, p)})")
            w("")
    w("## Where targets are missed")
    w("")
    missed = [t for t in T if t[3] == "MISS"]
    if missed:
        for name, got, want, _ in missed:
            w(f"- {name}: {got}, wanted {want}.")
    else:
        w("No measured target is missed." if any(t[3] == "PASS" for t in T) else "Nothing measured.")
    unmeasured = [t[0] for t in T if t[3] == "–"]
    if unmeasured:
        w("")
        w("Not measured in this run: " + "; ".join(unmeasured) + ".")
    notes = sorted(glob.glob(os.path.join(a.out, "notes-*.md")))
    for p in notes:
        w("")
        w(f"### From {os.path.basename(p)}")
        w("")
        with open(p, encoding="utf-8") as f:
            w(f.read().rstrip("\n"))
    if problems:
        w("")
        w("## Malformed result lines (ignored)")
        w("")
        for pr in problems:
            w(f"- {pr}")
    w("")
    with open(a.results, "w", encoding="utf-8") as f:
        f.write("\n".join(L))
    if not figures:
        sys.stderr.write(f"report.py: no figures in {a.out}/*.tsv\n")
        return 1
    for pr in problems:
        sys.stderr.write(f"report.py: {pr}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
