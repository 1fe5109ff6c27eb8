-- The placement a paid line belongs to: the person's placement in that municipality with days
-- in that month, else the latest one there.
CREATE OR REPLACE FUNCTION api.placement_for_line(p_muni text, p_dossier text, p_month date) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT p.id FROM placements p JOIN persons per ON per.id = p.person_id
     WHERE per.dossier_number = p_dossier AND p.municipality = p_muni
     ORDER BY p.housing && daterange(p_month, (p_month + interval '1 month')::date) DESC, p.id DESC
     LIMIT 1 $$;

-- Records one payment with its lines (skipping lines already recorded) and posts it through
-- api.ledger_post: receivable credit per line (or the lump sum), bank debit of the total.
-- Returns (payment id or null, lines inserted, skipped).
CREATE OR REPLACE FUNCTION api.payment_record(p_client bigint, p_muni text, p_paid_on date,
                                              p_amount bigint, p_reference text, p_month date,
                                              p_lines jsonb, p_import bigint,
                                              OUT payment_id bigint, OUT inserted int,
                                              OUT skipped int)
    LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    pay payments;
    total bigint;
    lump boolean := p_lines IS NULL OR jsonb_array_length(p_lines) = 0;
    acct text[];
    pl bigint[];
    mon date[];
    code text[];
    amt bigint[];
BEGIN
    INSERT INTO payments (municipality, paid_on, amount_ore, reference, month, import_id, client_id)
    VALUES (p_muni, p_paid_on, p_amount, p_reference, p_month, p_import, p_client)
    RETURNING * INTO pay;
    inserted := 0;
    skipped := 0;
    IF NOT lump THEN
        WITH ins AS (
            INSERT INTO payment_lines (payment_id, municipality, dossier_number, month, code,
                                       amount_ore, paid_on, reference, placement_id)
            SELECT pay.id, p_muni, nullif(l->>'dossier_number', ''), (l->>'month')::date,
                   l->>'code', (l->>'amount_ore')::bigint, p_paid_on, p_reference,
                   CASE WHEN nullif(l->>'dossier_number', '') IS NOT NULL THEN
                       api.placement_for_line(p_muni, l->>'dossier_number', (l->>'month')::date) END
              FROM jsonb_array_elements(p_lines) l
            ON CONFLICT DO NOTHING
            RETURNING 1)
        SELECT count(*) INTO inserted FROM ins;
        skipped := jsonb_array_length(p_lines) - inserted;
        SELECT coalesce(sum(amount_ore), 0) INTO total FROM payment_lines WHERE payment_id = pay.id;
    ELSE
        total := p_amount;
    END IF;
    payment_id := pay.id;
    WITH p AS (
        SELECT 1 AS part, l.id, 'receivable' AS acct, l.placement_id, l.month, l.code,
               -l.amount_ore AS amt
          FROM payment_lines l WHERE l.payment_id = pay.id AND l.amount_ore <> 0
        UNION ALL
        SELECT 2, 0, 'receivable', NULL, p_month, NULL, -p_amount WHERE lump AND p_amount <> 0
        UNION ALL
        SELECT 3, 0, 'bank', NULL, p_month, NULL, total WHERE total <> 0)
    SELECT array_agg(p.acct ORDER BY p.part, p.id), array_agg(p.placement_id ORDER BY p.part, p.id),
           array_agg(p.month ORDER BY p.part, p.id), array_agg(p.code ORDER BY p.part, p.id),
           array_agg(p.amt ORDER BY p.part, p.id)
      INTO acct, pl, mon, code, amt FROM p;
    IF amt IS NULL THEN
        RETURN; -- nothing to post
    END IF;
    PERFORM api.ledger_post('payment', p_muni, 'payment ' || p_reference || ' paid ' || p_paid_on,
                            NULL, p_client, ARRAY[p_month], array_fill(1, ARRAY[cardinality(amt)]),
                            acct, pl, NULL, mon, code, amt);
END $$;

-- POST /v1/payments
CREATE OR REPLACE FUNCTION api.payment_create(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    muni text := a->>'municipality';
    paid date := (a->>'paid_on')::date;
    amount bigint := (a->>'amount_ore')::bigint;
    lines jsonb := a->'lines';
    m date := coalesce((a->>'month')::date, date_trunc('month', paid - interval '1 month')::date);
    r record;
BEGIN
    PERFORM api.municipality_check(muni);
    IF lines IS NOT NULL AND jsonb_array_length(lines) > 0 THEN
        IF (SELECT sum((l->>'amount_ore')::bigint) FROM jsonb_array_elements(lines) l) <> amount THEN
            PERFORM api.fail(422, 'lines_sum_mismatch', 'the lines must sum to amount_ore', 'lines');
        END IF;
        m := NULL;
    END IF;
    SELECT * INTO r FROM api.payment_record(p_client, muni, paid, amount, a->>'reference', m,
                                            lines, NULL);
    RETURN ROW(201, json_build_object('payment_id', r.payment_id::text, 'municipality', muni,
               'paid_on', paid, 'amount_ore', amount, 'reference', a->>'reference',
               'month', api.month_text(m), 'lines_recorded', r.inserted,
               'lines_skipped', r.skipped)::text,
               NULL)::api.response;
END $$;

-- POST /v1/payments/import: lines already validated by the daemon; a file seen before (by its
-- SHA-256) writes nothing and says so; lines seen before (from any file) are skipped and counted.
CREATE OR REPLACE FUNCTION api.payment_import(p_client bigint, a jsonb) RETURNS api.response
    LANGUAGE plpgsql AS $$
DECLARE
    scope text := rb_scope();
    prev payment_imports;
    imp payment_imports;
    g record;
    r record;
    ins int := 0;
    skip int := 0;
    npay int := 0;
BEGIN
    -- The same file sent twice at once: the second waits here and then sees the first.
    PERFORM pg_advisory_xact_lock(hashtext('reimbursed.import'), hashtext(a->>'sha256'));
    SELECT * INTO prev FROM payment_imports WHERE municipality = scope AND sha256 = a->>'sha256';
    IF FOUND THEN
        RETURN ROW(200, json_build_object('import_id', prev.id::text, 'duplicate_file', true,
                   'lines_total', prev.lines_total, 'lines_imported', 0,
                   'lines_skipped', prev.lines_total, 'first_import_lines_imported',
                   prev.lines_imported,
                   'first_imported_at', api.ts(prev.recorded_at))::text, NULL)::api.response;
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(a->'lines') l
                WHERE NOT EXISTS (SELECT 1 FROM municipalities WHERE code = l->>'municipality')) THEN
        PERFORM api.fail(422, 'invalid_payment_list',
            'the payment list has bad lines; nothing was imported', NULL,
            json_build_object('lines', (SELECT json_agg(json_build_object(
                    'line', (l->>'line')::int, 'field', 'municipality',
                    'message', 'no municipality has this code') ORDER BY (l->>'line')::int)
                  FROM jsonb_array_elements(a->'lines') l
                 WHERE NOT EXISTS (SELECT 1 FROM municipalities WHERE code = l->>'municipality'))));
    END IF;
    -- The import row is written last, with its counts; its id is taken first for the payments.
    imp.id := nextval(pg_get_serial_sequence('payment_imports', 'id'));
    FOR g IN SELECT l->>'municipality' AS muni, (l->>'paid_on')::date AS paid_on,
                    l->>'reference' AS reference, sum((l->>'amount_ore')::bigint)::bigint AS amount,
                    jsonb_agg(l) AS lines
               FROM jsonb_array_elements(a->'lines') l
              GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LOOP
        SELECT * INTO r FROM api.payment_record(p_client, g.muni, g.paid_on, g.amount, g.reference,
                                                NULL::date, g.lines, imp.id);
        ins := ins + r.inserted;
        skip := skip + r.skipped;
        npay := npay + 1;
    END LOOP;
    INSERT INTO payment_imports (id, municipality, sha256, lines_total, lines_imported,
                                 lines_skipped, client_id)
    VALUES (imp.id, scope, a->>'sha256', jsonb_array_length(a->'lines'), ins, skip, p_client);
    RETURN ROW(201, json_build_object('import_id', imp.id::text, 'duplicate_file', false,
               'lines_total', jsonb_array_length(a->'lines'), 'lines_imported', ins,
               'lines_skipped', skip, 'payments', npay)::text,
               NULL)::api.response;
END $$;
