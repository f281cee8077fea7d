#!/usr/bin/env python3
"""Fill a template workbook in a running LibreOffice (Python-UNO) and save it.

    fill_lo.py PIPE TEMPLATE.xlsx CELLS.csv OUT FILTER [FILTER_OPTIONS]

PIPE is the name of the pipe soffice --accept listens on.  CELLS.csv is
unit,indicator,value (gen.py cells): each value is typed into the cell of
the unit's row and the column whose header ends in (indicator), as a
number when it reads as one, else as text, the way a clerk's typing lands.
The sheet's protection leaves these cells open.  FILTER is LibreOffice's
export filter ("Calc MS Excel 2007 XML", "Text - txt - csv (StarCalc)")."""
import csv
import sys
import time

import uno
from com.sun.star.beans import PropertyValue


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(pipe):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(300):
        try:
            return resolver.resolve(
                "uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
        except Exception:
            time.sleep(0.2)
    sys.exit("fill_lo.py: LibreOffice did not answer on pipe " + pipe)


def main():
    pipe, template, cells, out, filt = sys.argv[1:6]
    opts = sys.argv[6] if len(sys.argv) > 6 else None
    ctx = connect(pipe)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(template), "_blank", 0,
                                       (prop("Hidden", True),))
    sheet = doc.Sheets.getByIndex(0)
    cols, rows = {}, {}
    c = 0
    while True:
        h = sheet.getCellByPosition(c, 0).getString()
        if not h:
            break
        if h.endswith(")"):
            cols[h[h.rfind("(") + 1:-1]] = c
        c += 1
    r = 1
    while True:
        u = sheet.getCellByPosition(0, r).getString()
        if not u:
            break
        rows[u] = r
        r += 1
    for rec in csv.DictReader(open(cells, encoding="utf-8")):
        cell = sheet.getCellByPosition(cols[rec["indicator"]], rows[rec["unit"]])
        try:
            cell.setValue(float(rec["value"]))
        except ValueError:
            cell.setString(rec["value"])
    args = [prop("FilterName", filt), prop("Overwrite", True)]
    if opts:
        args.append(prop("FilterOptions", opts))
    doc.storeToURL(uno.systemPathToFileUrl(out), tuple(args))
    doc.close(True)


main()
