-- The functions the tables use: row-level security's scope (every policy), housing days (the
-- generated column placements.housing and its exclusion constraint) and the trigger functions.
-- This file is applied BEFORE the schema migrations (the others after them), so that a migration
-- can create a table, policy or trigger that uses them. Its bodies are not checked then, so they
-- may name tables a later migration makes. A change here must not change a result already
-- stored (placements.housing is computed when a row is written).

-- The caller's scope for row-level security: a municipality code, '*' for all, unset for none.
CREATE OR REPLACE FUNCTION rb_scope() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('reimbursed.scope', true), '') $$;

-- The trigger of every append-only table: UPDATE, DELETE and TRUNCATE are refused.
CREATE OR REPLACE FUNCTION rb_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- One definition of each rule (issue 14, item 2). The money rules live in daemon/rules/accrual.c
-- (RULES.md §2); SQL keeps only what a constraint or a stored fact needs, each copy named here
-- with its C twin and the test that proves they agree. The bodies are unchanged: this file only
-- states the binding (the integrator folds it into sql/api/).

-- Days in housing (RULES.md §2): [max(moved_in, assigned), min(moved_out, registered)), empty
-- without a move-in. SQL must keep this copy: it is the generated column placements.housing,
-- which the exclusion constraint placements_no_overlap, api.check_overlap, the payments'
-- placement_for_line, the placement list's active_on filter and the accrual run's selection of
-- placements (accrual_run.c: `p.housing && daterange(...)`) all use. C twin:
-- accrual_housing_start/accrual_housing_end in daemon/rules/accrual.c. Bound by the ctest test
-- rules_sql_agree (tests/rules/test_rules_sql.c), which compares the two on every case of
-- tests/unit/housing_cases.h (the rows unit_accrual_cases checks, and every order of the four
-- dates) and the && of every pair with the C ranges' intersection.
CREATE OR REPLACE FUNCTION rb_housing(assigned date, moved_in date, moved_out date, registered date)
    RETURNS daterange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN moved_in IS NULL THEN 'empty'::daterange
        WHEN least(moved_out, registered) IS NOT NULL
             AND least(moved_out, registered) <= greatest(moved_in, assigned) THEN 'empty'::daterange
        ELSE daterange(greatest(moved_in, assigned), least(moved_out, registered), '[)')
    END $$;

-- Once per INSERT statement: every new posting belongs to a journal written in this same
-- transaction, of the same kind and municipality, and the postings each statement adds to a
-- journal sum to zero. Amounts are never zero, so a balanced group has two or more postings.
-- Later transactions cannot add to a journal.
CREATE OR REPLACE FUNCTION rb_postings_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    bad bigint;
BEGIN
    SELECT n.journal_id INTO bad
      FROM new_postings n LEFT JOIN journal j ON j.id = n.journal_id
     WHERE j.id IS NULL OR j.txid <> txid_current() OR j.kind <> n.kind
        OR j.municipality <> n.municipality
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'postings for journal % do not belong to a journal of this transaction', bad
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT journal_id INTO bad FROM new_postings GROUP BY journal_id
    HAVING sum(amount_ore) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal % is not balanced', bad
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

-- At commit, once per journal: it has postings (each statement's share balances, above), and so
-- it balances as a whole. One index probe per journal, not a sum over its postings.
CREATE OR REPLACE FUNCTION rb_journal_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM postings WHERE journal_id = NEW.id) THEN
        RAISE EXCEPTION 'journal % has no postings', NEW.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;

-- Any change to a placement's facts queues it for the next accrual run.
CREATE OR REPLACE FUNCTION rb_placement_dirty() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accrual_dirty (municipality, placement_id) VALUES (NEW.municipality, NEW.id);
    RETURN NULL;
END $$;

-- A new rate row (possibly dated in the past) makes every placement due for recomputation.
CREATE OR REPLACE FUNCTION rb_rates_dirty() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    saved text := rb_scope();
BEGIN
    PERFORM set_config('reimbursed.scope', '*', true);
    INSERT INTO accrual_dirty (municipality, all_placements)
        SELECT code, true FROM municipalities;
    PERFORM set_config('reimbursed.scope', saved, true);
    RETURN NULL;
END $$;
