#!/usr/bin/env python3
"""edustat_client: a submitting client written from docs/PROTOCOL.md alone.

It shares no code with edustat-collector: the tests use it to send what the
real collector never would (versions chosen by the test, a batch id reused,
protocol version 1, malformed submits) and to read the replies exactly.

    edustat_client.py [--endpoint URL] [--keys DIR] [--key NAME] [--insecure]
                      [--timeout SEC] [--json] MESSAGE...

Each MESSAGE is a JSON array, packed as one msgpack array in one frame
(JSON null is msgpack nil, JSON strings are msgpack str, integers keep their
value).  The messages are sent one after another on one DEALER socket; the
client waits for each reply before sending the next one.

CURVE (the default): the client's key pair is DIR/NAME.key_secret (with
DIR/NAME.key for the public half if the secret file lacks it), the server's
public key DIR/SERVER.key (--server, default aggregator); DIR is --keys or
$EDUSTAT_KEYS.

It can also play an aggregator at the sink (--server sink --key aggregator
--endpoint $EDUSTAT_SINK): after a "hello" it reads the "rows" messages up
to "ready", and in later messages of the same run the strings "@epoch",
"@last_seq" and "@next_seq" stand for that ready's epoch, last_seq and
last_seq + 1.  The key files
are ZeroMQ certificates: `public-key = "<40 Z85 characters>"` and
`secret-key = "..."` lines.  --insecure: plain TCP.

Each reply is printed as lines (or, with --json, as one JSON line):

    ack BATCH ACCEPTED CHANGED
    rejected LINE REASON                      one per rejected record
    stale LINE STORED_VALUE COLLECTOR STORED_VERSION   one per stale record
    error BATCH|- MESSAGE
    rows N                                    (sink) a "rows" message of N rows
    ready LAST_SEQ NROWS EPOCH NREVIEWS NNOTES   (sink)
    ok SEQ / fail SEQ MESSAGE / fenced SEQ MESSAGE   (sink)
    other JSON                                anything else
    timeout                                   no reply within --timeout

Exit 0 when every message got a reply, 3 when one did not (the client then
stops), 2 on usage errors.
"""

import argparse
import json
import os
import re
import sys

try:
    import msgpack
    import zmq
except ImportError as e:  # pragma: no cover
    sys.stderr.write("edustat_client: %s (Debian: python3-zmq python3-msgpack)\n" % e)
    sys.exit(2)


def read_key(path, field):
    with open(path, encoding="ascii") as f:
        text = f.read()
    m = re.search(r'^\s*%s\s*=\s*"([^"]{40})"' % re.escape(field), text, re.M)
    return m.group(1).encode("ascii") if m else None


def text(x):
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    if x is None:
        return "-"
    return str(x)


def show(reply, as_json):
    if as_json:
        print(json.dumps(reply, ensure_ascii=False, default=text))
        return
    if (isinstance(reply, list) and len(reply) >= 5 and reply[0] == "ack"):
        print("ack %s %s %s" % (text(reply[1]), reply[2], reply[3]))
        for r in reply[4] or []:
            print("rejected %s %s" % (r[0], text(r[1])))
        if len(reply) >= 6:
            for s in reply[5] or []:
                print("stale %s" % " ".join(text(x) for x in s))
        return
    if isinstance(reply, list) and len(reply) == 3 and reply[0] in ("error", "fail", "fenced"):
        print("%s %s %s" % (reply[0], text(reply[1]), text(reply[2])))
        return
    if isinstance(reply, list) and len(reply) == 2 and reply[0] == "rows":
        print("rows %d" % len(reply[1] or []))
        return
    if isinstance(reply, list) and len(reply) >= 2 and reply[0] in ("ready", "ok"):
        print(" ".join(text(x) for x in reply))
        return
    print("other %s" % json.dumps(reply, ensure_ascii=False, default=text))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default=os.environ.get("EDUSTAT_AGGREGATOR",
                                                         "tcp://127.0.0.1:5560"))
    ap.add_argument("--keys", default=os.environ.get("EDUSTAT_KEYS", "./keys"))
    ap.add_argument("--key", default="collector", help="the client's key pair name")
    ap.add_argument("--server", default="aggregator", help="the server's public key name")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("messages", nargs="+")
    a = ap.parse_args()

    msgs = []
    for m in a.messages:
        try:
            v = json.loads(m)
        except ValueError as e:
            sys.stderr.write("edustat_client: not JSON: %s: %s\n" % (m, e))
            return 2
        if not isinstance(v, list):
            sys.stderr.write("edustat_client: a message is a JSON array: %s\n" % m)
            return 2
        msgs.append(v)

    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if not a.insecure:
        sec = os.path.join(a.keys, a.key + ".key_secret")
        pub = read_key(sec, "public-key") or read_key(os.path.join(a.keys, a.key + ".key"),
                                                      "public-key")
        secret = read_key(sec, "secret-key")
        server = read_key(os.path.join(a.keys, a.server + ".key"), "public-key")
        if not (pub and secret and server):
            sys.stderr.write("edustat_client: cannot read the keys %s and %s/%s.key\n"
                             % (sec, a.keys, a.server))
            return 2
        s.curve_publickey = pub
        s.curve_secretkey = secret
        s.curve_serverkey = server
    s.connect(a.endpoint)
    rc = 0
    subst = {}

    def fill(x):
        if isinstance(x, list):
            return [fill(y) for y in x]
        if isinstance(x, str) and x in subst:
            return subst[x]
        return x

    try:
        for m in msgs:
            s.send(msgpack.packb(fill(m), use_bin_type=True))
            while True:
                if not s.poll(int(a.timeout * 1000)):
                    print("timeout")
                    return 3
                frame = s.recv()
                try:
                    reply = msgpack.unpackb(frame, raw=False)
                except Exception as e:  # a reply that is not msgpack
                    print("other undecodable %r (%s)" % (frame[:200], e))
                    break
                show(reply, a.json)
                sys.stdout.flush()
                if not (isinstance(reply, list) and reply and reply[0] == "rows"):
                    break
            if (isinstance(reply, list) and len(reply) >= 4 and reply[0] == "ready"
                    and isinstance(reply[1], int) and isinstance(reply[3], int)):
                subst["@last_seq"] = reply[1]
                subst["@next_seq"] = reply[1] + 1
                subst["@epoch"] = reply[3]
    finally:
        s.close(0)
        ctx.term()
    return rc


# ---------------------------------------------------------------------------
# For scripts that import this module (tests/integration/hostile.sh): a
# connected socket, versions, and many submits at once, for messages too
# large for a command line.


def curve_dealer(ctx, endpoint, keys, key, server="aggregator", insecure=False):
    """A DEALER connected to endpoint as key pair KEYS/KEY.key_secret (CURVE)."""
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if not insecure:
        sec = os.path.join(keys, key + ".key_secret")
        pub = read_key(sec, "public-key") or read_key(os.path.join(keys, key + ".key"),
                                                      "public-key")
        secret = read_key(sec, "secret-key")
        srv = read_key(os.path.join(keys, server + ".key"), "public-key")
        if not (pub and secret and srv):
            raise ValueError("cannot read the keys %s and %s/%s.key" % (sec, keys, server))
        s.curve_publickey = pub
        s.curve_secretkey = secret
        s.curve_serverkey = srv
    s.connect(endpoint)
    return s


def version_at(us, i):
    """The version of record i of a batch stamped at us microseconds
    (docs/PROTOCOL.md: us x 1024 + i, i below 1024; larger batches step
    the microseconds)."""
    return (us + i // 1024) * 1024 + i % 1024


def send_all(sock, msgs, timeout, on_reply=None, stop=None):
    """Send every message (lists, packed here, or (batch_id, packed bytes)) as fast as
    the socket takes them, then collect one final reply per message until
    timeout seconds after the last send, or until stop() (checked every
    second) is true.  Returns {batch_id: (reply, seconds from its send)};
    on_reply(batch_id, reply, seconds) is called as each arrives."""
    import time
    sent = {}
    for m in msgs:
        if isinstance(m, tuple):
            bid, frame = m
        else:
            bid, frame = m[3], msgpack.packb(m, use_bin_type=True)
        sock.send(frame)
        sent[bid] = time.monotonic()
    replies = {}
    deadline = time.monotonic() + timeout
    while len(replies) < len(sent):
        left = deadline - time.monotonic()
        if left <= 0 or (stop and stop()):
            break
        if not sock.poll(int(min(left, 1.0) * 1000)):
            continue
        reply = msgpack.unpackb(sock.recv(), raw=False)
        bid = reply[1] if isinstance(reply, list) and len(reply) > 1 else None
        t = time.monotonic() - sent.get(bid, deadline)
        replies[bid] = (reply, t)
        if on_reply:
            on_reply(bid, reply, t)
    return replies


if __name__ == "__main__":
    sys.exit(main())
