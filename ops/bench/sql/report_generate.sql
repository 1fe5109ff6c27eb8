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
CREATE FUNCTION pg_temp.rec(d date) RETURNS timestamptz
    LANGUAGE sql STABLE AS $$ SELECT least(d + time '10:00', now()) $$;
INSERT INTO persons (dossier_number, created_at)
SELECT dossier, pg_temp.rec(assigned_on) FROM gen ORDER BY n;
INSERT INTO person_records (person_id, municipality, birth_date, former_uam, created_at)
SELECT per.id, g.municipality, g.birth_date, g.former_uam, per.created_at
  FROM gen g JOIN persons per ON per.dossier_number = g.dossier ORDER BY g.n;
INSERT INTO placements (person_id, municipality, assigned_on, moved_in_on, moved_out_on,
                        move_out_reason, registered_on, created_at, updated_at)
SELECT per.id, g.municipality, g.assigned_on, g.moved_in_on, g.moved_out_on,
       CASE WHEN g.moved_out_on IS NOT NULL THEN g.reason END,
       CASE WHEN g.moved_out_on IS NOT NULL AND g.reason = 'registered' THEN g.moved_out_on END,
       pg_temp.rec(g.assigned_on), pg_temp.rec(coalesce(g.moved_out_on, g.moved_in_on))
  FROM gen g JOIN persons per ON per.dossier_number = g.dossier ORDER BY g.n;
INSERT INTO placement_events (placement_id, municipality, type, effective, field, value, reason,
                              recorded_at)
SELECT p.id, p.municipality, e.type, e.effective, e.field, e.value, e.reason,
       pg_temp.rec(e.effective)
  FROM placements p
  JOIN person_records per ON per.person_id = p.person_id AND per.municipality = p.municipality
 CROSS JOIN LATERAL (VALUES
       (1, 'assigned', p.assigned_on, 'person',
        json_build_object('birth_date', per.birth_date, 'former_uam', per.former_uam)::text, NULL::text),
       (2, 'moved_in', p.moved_in_on, NULL, NULL, NULL),
       (3, 'moved_out', p.moved_out_on, NULL, NULL, p.move_out_reason)) AS e(ord, type, effective, field, value, reason)
 WHERE e.effective IS NOT NULL
 ORDER BY p.id, e.ord;
-- One allocation decision per municipality, at the start of the year.
INSERT INTO allocations (municipality, year, places, decided_on, accrued_places, recorded_at)
SELECT code, extract(year FROM :'year_start'::date)::int, 20 + (k % 40)::int, :'year_start'::date,
       20 + (k % 40)::int, pg_temp.rec(:'year_start'::date)
  FROM munis;
