#!/usr/bin/env bash
#
# render_bulletin.sh [FILE.html]: docs/bulletin.png, the first A4 page of
# the demo city's 统计公报 as headless chromium draws it (the picture in the
# README).
#
# Without an argument it runs the demo (scripts/demo.sh with
# EDUSTAT_DEMO_EXIT=1; EDUSTAT_BIN as there, default ./bin) and renders the
# HTML bulletin the demo wrote.  Needs Debian's chromium and fonts-noto-cjk
# (scripts/deps.sh installs both).
set -eu -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v chromium >/dev/null 2>&1; then
        echo "render_bulletin: chromium is missing (Debian: apt-get install chromium)" >&2
        exit 1
fi
if [ $# -ge 1 ]; then
        html=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
        log=$(mktemp /tmp/edustat-render.XXXXXX)
        EDUSTAT_DEMO_EXIT=1 "$ROOT/scripts/demo.sh" >"$log" 2>&1 || {
                echo "render_bulletin: the demo failed; see $log" >&2
                exit 1
        }
        dir=$(sed -n 's/^demo: bulletin and 过录表 written to //p' "$log")
        html=$dir/盘锦市-2024-统计公报.html
        rm -f "$log"
fi
[ -s "$html" ] || {
        echo "render_bulletin: no bulletin at $html" >&2
        exit 1
}
profile=$(mktemp -d /tmp/edustat-chromium.XXXXXX)
HOME=$profile timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$profile" --screenshot="$ROOT/docs/bulletin.png" \
        --window-size=1240,1754 "file://$html" >/dev/null 2>&1
rm -rf "$profile"
echo "render_bulletin: $ROOT/docs/bulletin.png from $html"
