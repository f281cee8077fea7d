# gen_round.awk: a submission round, bigger than the sample city's, for the
# compose test's aggregator restart.
#
#   awk -v out=DIR -f gen_round.awk config/orgunits.csv
#
# Writes DIR/<period>.csv (unit,period,indicator,value) for the periods 2026,
# 2026S1-S2, 2026Q1-Q4 and 202601-202612 (periods the sample round does not
# use, so every record is a new key): every leaf of the org tree submits the
# twelve count and amount indicators a school reports, every unit whose
# level is "district" submits pop_3to5.  About 66,000 records for the
# sample city.  The values are a fixed function of unit, period and
# indicator (a count clamped where config/rules.csv's error rules say, e.g.
# large_classes at most classes), so a rerun writes the same files; counts
# are whole numbers, amounts have two decimals.  Prints the number of records written.
#
# Only the first three columns of orgunits.csv are read (code, parent,
# level); the name after them may be quoted and hold commas.

BEGIN {
        FS = ","
        nper = split("2026 2026S1 2026S2 2026Q1 2026Q2 2026Q3 2026Q4 " \
                     "202601 202602 202603 202604 202605 202606 " \
                     "202607 202608 202609 202610 202611 202612", per, " ")
        nind = split("pupils teachers classes large_classes xl_classes dropouts pupils_prev " \
                     "kg_children kg_public_children teach_area sports_area equip_value", ind, " ")
        for (i = 1; i <= nind; i++)
                amount[ind[i]] = (ind[i] ~ /_area$|_value$/)
}

function min(a, b) { return a < b ? a : b }

NR == 1 { next }

{
        code[++n] = $1
        level[n] = $3
        if ($2 != "")
                haschild[$2] = 1
}

END {
        total = 0
        for (p = 1; p <= nper; p++) {
                f = out "/" per[p] ".csv"
                print "unit,period,indicator,value" > f
                for (u = 1; u <= n; u++) {
                        # The last six digits of a code, as a number.
                        c = substr(code[u], length(code[u]) - 5) + 0
                        if (level[u] == "district") {
                                printf "%s,%s,pop_3to5,%d\n", code[u], per[p],
                                    3000 + (c * 7 + p * 131) % 9000 > f
                                total++
                        }
                        if (code[u] in haschild)
                                continue
                        for (i = 1; i <= nind; i++) {
                                h[ind[i]] = (c * 31 + p * 977 + i * 131) % 100003
                                v[ind[i]] = h[ind[i]] % 2000
                        }
                        # The logical checks of config/rules.csv (error rules)
                        # hold, so that every record lands.
                        v["classes"] = min(v["classes"], v["pupils"])
                        v["large_classes"] = min(min(v["large_classes"], v["classes"]),
                                                 int(v["pupils"] / 56))
                        v["xl_classes"] = min(v["xl_classes"], v["large_classes"])
                        v["dropouts"] = min(v["dropouts"], v["pupils_prev"])
                        v["kg_public_children"] = min(v["kg_public_children"], v["kg_children"])
                        for (i = 1; i <= nind; i++) {
                                if (amount[ind[i]])
                                        printf "%s,%s,%s,%d.%02d\n", code[u], per[p], ind[i],
                                            h[ind[i]] * 7 % 500000, h[ind[i]] % 100 > f
                                else
                                        printf "%s,%s,%s,%d\n", code[u], per[p], ind[i],
                                            v[ind[i]] > f
                                total++
                        }
                }
                close(f)
        }
        print total
}
