-- ops/bench (report): :n people, placements and their events, set-based, as the owner role with
-- the scope '*'. Fixed seed; dates relative to :today so that the twelve ended months have days in
-- housing. Variables: n today yesterday year_start munis (the first that many municipalities).
SET max_parallel_workers_per_gather = 0;
SET TimeZone = 'Europe/Stockholm';
SELECT set_config('reimbursed.scope', '*', false) \g /dev/null
SELECT setseed(0.42) \g /dev/null
CREATE TEMP TABLE munis AS
SELECT row_number() OVER (ORDER BY code) AS k, code FROM municipalities ORDER BY code LIMIT :munis;
CREATE TEMP TABLE gen AS
WITH r AS (
    SELECT g AS n, random() AS r_muni, random() AS r_in, random() AS r_out, random() AS r_dur,
           random() AS r_reason, random() AS r_age, random() AS r_uam
      FROM generate_series(1, :n) g
), a AS (
    -- moved in from three months before the year to a month ago: a year of accruals
    SELECT r.*, (:'year_start'::date - 90
                 + floor(r_in * (:'today'::date - :'year_start'::date + 90 - 30))::int) AS moved_in_on
      FROM r
)
SELECT n, lpad(((n::bigint * 48271) % 2147483647)::text, 10, '0') AS dossier,
       moved_in_on - floor((1 + r_age * 60) * 365.25)::int AS birth_date,
       r_uam < 0.05 AS former_uam,
       (SELECT code FROM munis WHERE k = 1 + floor(r_muni * (SELECT count(*) FROM munis))::int)
           AS municipality,
       moved_in_on AS assigned_on, moved_in_on,
       CASE WHEN r_out < 0.002 THEN :'yesterday'::date -- the night's move-outs
            WHEN r_out < 0.30
            THEN least(moved_in_on + 30 + floor(r_dur * 400)::int, :'yesterday'::date - 1) END
           AS moved_out_on,
       CASE WHEN r_reason < 0.4 THEN 'other_municipality' WHEN r_reason < 0.6 THEN 'left_country'
            WHEN r_reason < 0.85 THEN 'registered' ELSE 'own_housing' END AS reason
  FROM a;
-- The move-out reason only where there is a move-out, as gen_insert.sql expects.
ALTER TABLE gen RENAME reason TO move_out_reason;
UPDATE gen SET move_out_reason = NULL WHERE moved_out_on IS NULL;
\ir gen_insert.sql
-- One allocation decision per municipality, at the start of the year.
INSERT INTO allocations (municipality, year, places, decided_on, accrued_places, recorded_at)
SELECT code, extract(year FROM :'year_start'::date)::int, 20 + (k % 40)::int, :'year_start'::date,
       20 + (k % 40)::int, pg_temp.rec(:'year_start'::date)
  FROM munis;
