-- Exports: the ledger's postings for the SIE file, journal by journal. The first row carries the
-- municipality's name (journal_id null); no row at all means no such municipality.
CREATE FUNCTION api.sie_rows(p_scope text, p_muni text, p_from date, p_to date,
                             p_payments boolean)
    RETURNS TABLE (journal_id bigint, payment boolean, cause text, recorded_on date,
                   service_month date, account text, code text, placement_id bigint,
                   amount_ore bigint, name text)
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('reimbursed.scope', p_scope, true);
    RETURN QUERY SELECT NULL::bigint, false, NULL::text, NULL::date, NULL::date, NULL::text,
                        NULL::text, NULL::bigint, NULL::bigint, m.name
                   FROM municipalities m WHERE m.code = p_muni;
    RETURN QUERY
        SELECT p.journal_id, j.kind = 'payment', j.cause,
               (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date, j.service_month,
               p.account, p.code, p.placement_id, p.amount_ore, NULL::text
          FROM journal j JOIN postings p ON p.journal_id = j.id
         WHERE j.municipality = p_muni
           AND (p_from IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date >= p_from)
           AND (p_to IS NULL OR (j.recorded_at AT TIME ZONE 'Europe/Stockholm')::date <= p_to)
           AND (p_payments OR j.kind = 'accrual')
         ORDER BY p.journal_id, p.id;
END $$;
GRANT EXECUTE ON FUNCTION api.sie_rows(text, text, date, date, boolean) TO reimbursed_app;
