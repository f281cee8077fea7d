#!/usr/bin/env bash
#
# make_fixtures.sh BUILD_DIR: remake the files of tests/integration/intake.sh
# that a real spreadsheet program saved.  Needs LibreOffice (Debian:
# libreoffice-calc-nogui python3-uno), which only this script does: the
# fixtures are committed and the test suite never starts LibreOffice.
# fill_lo.py runs under /usr/bin/python3, the interpreter python3-uno is for.
#
# For each period, the real collector makes the template of 盘山县高升镇
# (211122100) from the sample config; LibreOffice opens it, types the cells
# of gen.py (the good values and four bad ones), and saves it:
#
#   filled_2020.xlsx          as an Excel workbook
#   filled_2021_gb18030.csv   as CSV in GB18030 (what Excel and WPS call CSV on
#                             a Chinese Windows), comma-separated
#   filled_2022_utf16.txt     as "Unicode text": UTF-16 with a byte-order mark,
#                             tab-separated
#
# and reference_2019.csv is the long UTF-8 file of the good values.
set -eu
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../../.." && pwd)
COLLECTOR=$BUILD/edustat-collector
[ -x "$COLLECTOR" ] || COLLECTOR=$BUILD/bin/edustat-collector
TMP=$(mktemp -d)
LO_PID=
cleanup() {
        if [ -n "$LO_PID" ]; then
                kill -TERM "$LO_PID" 2>/dev/null || true
                for _ in $(seq 1 50); do
                        kill -0 "$LO_PID" 2>/dev/null || break
                        sleep 0.1
                done
                kill -KILL "$LO_PID" 2>/dev/null || true
        fi
        rm -rf "$TMP"
}
trap cleanup EXIT

export EDUSTAT_CONFIG=$SRC/config
python3 "$HERE/gen.py" "$SRC/config" reference 2019 >"$HERE/reference_2019.csv"
python3 "$HERE/gen.py" "$SRC/config" cells >"$TMP/cells.csv"

PIPE=edustat_fixtures_$$
soffice --headless --invisible --norestore --nologo \
        "-env:UserInstallation=file://$TMP/profile" \
        "--accept=pipe,name=$PIPE;urp;" >"$TMP/soffice.log" 2>&1 &
LO_PID=$!

fill() { # PERIOD OUT FILTER [OPTIONS]
        "$COLLECTOR" template --unit 211122100 --period "$1" -o "$TMP/template_$1.xlsx" >/dev/null
        /usr/bin/python3 "$HERE/fill_lo.py" "$PIPE" "$TMP/template_$1.xlsx" "$TMP/cells.csv" \
                "$HERE/$2" "$3" ${4:+"$4"}
        echo "make_fixtures: $2"
}
# CSV filter options: separator (44 comma, 9 tab), text delimiter (34 "),
# character set (LibreOffice numbers them: 85 is GB18030, 65535 Unicode, i.e.
# UTF-16 with a byte-order mark), first line 1.
fill 2020 filled_2020.xlsx "Calc MS Excel 2007 XML"
fill 2021 filled_2021_gb18030.csv "Text - txt - csv (StarCalc)" "44,34,85,1"
fill 2022 filled_2022_utf16.txt "Text - txt - csv (StarCalc)" "9,34,65535,1"
