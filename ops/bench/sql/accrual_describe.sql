-- ops/bench (accrual): one line about the generated data.
SELECT set_config('reimbursed.scope', '*', false) \g /dev/null
SELECT count(*),
       count(DISTINCT p.municipality),
       round(100.0 * count(*) FILTER (WHERE p.moved_in_on IS NULL) / count(*), 1),
       round(100.0 * count(*) FILTER (WHERE p.moved_out_on IS NOT NULL) / count(*), 1),
       round(100.0 * count(*) FILTER (WHERE per.former_uam) / count(*), 1),
       round(100.0 * count(*) FILTER (WHERE p.assigned_on < per.birth_date + interval '18 years')
             / count(*), 1),
       count(*) FILTER (WHERE NOT isempty(p.housing)
                          AND p.housing @> (per.birth_date + interval '18 years')::date),
       min(p.assigned_on), max(p.assigned_on),
       (SELECT count(*) FROM placement_events),
       (SELECT count(*) FROM accrual_dirty)
  FROM placements p
  JOIN person_records per ON per.person_id = p.person_id AND per.municipality = p.municipality
