-- ops/bench (accrual): :n persons and placements, set-based, as the owner role with the scope '*'
-- (the tables have FORCE ROW LEVEL SECURITY). One placement per person, so no two overlap. Fixed seed.
SET max_parallel_workers_per_gather = 0; -- one process, so the seeded random() sequence is fixed
SET TimeZone = 'Europe/Stockholm';
SELECT set_config('reimbursed.scope', '*', false) \g /dev/null
SELECT setseed(0.42) \g /dev/null

-- About 40 real municipality codes spread over the country.
CREATE TEMP TABLE munis AS
SELECT row_number() OVER (ORDER BY code) AS k, code
  FROM (SELECT code, row_number() OVER (ORDER BY code) AS rn, count(*) OVER () AS c
          FROM municipalities) m
 WHERE (rn - 1) % greatest(1, c / 40) = 0
 ORDER BY code LIMIT 40;

CREATE TEMP TABLE gen AS
WITH r AS (
    SELECT g AS n, random() AS r_muni, random() AS r_assigned, random() AS r_movein,
           random() AS r_delay, random() AS r_out, random() AS r_dur, random() AS r_reason,
           random() AS r_kind, random() AS r_age, random() AS r_uam
      FROM generate_series(1, :n) g
), a AS (
    SELECT r.*,
           date '2022-07-01'
             + floor(r_assigned * (date '2026-12-31' - date '2022-07-01' + 1))::int AS assigned_on
      FROM r
), b AS (
    SELECT a.*,
           CASE WHEN r_movein < 0.95
                THEN least(assigned_on + floor(r_delay * r_delay * 8)::int, date '2026-12-31')
           END AS moved_in_on
      FROM a
), c AS (
    SELECT b.*,
           CASE WHEN moved_in_on IS NOT NULL AND r_out < 0.6
                     AND date '2026-12-30' - moved_in_on >= 31
                THEN moved_in_on + 30
                     + floor(r_dur * (least(1096, date '2026-12-30' - moved_in_on) - 30))::int
           END AS moved_out_on
      FROM b
)
SELECT n,
       lpad(((n::bigint * 48271) % 2147483647)::text, 10, '0') AS dossier,
       -- 35 % children at the assignment (some turn 18 while housed), 65 % adults up to 65
       assigned_on - CASE WHEN r_kind < 0.35 THEN floor(r_age * 18 * 365.25)::int
                          ELSE floor((18 + r_age * 47) * 365.25)::int END AS birth_date,
       r_uam < 0.05 AS former_uam,
       (SELECT code FROM munis WHERE k = 1 + floor(r_muni * (SELECT count(*) FROM munis))::int)
           AS municipality,
       assigned_on, moved_in_on, moved_out_on,
       CASE WHEN moved_out_on IS NULL THEN NULL
            WHEN r_reason < 0.30 THEN 'other_municipality'
            WHEN r_reason < 0.50 THEN 'left_country'
            WHEN r_reason < 0.75 THEN 'own_housing'
            WHEN r_reason < 0.90 THEN 'registered'
            ELSE 'other' END AS move_out_reason
  FROM c;

\ir gen_insert.sql

-- The admin client that makes the corrections through api.post.
INSERT INTO clients (name, role, scope, token_sha256)
VALUES ('bench-admin', 'admin', '*', encode(sha256('bench-admin'::bytea), 'hex'));
-- make_template follows with VACUUM ANALYZE as the superuser (catalogs included).
