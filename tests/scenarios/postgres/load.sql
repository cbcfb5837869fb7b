-- Sample data for tests/scenarios/postgres-s3.sh: public.airbyte_configs like
-- the seed catalog (id, config_id, config_type, config_blob, created_at,
-- updated_at) plus a numeric column; :rows rows (psql -v rows=N).
-- updated_at has ties (10 rows per second) to exercise the cursor tie-breaker.
DROP TABLE IF EXISTS public.airbyte_configs;
CREATE TABLE public.airbyte_configs (
	id          bigint PRIMARY KEY,
	config_id   varchar(36) NOT NULL,
	config_type varchar(64) NOT NULL,
	config_blob text,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	amount      numeric(40, 6)
);
INSERT INTO public.airbyte_configs
SELECT g,
       md5(g::text)::uuid::text,
       (ARRAY['STANDARD_SOURCE_DEFINITION', 'SOURCE_CONNECTION', 'STANDARD_SYNC',
              'DESTINATION_CONNECTION'])[1 + g % 4],
       CASE WHEN g % 10 = 0 THEN NULL
            WHEN g % 10 = 1 THEN E'multi\nline\ttab "quoted" \\ backslash ' || g
            ELSE '{"name":"café ☕ 日本語 ' || g || '","emoji":"🚀","n":' || g || '}' END,
       timestamptz '2023-01-01 00:00:00+00' + g * interval '1 second' + (g % 1000) * interval '1 microsecond',
       timestamptz '2024-01-01 00:00:00+00' + (g / 10) * interval '1 second',
       CASE WHEN g % 7 = 0 THEN NULL
            WHEN g % 7 = 1 THEN 123456789012345678901234567890.123456 + g
            ELSE (g * 1234.5678)::numeric(40, 6) END
FROM generate_series(1, :rows) AS g;
ANALYZE public.airbyte_configs;
