#!/usr/bin/env python3
"""compare.py [--doubles] EXPECTED.jsonl COLUMNS OBJECT...

EXPECTED.jsonl: one row per line, psql `SELECT row_to_json(t) ...`.
COLUMNS: comma-separated columns the records must have (exactly).
OBJECT: destination-s3 CSV objects (_airbyte_ab_id,_airbyte_emitted_at,
_airbyte_data; .gz accepted).  Values are compared exactly after
normalisation: numbers as Decimal (big numerics stay exact), *_at columns
as instants (ISO 8601 with Z or an offset), the rest as they are.
--doubles: compare numbers as IEEE doubles (for a destination that
re-encodes JSON numbers through a double).
Prints one summary line; exit 0 when the multisets of rows are equal."""
import csv, datetime, decimal, gzip, json, sys
from collections import Counter

csv.field_size_limit(1 << 30)
D = decimal.Decimal
decimal.getcontext().prec = 200
DOUBLES = False


def norm(row, cols):
    out = []
    for c in cols:
        v = row[c]
        if c.endswith('_at') and isinstance(v, str):
            v = datetime.datetime.fromisoformat(v.replace('Z', '+00:00'))
        elif isinstance(v, (int, D)):
            v = float(v) if DOUBLES else D(v).normalize()
        out.append(v)
    return tuple(out)


def main():
    global DOUBLES
    args = sys.argv[1:]
    if args and args[0] == '--doubles':
        DOUBLES = True
        args = args[1:]
    exp_path, cols, objs = args[0], args[1].split(','), args[2:]
    want = Counter()
    with open(exp_path, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                want[norm(json.loads(line, parse_float=D), cols)] += 1
    got = Counter()
    bad = 0
    for p in objs:
        op = gzip.open if p.endswith('.gz') else open
        with op(p, 'rt', encoding='utf-8', newline='') as f:
            r = csv.reader(f)
            head = next(r, None)
            if head != ['_airbyte_ab_id', '_airbyte_emitted_at', '_airbyte_data']:
                print(f'{p}: unexpected header {head}')
                return 1
            for rec in r:
                data = json.loads(rec[2], parse_float=D, parse_int=D)
                if sorted(data) != sorted(cols):
                    bad += 1
                    if bad <= 3:
                        print(f'columns differ: {sorted(data)} != {sorted(cols)}')
                    continue
                got[norm(data, cols)] += 1
    n_want, n_got = sum(want.values()), sum(got.values())
    missing, extra = want - got, got - want
    print(f'expected {n_want} rows, objects hold {n_got} rows; missing {sum(missing.values())}, '
          f'extra {sum(extra.values())}, bad {bad}')
    for k in list(missing)[:2]:
        print('  missing:', k)
    for k in list(extra)[:2]:
        print('  extra:  ', k)
    return 0 if not missing and not extra and not bad else 1


sys.exit(main())
