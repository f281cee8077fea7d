"""dbcompare: what the integration oracles share to read PostgreSQL and
compare their own figures with it.  Only reading and comparing: every
expected value is computed by the oracle itself, from the input files.

psql(sql)          rows of sql, as lists of text (None for NULL)
exact(s)           the text of a numeric as an exact Fraction (None stays None)
close(got, want)   equal within REL_TOL relative or ABS_TOL absolute
show(x)            a value for a message
Report(title)      the mismatches of one table, printed at the end
"""

import subprocess
from decimal import Decimal
from fractions import Fraction

MAX_SHOWN = 20
REL_TOL = Fraction(1, 10**9)
ABS_TOL = Fraction(1, 10**12)


def psql(sql):
    """Rows of sql (PG* from the environment).  Unit and record separator
    characters split the output, so text holding tabs or line breaks (a raw
    row that spanned two lines) stays in one piece."""
    out = subprocess.run(["psql", "-AtX", "-F", "\x1f", "-R", "\x1e", "-P", "null=\\N",
                          "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, stdout=subprocess.PIPE, encoding="utf-8").stdout
    return [[None if x == "\\N" else x for x in r.split("\x1f")]
            for r in out.rstrip("\n").split("\x1e") if r != ""]


def exact(s):
    return None if s is None else Fraction(Decimal(s))


def close(got, want):
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= max(REL_TOL * abs(want), ABS_TOL)


def show(x):
    if x is None:
        return "NULL"
    if isinstance(x, Fraction):
        return "%.12g" % float(x) if x.denominator != 1 else str(x.numerator)
    return str(x)


class Report:
    def __init__(self, title):
        self.title, self.items = title, []

    def add(self, msg):
        self.items.append(msg)

    def keys(self, name, want, got):
        """Report keys on one side only; return the common ones."""
        for k in sorted(set(want) - set(got), key=str):
            self.add("missing %s row %s" % (name, k))
        for k in sorted(set(got) - set(want), key=str):
            self.add("extra %s row %s" % (name, k))
        return sorted(set(want) & set(got), key=str)

    def print(self):
        """Print the verdict; 1 when there were mismatches, else 0."""
        if not self.items:
            print("compare: %s ok" % self.title)
            return 0
        print("compare: %s: %d mismatches" % (self.title, len(self.items)))
        for m in self.items[:MAX_SHOWN]:
            print("  " + m)
        if len(self.items) > MAX_SHOWN:
            print("  ... and %d more" % (len(self.items) - MAX_SHOWN))
        return 1
