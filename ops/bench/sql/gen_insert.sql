-- ops/bench (accrual, report): the persons, their municipality's records, the placements and their
-- events of the temp table gen (n dossier birth_date former_uam municipality assigned_on
-- moved_in_on moved_out_on move_out_reason), as the owner role with the scope '*'; included with
-- \ir. pg_temp.rec(d) is when a fact of day d was recorded (10:00 that day, or now).
CREATE FUNCTION pg_temp.rec(d date) RETURNS timestamptz
    LANGUAGE sql STABLE AS $$ SELECT least(d + time '10:00', now()) $$;

INSERT INTO persons (dossier_number, created_at)
SELECT dossier, pg_temp.rec(assigned_on) FROM gen ORDER BY n;
INSERT INTO person_records (person_id, municipality, birth_date, former_uam, created_at)
SELECT per.id, g.municipality, g.birth_date, g.former_uam, per.created_at
  FROM gen g JOIN persons per ON per.dossier_number = g.dossier ORDER BY g.n;

INSERT INTO placements (person_id, municipality, assigned_on, moved_in_on, moved_out_on,
                        move_out_reason, registered_on, created_at, updated_at)
SELECT per.id, g.municipality, g.assigned_on, g.moved_in_on, g.moved_out_on, g.move_out_reason,
       CASE WHEN g.move_out_reason = 'registered' THEN g.moved_out_on END,
       pg_temp.rec(g.assigned_on),
       pg_temp.rec(coalesce(g.moved_out_on, g.moved_in_on, g.assigned_on))
  FROM gen g JOIN persons per ON per.dossier_number = g.dossier
 ORDER BY g.n;

INSERT INTO placement_events (placement_id, municipality, type, effective, field, value, reason,
                              recorded_at)
SELECT p.id, p.municipality, e.type, e.effective, e.field, e.value, e.reason,
       pg_temp.rec(e.effective)
  FROM placements p
  JOIN person_records per ON per.person_id = p.person_id AND per.municipality = p.municipality
 CROSS JOIN LATERAL (VALUES
       (1, 'assigned', p.assigned_on, 'person',
        json_build_object('birth_date', per.birth_date, 'former_uam', per.former_uam)::text,
        NULL::text),
       (2, 'moved_in', p.moved_in_on, NULL, NULL, NULL),
       (3, 'moved_out', p.moved_out_on, NULL, NULL, p.move_out_reason)
       ) AS e(ord, type, effective, field, value, reason)
 WHERE e.effective IS NOT NULL
 ORDER BY p.id, e.ord;
