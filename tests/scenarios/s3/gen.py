#!/usr/bin/env python3
"""gen.py OUTDIR: the s3-s3 scenario's source objects (deterministic).

a.csv (50000 rows), sub/b.csv.gz (50000 rows, gzip), new.csv (1000 rows,
for the incremental run), c.jsonl (20000 rows).  Fields hold unicode,
commas, quotes and newlines.  Also OUTDIR/expected-<name>.jsonl: one JSON
object per source row (the values as strings), what the destination must
hold.
"""
import csv, gzip, io, json, os, sys

out = sys.argv[1]
os.makedirs(os.path.join(out, "sub"), exist_ok=True)
WORDS = ["plain", "caf\u00e9 cr\u00e8me", "\u65e5\u672c\u8a9e", "emoji \U0001F600",
         'say "hi"', "a,b,c", "two\nlines", "crlf\r\ninside", "", "  spaced  "]

def rows(start, n):
    for i in range(start, start + n):
        yield {"id": str(i), "name": WORDS[i % len(WORDS)] + " " + str(i),
               "amount": "%d.%02d" % (i % 1000, i % 100), "note": WORDS[(i * 7) % len(WORDS)]}

def write_csv(path, rs, gz=False):
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=["id", "name", "amount", "note"], lineterminator="\n")
    w.writeheader()
    for r in rs:
        w.writerow(r)
    data = buf.getvalue().encode()
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)

def expect(name, rs):
    with open(os.path.join(out, "expected-%s.jsonl" % name), "w") as f:
        for r in rs:
            f.write(json.dumps(r, sort_keys=True) + "\n")

a, b, new, c = list(rows(0, 50000)), list(rows(50000, 50000)), list(rows(100000, 1000)), list(rows(200000, 20000))
write_csv(os.path.join(out, "a.csv"), a)
write_csv(os.path.join(out, "sub", "b.csv.gz"), b, gz=True)
write_csv(os.path.join(out, "new.csv"), new)
with open(os.path.join(out, "c.jsonl"), "w") as f:
    for r in c:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
expect("run1", a + b)
expect("new", new)
expect("c", c)
