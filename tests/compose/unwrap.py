#!/usr/bin/env python3
"""unwrap.py OUT.csv S3S3_OBJECT... -- ORIGINAL_OBJECT...

For the compose s3-to-s3 case, whose source objects are the CSV objects the
postgres-to-s3 case wrote (_airbyte_ab_id,_airbyte_emitted_at,_airbyte_data)
and whose destination wrapped each of their rows once more.

Reads the s3-to-s3 destination objects (destination-s3 CSV, No flattening),
takes each record's columns _airbyte_ab_id/_airbyte_emitted_at/_airbyte_data
(the source object's row; source-s3 adds _ab_source_file_url and
_ab_source_file_last_modified, which must be present), writes them to OUT.csv
in destination-s3's CSV layout (so tests/scenarios/postgres/compare.py can
check them against the table), and checks that these rows are exactly the
rows of ORIGINAL_OBJECT... (as a multiset, byte for byte).
Prints one summary line; exit 0 when equal."""
import csv, gzip, json, sys
from collections import Counter

csv.field_size_limit(1 << 30)
HEAD = ['_airbyte_ab_id', '_airbyte_emitted_at', '_airbyte_data']


def rows(path):
    op = gzip.open if path.endswith('.gz') else open
    with op(path, 'rt', encoding='utf-8', newline='') as f:
        r = csv.reader(f)
        head = next(r, None)
        if head != HEAD:
            raise SystemExit(f'{path}: unexpected header {head}')
        yield from r


def main():
    args = sys.argv[1:]
    sep = args.index('--')
    out, got_objs, orig_objs = args[0], args[1:sep], args[sep + 1:]
    got, bad, files = Counter(), 0, set()
    with open(out, 'w', encoding='utf-8', newline='') as f:
        w = csv.writer(f)
        w.writerow(HEAD)
        for p in got_objs:
            for rec in rows(p):
                d = json.loads(rec[2])
                if not all(k in d for k in HEAD + ['_ab_source_file_url', '_ab_source_file_last_modified']):
                    bad += 1
                    continue
                files.add(d['_ab_source_file_url'])
                t = tuple(str(d[k]) for k in HEAD)
                got[t] += 1
                w.writerow(t)
    want = Counter(tuple(r) for p in orig_objs for r in rows(p))
    missing, extra = want - got, got - want
    print(f'{sum(got.values())} rows from {len(files)} source objects; missing {sum(missing.values())}, '
          f'extra {sum(extra.values())}, bad {bad}')
    return 0 if not missing and not extra and not bad and got else 1


sys.exit(main())
