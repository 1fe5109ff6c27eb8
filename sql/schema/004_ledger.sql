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
-- The ledger's checks and the accrual's dirty marks; their functions are in sql/api/tables.sql.
CREATE TRIGGER postings_check AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION rb_postings_check();
CREATE CONSTRAINT TRIGGER journal_balanced AFTER INSERT ON journal
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rb_journal_balanced();
CREATE TRIGGER placements_dirty AFTER INSERT OR UPDATE ON placements
    FOR EACH ROW EXECUTE FUNCTION rb_placement_dirty();
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
