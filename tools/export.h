/*
 * export: the 过录表 of edustat-report, one row per school at or below a
 * unit for one period, in CSV or xlsx.
 *
 * The table: a title row (xlsx only), a header row, then the schools of
 * each district in code order, each district followed by its subtotal row
 * (小计) when the unit is the root or a district, and last the total row
 * (合计).  Fixed columns first (row type 学校/小计/合计, code, name,
 * district, stage, locality, ownership), then one column per indicator with
 * a value at or below the unit in the period, headed name_zh(code).  Every
 * figure is edustat's own: a school's cell is its agg_value (its stored
 * value; for a ratio, its own ratio), a subtotal or total cell the
 * district's or the unit's agg_value, never a spreadsheet formula.
 *
 * CSV: UTF-8 with a byte-order mark (Excel and WPS read it as UTF-8), CRLF
 * line ends, RFC 4180 quoting; counts and amounts exactly as stored, a
 * ratio rounded to the indicator's decimals.  xlsx (libxlsxwriter): sheet
 * 过录表, the title and header rows and the code and name columns frozen,
 * numbers as numbers with the indicator's decimals as their format,
 * subtotal and total rows bold.
 *
 * All SQL is in sink/sql/report/ (embedded at build time); it only reads.
 */
#ifndef EDUSTAT_TOOLS_EXPORT_H
#define EDUSTAT_TOOLS_EXPORT_H

#include <libpq-fe.h>

/* Most rows of an export (schools and subtotals): a worksheet's limit less
 * the title, header and total rows. */
#define EXPORT_MAX_ROWS (1048576 - 3)
/* Most indicator columns: a worksheet's 16,384 less the fixed ones. */
#define EXPORT_MAX_INDICATORS (16384 - 16)

enum export_format { EXPORT_CSV, EXPORT_XLSX };

/*
 * Write the 过录表 of unit (a code of the current tree) for period (a valid
 * period) to path, read through conn (not owned).  On success prints
 * "PATH: N schools, M indicators, ..." to stdout and returns 0.  On failure
 * returns 2 after a message on stderr naming the unit, the period or the
 * file (no such unit, no value at or below it in the period, a database
 * error, a file that cannot be written); a partly written file is removed.
 */
int export_run(PGconn *conn, const char *unit, const char *period, enum export_format fmt,
               const char *path);

#endif
