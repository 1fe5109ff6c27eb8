-- The money: effective-dated rates, allocation decisions, the double-entry ledger (journal and
-- postings, append-only and balanced per journal), accrual runs and the queue of placements whose
-- facts changed since they were last accrued.

CREATE TABLE rates (
    code        text NOT NULL CHECK (code IN ('ALLOCATION_PLACE', 'MOVE_IN', 'DAY_CHILD',
                                              'DAY_ADULT', 'DAY_FORMER_UAM')),
    valid_from  date NOT NULL,
    amount_ore  bigint CHECK (amount_ore IS NULL OR amount_ore >= 0), -- null ends the rate
    note        text,
    client_id   bigint REFERENCES clients,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, valid_from)
);
CREATE TRIGGER rates_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON rates FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();

INSERT INTO rates (code, valid_from, amount_ore, note) VALUES
    ('ALLOCATION_PLACE', '2022-03-04', 0, 'directive in force; no compensation yet'),
    ('MOVE_IN',          '2022-03-04', 0, 'directive in force; no compensation yet'),
    ('DAY_CHILD',        '2022-03-04', 0, 'directive in force; no compensation yet'),
    ('DAY_ADULT',        '2022-03-04', 0, 'directive in force; no compensation yet'),
    ('DAY_FORMER_UAM',   '2022-03-04', 0, 'directive in force; no compensation yet'),
    ('ALLOCATION_PLACE', '2022-07-01', 1000000, '10 000 SEK per place'),
    ('MOVE_IN',          '2022-07-01', 1500000, '15 000 SEK per move-in'),
    ('DAY_CHILD',        '2022-07-01',   15000, '150 SEK per day under 18'),
    ('DAY_ADULT',        '2022-07-01',   30000, '300 SEK per day from 18'),
    ('DAY_FORMER_UAM',   '2022-07-01',   40000, '400 SEK per day from 18, former UAM');

CREATE TABLE allocations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality   char(4) NOT NULL REFERENCES municipalities,
    year           int NOT NULL CHECK (year BETWEEN 2022 AND 2100),
    places         int NOT NULL CHECK (places >= 0),
    decided_on     date NOT NULL,
    accrued_places int NOT NULL CHECK (accrued_places >= 0),
    client_id      bigint REFERENCES clients,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocations_municipality ON allocations (municipality, year, decided_on, id);
CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON allocations FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();

CREATE TABLE accrual_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    through      date NOT NULL,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    client_id    bigint REFERENCES clients,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    lines_posted bigint,
    result       jsonb
);

-- Per municipality: the day its ledger has been accrued through.
CREATE TABLE accrual_state (
    municipality char(4) PRIMARY KEY REFERENCES municipalities,
    through      date NOT NULL,
    run_id       bigint NOT NULL REFERENCES accrual_runs,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Placements whose facts changed since their last accrual (all_placements: a rate changed).
-- A run reads the ids, then the facts, then deletes exactly the ids it read.
CREATE TABLE accrual_dirty (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality   char(4) NOT NULL,
    placement_id   bigint,
    all_placements boolean NOT NULL DEFAULT false,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accrual_dirty_municipality ON accrual_dirty (municipality, id);

CREATE TABLE journal (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('accrual', 'payment')),
    cause           text NOT NULL,
    run_id          bigint REFERENCES accrual_runs,
    idempotency_key text,
    municipality    char(4) NOT NULL REFERENCES municipalities,
    service_month   date CHECK (service_month = date_trunc('month', service_month)),
    client_id       bigint REFERENCES clients,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    txid            bigint NOT NULL DEFAULT txid_current()
);
CREATE INDEX journal_municipality ON journal (municipality, id);

-- No foreign key to journal: a per-row check would run millions of times per accrual run; the
-- statement-level trigger below checks every new posting's journal once per statement instead.
CREATE TABLE postings (
    journal_id    bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    kind          text NOT NULL CHECK (kind IN ('accrual', 'payment')),
    account       text NOT NULL CHECK (account IN ('receivable', 'compensation', 'bank', 'reclaim')),
    municipality  char(4) NOT NULL,
    placement_id  bigint,
    allocation_id bigint,
    month         date,
    code          text,
    amount_ore    bigint NOT NULL CHECK (amount_ore <> 0),
    PRIMARY KEY (journal_id, id)
);
CREATE INDEX postings_municipality ON postings (municipality, id);
CREATE INDEX postings_placement ON postings (placement_id) WHERE placement_id IS NOT NULL;
CREATE INDEX postings_allocation ON postings (allocation_id) WHERE allocation_id IS NOT NULL;

CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON journal FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON postings FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();

-- Once per INSERT statement: every new posting belongs to a journal written in this same
-- transaction, of the same kind and municipality, and the postings each statement adds to a
-- journal sum to zero. Amounts are never zero, so a balanced group has two or more postings.
-- Later transactions cannot add to a journal.
CREATE FUNCTION rb_postings_check() RETURNS trigger
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
CREATE TRIGGER postings_check AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION rb_postings_check();

-- At commit, once per journal: it has postings (each statement's share balances, above), and so
-- it balances as a whole. One index probe per journal, not a sum over its postings.
CREATE FUNCTION rb_journal_balanced() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM postings WHERE journal_id = NEW.id) THEN
        RAISE EXCEPTION 'journal % has no postings', NEW.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_balanced AFTER INSERT ON journal
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rb_journal_balanced();

-- Any change to a placement's facts queues it for the next accrual run.
CREATE FUNCTION rb_placement_dirty() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accrual_dirty (municipality, placement_id) VALUES (NEW.municipality, NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER placements_dirty AFTER INSERT OR UPDATE ON placements
    FOR EACH ROW EXECUTE FUNCTION rb_placement_dirty();

-- A new rate row (possibly dated in the past) makes every placement due for recomputation.
CREATE FUNCTION rb_rates_dirty() RETURNS trigger
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
CREATE TRIGGER rates_dirty AFTER INSERT ON rates
    FOR EACH STATEMENT EXECUTE FUNCTION rb_rates_dirty();

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['allocations', 'accrual_state', 'accrual_dirty', 'journal', 'postings']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY scope ON %I USING (rb_scope() = ''*'' OR municipality = rb_scope()::bpchar)
                        WITH CHECK (rb_scope() = ''*'' OR municipality = rb_scope()::bpchar)', t);
    END LOOP;
END $$;

GRANT SELECT, INSERT ON rates, allocations, journal, postings TO reimbursed_app;
GRANT SELECT, INSERT, UPDATE ON accrual_runs, accrual_state TO reimbursed_app;
GRANT SELECT, INSERT, DELETE ON accrual_dirty TO reimbursed_app;
