-- The one writer of the ledger (issue 14, item 3). Every journal and every posting — an accrual
-- run's differences, a payment (manual or imported), later write-offs and reversals — is written
-- by api.ledger_post and by nothing else; tests/sql/ledger_writer_check.py fails the build's
-- tests when another function or a C file inserts into journal or postings.
--
-- One call writes a batch: the journals of one municipality and kind (an accrual run writes one
-- journal per service month of a municipality in one call; a payment writes one), and their
-- postings as parallel arrays, each posting naming its journal by its 1-based place in p_months.
-- Before it writes, it checks what the ledger's rules say of every batch:
--   * kind: 'accrual' (written by a run: p_run names it) or 'payment' (p_run null);
--   * account: accrual postings are receivable or compensation, payment postings receivable or
--     bank;
--   * balance: every journal has postings and they sum to zero (exactly, in numeric);
--   * municipality: journals and postings take p_muni, so they cannot disagree (row-level security
--     keeps it in the caller's scope);
--   * period: every month is a first of month; a journal with a service month holds postings of
--     that month only; an accrual posts no month after the month that holds its run's `through`
--     (the ledger has no closed periods: a late correction is a new posting in its own month);
--   * amounts: never zero, |amount| <= 2·10^16 öre (the largest payment list's total).
-- The table triggers of 004 (balanced per statement, journal of this transaction, not empty at
-- commit) stay as the last line of defence. Returns the journal ids in p_months order.
CREATE OR REPLACE FUNCTION api.ledger_post(p_kind text, p_muni text, p_cause text, p_run bigint,
                                           p_client bigint, p_months date[], p_journal int[],
                                           p_account text[], p_placement bigint[],
                                           p_allocation bigint[], p_month date[], p_code text[],
                                           p_amount bigint[]) RETURNS bigint[]
    LANGUAGE plpgsql AS $$
DECLARE
    nj int := coalesce(cardinality(p_months), 0);
    n int := coalesce(cardinality(p_amount), 0);
    accounts text[] := CASE p_kind WHEN 'accrual' THEN '{receivable,compensation}'::text[]
                                   ELSE '{receivable,bank}'::text[] END;
    bound constant bigint := 20000000000000000; -- 2·10^16 öre: the largest payment list's total
    last_month date;
    groups bigint;
    bad jsonb;
    ids bigint[];
BEGIN
    IF p_kind IS NULL OR p_kind NOT IN ('accrual', 'payment') THEN
        RAISE EXCEPTION 'ledger_post: unknown kind %', p_kind USING ERRCODE = 'check_violation';
    END IF;
    IF (p_kind = 'accrual') <> (p_run IS NOT NULL) THEN
        RAISE EXCEPTION 'ledger_post: an accrual journal belongs to a run, a payment journal to none'
            USING ERRCODE = 'check_violation';
    END IF;
    IF nj = 0 OR n = 0 OR coalesce(cardinality(p_journal), 0) <> n
       OR coalesce(cardinality(p_account), 0) <> n OR coalesce(cardinality(p_month), 0) <> n
       OR coalesce(cardinality(p_placement), n) <> n OR coalesce(cardinality(p_allocation), n) <> n
       OR coalesce(cardinality(p_code), n) <> n THEN
        RAISE EXCEPTION 'ledger_post: % journals and % postings, with arrays of unequal length',
            nj, n USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_months) m WHERE m <> date_trunc('month', m)) THEN
        RAISE EXCEPTION 'ledger_post: a service month is not the first of a month'
            USING ERRCODE = 'check_violation';
    END IF;
    IF p_kind = 'accrual' THEN
        SELECT date_trunc('month', r.through)::date INTO last_month
          FROM accrual_runs r WHERE r.id = p_run;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger_post: no accrual run %', p_run USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    -- One pass over the postings, one group per journal: how many journals have postings, and
    -- those that break a rule (every test is coalesced: bool_and would skip a null).
    SELECT count(*) FILTER (WHERE g.j BETWEEN 1 AND nj),
           jsonb_agg(to_jsonb(g) ORDER BY g.j) FILTER (WHERE g.j IS NULL OR g.j NOT BETWEEN 1 AND nj
               OR g.total <> 0 OR NOT (g.account_ok AND g.amount_ok AND g.month_ok AND g.through_ok))
      INTO groups, bad
      FROM (SELECT t.j, coalesce(sum(t.amt), 0) AS total,
                   bool_and(coalesce(t.acct = ANY (accounts), false)) AS account_ok,
                   bool_and(coalesce(t.amt <> 0 AND t.amt BETWEEN -bound AND bound, false))
                       AS amount_ok,
                   bool_and(CASE WHEN t.m IS NULL THEN p_months[t.j] IS NULL
                                 WHEN p_months[t.j] IS NOT NULL THEN t.m = p_months[t.j]
                                 ELSE t.m = date_trunc('month', t.m) END) AS month_ok,
                   bool_and(coalesce(last_month IS NULL OR t.m <= last_month, false)) AS through_ok
              FROM unnest(p_journal, p_account, p_month, p_amount) AS t(j, acct, m, amt)
             GROUP BY t.j) g;
    IF bad IS NOT NULL THEN
        bad := bad->0;
        RAISE EXCEPTION 'ledger_post: journal % of % (%): %', bad->>'j', nj, p_cause,
            CASE WHEN (bad->>'j') IS NULL OR (bad->>'j')::int NOT BETWEEN 1 AND nj
                     THEN 'no such journal'
                 WHEN (bad->>'total')::numeric <> 0 THEN 'not balanced (' || (bad->>'total') || ' öre)'
                 WHEN NOT (bad->>'account_ok')::boolean THEN 'an account not of a ' || p_kind || ' journal'
                 WHEN NOT (bad->>'amount_ok')::boolean THEN 'an amount zero or out of bounds'
                 WHEN NOT (bad->>'month_ok')::boolean
                     THEN 'a month not the first of a month, or not the journal''s service month'
                 ELSE 'a month after the month of the run''s through' END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF groups <> nj THEN
        RAISE EXCEPTION 'ledger_post: % of % journals (%) have postings', groups, nj, p_cause
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    -- Identities are drawn in the order of the rows, so ordering by id is p_months' order.
    WITH ins AS (
        INSERT INTO journal (kind, cause, run_id, municipality, service_month, client_id)
        SELECT p_kind, p_cause, p_run, p_muni, m, p_client FROM unnest(p_months) AS m
        RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO ids FROM ins;
    INSERT INTO postings (journal_id, kind, account, municipality, placement_id, allocation_id,
                          month, code, amount_ore)
    SELECT ids[t.j], p_kind, t.acct, p_muni, t.p, t.al, t.m, t.c, t.amt
      FROM unnest(p_journal, p_account, p_placement, p_allocation, p_month, p_code, p_amount)
           AS t(j, acct, p, al, m, c, amt);
    RETURN ids;
END $$;

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
