# shellcheck shell=bash
#
# devkeys.sh: CURVE keys for a stack that runs on one machine (the demo, the
# tests).  Source it, then:
#
#   devkeys KEYGEN CONFIG_SRC WORKDIR [UNIT...]
#
# copies the config directory CONFIG_SRC to WORKDIR/config, makes the sink's
# and the aggregator's key pairs in WORKDIR/keys (edustat-keygen --init),
# makes a collector key pair ("collector") registered in
# WORKDIR/config/collectors.csv for the given units (default: the root unit,
# i.e. everything), and exports EDUSTAT_CONFIG and EDUSTAT_KEYS so that every
# daemon and collector started afterwards finds its keys.  KEYGEN is the path
# of edustat-keygen.  A real deployment makes each school its own key; see
# README, Keys.

devkeys() {
        local keygen=$1 src=$2 work=$3 pub units
        shift 3
        mkdir -p "$work/config" || return 1
        cp "$src"/*.csv "$work/config/" || return 1
        rm -rf "$work/keys"
        "$keygen" --init "$work/keys" >/dev/null || return 1
        pub=$("$keygen" collector "$work/keys" | awk '{print $NF}') || return 1
        if [ $# -gt 0 ]; then
                units="$*"
        else
                # the root: the one unit with an empty parent
                units=$(python3 - "$work/config/orgunits.csv" <<'PY'
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    for row in csv.DictReader(f):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items()}
        if row["parent"] == "":
            print(row["code"])
            break
PY
                ) || return 1
        fi
        printf 'public_key,name,units\n%s,collector,%s\n' "$pub" "$units" \
                >"$work/config/collectors.csv" || return 1
        export EDUSTAT_CONFIG=$work/config EDUSTAT_KEYS=$work/keys
}
