/*
 * template: the command that makes a blank wide form for the schools at or
 * below a unit, for them to fill in and submit.
 *
 *   edustat-collector template --unit CODE --period PERIOD [-o FILE.xlsx|FILE.csv]
 *
 * It reads the config directory (EDUSTAT_CONFIG, default ./config) the way
 * the daemons do: orgunits.csv, indicators.csv and the optional forms.csv
 * (lib/forms.h).  The form has one row per school (leaf) at or below the
 * unit, in the tree's depth-first order, with the columns
 *
 *   unit | 学校名称 | period | one column per indicator
 *
 * where the indicators are those some school of the form reports (its
 * stage's row in forms.csv; every count and amount when there is no
 * forms.csv or the stage has no row), in catalogue order, never a ratio.
 * An indicator's header is `name_zh（unit of measure）(code)`, or
 * `name_zh(code)` when the catalogue gives no unit of measure: the
 * collector's wide reader takes the code in the last parentheses, so the
 * unit of measure rides along in the header text itself, visible in every
 * program and in the CSV form too.
 *
 * The workbook (.xlsx, written with libxlsxwriter) has the sheet 填报 first
 * (the one submit reads) and 说明, the instructions in Chinese, second.
 * 填报 is protected without a password: the header, unit, name and period
 * cells are locked, so are the cells of an indicator a school's stage does
 * not report (grey); the cells to fill are unlocked.  The header row and
 * the three key columns are frozen.  Every indicator column validates what
 * is typed: a whole number >= 0 for a count, a number >= 0 with at most
 * `decimals` places for an amount.  The .csv form is UTF-8 with a
 * byte-order mark and CRLF line ends, which Excel and WPS open with the
 * Chinese intact.
 *
 * The file is written under a temporary name beside FILE and renamed when
 * complete, so a half-written template never exists under its name.
 */
#ifndef EDUSTAT_COLLECTOR_TEMPLATE_H
#define EDUSTAT_COLLECTOR_TEMPLATE_H

/* Most schools in one template: an .xlsx sheet holds 1,048,576 rows. */
#define TEMPLATE_MAX_SCHOOLS 1048575

/*
 * Run the template command; argv[0] is "template".  Prints the path
 * written and the count of schools and indicators on stdout.  Returns the
 * exit code: 0 written, 2 on a usage error, a config that does not load
 * ("FILE:LINE: problem"), an unknown unit, a bad period, or a file that
 * cannot be written (the message names it).
 */
int template_main(int argc, char **argv);

#endif
