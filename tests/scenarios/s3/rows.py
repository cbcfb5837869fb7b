#!/usr/bin/env python3
"""rows.py FILE...: the records in destination-s3 objects (CSV or JSONL,
.gz decompressed), one sorted-key JSON object per line on stdout, the
source's _ab_* metadata columns dropped.  Exit 1 on a malformed object."""
import csv, gzip, io, json, sys

for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    if path.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    if ".csv" in path:
        rd = csv.reader(io.StringIO(text, newline=""))
        head = next(rd)
        for rec in rd:
            row = dict(zip(head, rec))
            if "_airbyte_data" in row:
                data = json.loads(row["_airbyte_data"])
            else:
                data = {k: v for k, v in row.items() if not k.startswith("_airbyte_")}
            assert row["_airbyte_ab_id"] and row["_airbyte_emitted_at"].isdigit(), path
            data = {k: v for k, v in data.items() if not k.startswith("_ab_")}
            print(json.dumps(data, sort_keys=True))
    else:
        for line in text.splitlines():
            o = json.loads(line)
            data = o.get("_airbyte_data", o)
            data = {k: v for k, v in data.items() if not k.startswith("_ab_") and not k.startswith("_airbyte_")}
            print(json.dumps(data, sort_keys=True))
