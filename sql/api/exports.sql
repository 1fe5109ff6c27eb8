-- Exports: the postings of an SIE export, with their journal, journal by journal.
CREATE OR REPLACE FUNCTION api.sie_postings(p_muni text, p_from date, p_to date, p_payments boolean)
    RETURNS TABLE (journal_id bigint, payment boolean, cause text, recorded_on date,
                   service_month date, account text, code text, placement_id bigint,
                   amount_ore bigint, posting_id bigint)
    LANGUAGE sql STABLE AS $$
    SELECT p.journal_id, j.kind = 'payment', j.cause,
           (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date, j.service_month,
           p.account, p.code, p.placement_id, p.amount_ore, p.id
      FROM journal j JOIN postings p ON p.journal_id = j.id
     WHERE j.municipality = p_muni
       AND (p_from IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date >= p_from)
       AND (p_to IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date <= p_to)
       AND (p_payments OR j.kind = 'accrual') $$;

-- GET /v1/exports/sie, streamed. Rows by kind: 'h' once first (cause: the municipality's name,
-- recorded_on: today in Stockholm, first_on/last_on: the first and last recording day, NULL
-- without postings); then 'a' per (account, code) used, in the order of first use; then 'p' per
-- posting in journal order. No row at all: no such municipality.
CREATE OR REPLACE FUNCTION api.sie_stream(p_scope text, p_muni text, p_from date, p_to date,
                                          p_payments boolean)
    RETURNS TABLE (kind text, journal_id bigint, payment boolean, cause text, recorded_on date,
                   service_month date, account text, code text, placement_id bigint,
                   amount_ore bigint, first_on date, last_on date)
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    RETURN QUERY
        SELECT 'h', NULL::bigint, false, m.name::text, api.stockholm_date(now()), NULL::date,
               NULL::text, NULL::text, NULL::bigint, NULL::bigint, x.first_on, x.last_on
          FROM municipalities m,
               LATERAL (SELECT min(s.recorded_on) AS first_on, max(s.recorded_on) AS last_on
                          FROM api.sie_postings(p_muni, p_from, p_to, p_payments) s) x
         WHERE m.code = p_muni;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT 'a', NULL::bigint, false, NULL::text, NULL::date, NULL::date, u.account, u.code,
               NULL::bigint, NULL::bigint, NULL::date, NULL::date
          FROM (SELECT x.account, x.code, min(x.n) AS first_use
                  FROM (SELECT s.account, s.code,
                               row_number() OVER (ORDER BY s.journal_id, s.posting_id) AS n
                          FROM api.sie_postings(p_muni, p_from, p_to, p_payments) s) x
                 GROUP BY x.account, x.code) u
         ORDER BY u.first_use;
    RETURN QUERY
        SELECT 'p', s.journal_id, s.payment, s.cause, s.recorded_on, s.service_month, s.account,
               s.code, s.placement_id, s.amount_ore, NULL::date, NULL::date
          FROM api.sie_postings(p_muni, p_from, p_to, p_payments) s
         ORDER BY s.journal_id, s.posting_id;
END $$;
