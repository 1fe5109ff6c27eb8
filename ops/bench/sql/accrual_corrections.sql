-- ops/bench (accrual): writes :k moved_out_on corrections of random placements as api.post calls
-- (one statement, one transaction each) for :client, to be run as reimbursed_app.
SET max_parallel_workers_per_gather = 0;
SELECT set_config('reimbursed.scope', '*', false) \g /dev/null
SELECT setseed(0.17) \g /dev/null
SELECT format('SELECT (api.post(%L, %s, %L, NULL, NULL, %L::jsonb)).status;',
              'placement_correct', :client, '*',
              jsonb_build_object('id', id::text, 'field', 'moved_out_on',
                  'value', (moved_in_on + 1
                            + floor(random() * (date '2026-10-31' - moved_in_on - 1))::int)::text,
                  'reason', 'bench')::text)
  FROM (SELECT id, moved_in_on FROM placements
         WHERE moved_in_on IS NOT NULL AND moved_in_on < date '2026-10-30'
         ORDER BY id) s
 ORDER BY random()
 LIMIT :k;
