#!/usr/bin/env python3
"""Fill a blank form of `edustat-collector template` with the figures of the
demo's long CSV files, as a school clerk would type them (make demo).

    demo_fill.py [--gb18030] TEMPLATE.xlsx|TEMPLATE.csv OUT FILE...

The FILEs are long (unit,period,indicator,value, any column order): each
value is typed into the row of its unit and period and the column whose
header ends in (indicator); a later row of a key wins, as in the collector,
so corrections go last.  A workbook gets numbers as numbers and anything
else as text; the CSV form is written in GB18030 (what Excel and WPS save
as "CSV" on a Chinese Windows) with --gb18030, else UTF-8 with a
byte-order mark."""
import csv
import io
import re
import sys
import zipfile
from xml.sax.saxutils import escape


def figures(paths):
    out = {}
    for path in paths:
        with open(path, encoding="utf-8-sig", newline="") as f:
            for r in csv.DictReader(f):
                r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
                if r.get("unit") and r.get("indicator") and r.get("value"):
                    out[(r["unit"], r.get("period", ""), r["indicator"])] = r["value"]
    return out


def code_of(header):
    return header[header.rfind("(") + 1:-1] if header.endswith(")") else None


def col_index(ref):
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - 64
    return n - 1


def fill_xlsx(fig, src, dst):
    zin = zipfile.ZipFile(src)
    strings = [re.sub(r"<[^>]+>", "", s) for s in
               re.findall(r"<si>(.*?)</si>", zin.read("xl/sharedStrings.xml").decode(), re.S)]
    sheet = zin.read("xl/worksheets/sheet1.xml").decode()
    header, units, periods = {}, {}, {}
    for ref, idx in re.findall(r'<c r="([A-Z]+)(?:1)" [^>]*t="s"><v>(\d+)</v></c>', sheet):
        header[col_index(ref)] = code_of(strings[int(idx)])
    for row, idx in re.findall(r'<c r="A(\d+)" [^>]*t="s"><v>(\d+)</v></c>', sheet):
        units[row] = strings[int(idx)]
    for row, idx in re.findall(r'<c r="C(\d+)" [^>]*t="s"><v>(\d+)</v></c>', sheet):
        periods[row] = strings[int(idx)]

    def typed(m):
        ref, row, style = m.group(1), m.group(2), m.group(3)
        v = fig.get((units.get(row), periods.get(row), header.get(col_index(ref))))
        if v is None:
            return m.group(0)
        if re.fullmatch(r"-?\d+(\.\d+)?", v):
            return '<c r="%s%s" s="%s"><v>%s</v></c>' % (ref, row, style, v)
        return '<c r="%s%s" s="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, row, style,
                                                                             escape(v))
    sheet = re.sub(r'<c r="([A-Z]+)(\d+)" s="(\d+)"/>', typed, sheet)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" \
                else zin.read(item.filename)
            zout.writestr(item, data)


def fill_csv(fig, src, dst, enc):
    with open(src, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    codes = [code_of(h) for h in rows[0]]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(rows[0])
    for r in rows[1:]:
        w.writerow([fig.get((r[0], r[2], c), "") if c else v for v, c in zip(r, codes)])
    with open(dst, "wb") as f:
        f.write(out.getvalue().encode(enc) if enc == "gb18030"
                else b"\xef\xbb\xbf" + out.getvalue().encode())


def main():
    args = sys.argv[1:]
    gbk = args[0] == "--gb18030"
    if gbk:
        args = args[1:]
    src, dst = args[0], args[1]
    fig = figures(args[2:])
    if src.endswith(".xlsx"):
        fill_xlsx(fig, src, dst)
    else:
        fill_csv(fig, src, dst, "gb18030" if gbk else "utf-8")


main()
