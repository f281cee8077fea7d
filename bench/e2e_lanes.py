#!/usr/bin/env python3
"""Run several edustat-collector processes at once and time them (bench/e2e.sh).

    e2e_lanes.py COLLECTOR_BIN TIMEOUT_S LANE_SPEC...

Each LANE_SPEC is NAME=OUTBOX=SECRET_KEY=FILELIST: the collector's name, its
own outbox, its own CURVE secret key file, and a file listing the CSV files
it submits, one path a line.  Every lane runs

    edustat-collector submit --timeout TIMEOUT_S FILES...

with EDUSTAT_OUTBOX, EDUSTAT_COLLECTOR_SECRET and EDUSTAT_COLLECTOR_NAME set
to its own (EDUSTAT_AGGREGATOR, EDUSTAT_AGGREGATOR_PUBLIC come from the
environment).  All lanes start together; the clock stops when the last one
has exited.  `submit` exits 0 only when every record of its files was acked,
and the aggregator acks only what the sink has committed in PostgreSQL
(docs/PROTOCOL.md, "ack"), so that moment is "all committed".

Prints one line: wall seconds, the collectors' user and system CPU seconds
(from wait4, so exactly these processes) and every lane's exit code, e.g.
`12.345 20.1 1.2 0,0,0,0`.  Each lane's output goes to OUTBOX.log.  Exits 0
when every lane exited 0, else 1.
"""

import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    binary, timeout = sys.argv[1], sys.argv[2]
    lanes = []
    for spec in sys.argv[3:]:
        name, outbox, secret, filelist = spec.split("=", 3)
        with open(filelist, encoding="utf-8") as f:
            files = [line.rstrip("\n") for line in f if line.strip()]
        if not files:
            continue  # a lane with nothing of this kind (no correction there)
        env = dict(os.environ, EDUSTAT_OUTBOX=outbox, EDUSTAT_COLLECTOR_SECRET=secret,
                   EDUSTAT_COLLECTOR_NAME=name)
        lanes.append((name, outbox, env, files))

    logs = [open(outbox + ".log", "ab") for _, outbox, _, _ in lanes]
    t0 = time.monotonic()
    procs = [subprocess.Popen([binary, "submit", "--timeout", timeout] + files, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
             for (_, _, env, files), log in zip(lanes, logs)]
    pending = {p.pid: i for i, p in enumerate(procs)}
    codes = [None] * len(procs)
    user = system = 0.0
    while pending:
        pid, status, ru = os.wait4(-1, 0)
        if pid not in pending:
            continue
        codes[pending.pop(pid)] = os.waitstatus_to_exitcode(status)
        user += ru.ru_utime
        system += ru.ru_stime
    wall = time.monotonic() - t0
    for log in logs:
        log.close()
    for p in procs:
        p.returncode = 0  # reaped by wait4 above; keep Popen from waiting again
    print("%.3f %.2f %.2f %s" % (wall, user, system, ",".join(str(c) for c in codes)))
    return 0 if all(c == 0 for c in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
