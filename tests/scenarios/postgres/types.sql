-- One table with every type family source-postgres converts (types check).
DROP TABLE IF EXISTS public.types_probe;
CREATE TABLE public.types_probe (
	id int PRIMARY KEY, b bool, i8 bigint, f8 float8, n numeric, d date, t time,
	tt timetz, ts timestamp, tstz timestamptz, j json, jb jsonb, by bytea,
	ia int[], ta text[], iv interval, u uuid, v varchar(10)
);
INSERT INTO public.types_probe VALUES
 (1, true, -9223372036854775808, 1.5e300, 99999999999999999999999999999999.000000000000000001,
  '2024-02-29', '12:34:56.789', '12:34:56+05:30', '2024-02-29 12:34:56.5',
  '2024-02-29 12:34:56.5+02', E'{"a": [1, 2,\n 3]}', '{"b": "ü\u00e9"}', '\x00ff10',
  '{1,NULL,3}', E'{"a b","c\\"d",NULL,"NULL","ü\\\\"}', '1 day 02:00:00',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', E'tab\there'),
 (2, false, 0, 'NaN', 'NaN', '0001-01-01 BC', '00:00', '00:00+00', '-infinity', 'infinity',
  'null', '[]', '', '{}', '{{"x"},{"y"}}', '-1 mons', NULL, ''),
 (3, NULL, NULL, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL);
