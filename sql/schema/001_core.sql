-- Core schema: municipalities, clients, persons, placements (a projection of append-only events),
-- idempotency keys, and row-level security keyed on the transaction-local `reimbursed.scope`.
-- Runs as the owner role. The daemon's role is `reimbursed_app` (or a member of it).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reimbursed_app') THEN
        RAISE EXCEPTION 'role reimbursed_app must exist before migrating (see README)';
    END IF;
END $$;

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE SCHEMA IF NOT EXISTS api;

CREATE TABLE municipalities (
    code        char(4) PRIMARY KEY CHECK (code ~ '^[0-9]{4}$'),
    name        text NOT NULL,
    county_code char(2) NOT NULL,
    county_name text NOT NULL
);

CREATE TABLE clients (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    role         text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    scope        text NOT NULL CHECK (scope = '*' OR scope ~ '^[0-9]{4}$'),
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE persons (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dossier_number text NOT NULL UNIQUE,
    birth_date     date NOT NULL,
    former_uam     boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE placements (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id       bigint NOT NULL REFERENCES persons,
    municipality    char(4) NOT NULL REFERENCES municipalities,
    assigned_on     date NOT NULL,
    moved_in_on     date,
    moved_out_on    date,
    move_out_reason text CHECK (move_out_reason IN ('other_municipality', 'left_country',
                                'own_housing', 'registered', 'deceased', 'other')),
    registered_on   date,
    housing         daterange GENERATED ALWAYS AS
                        (rb_housing(assigned_on, moved_in_on, moved_out_on, registered_on)) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (moved_out_on IS NULL OR moved_in_on IS NULL OR moved_out_on >= moved_in_on),
    CONSTRAINT placements_no_overlap EXCLUDE USING gist (person_id WITH =, housing WITH &&)
);
CREATE INDEX placements_person ON placements (person_id);
CREATE INDEX placements_municipality ON placements (municipality, id);

-- Facts, append-only. `effective` is valid time, `recorded_at` transaction time.
CREATE TABLE placement_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    placement_id bigint NOT NULL REFERENCES placements,
    municipality char(4) NOT NULL,
    type         text NOT NULL CHECK (type IN ('assigned', 'moved_in', 'moved_out', 'correction')),
    effective    date,
    field        text,
    value        text,
    reason       text,
    client_id    bigint REFERENCES clients,
    show_client  boolean NOT NULL DEFAULT true, -- false in other municipalities' histories
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX placement_events_placement ON placement_events (placement_id, id);
CREATE TRIGGER placement_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON placement_events FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();

CREATE TABLE idempotency_keys (
    client_id      bigint NOT NULL REFERENCES clients,
    key            text NOT NULL,
    municipality   text NOT NULL,
    request_sha256 text NOT NULL,
    status         int,
    body           text,
    location       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Row-level security: rows of another municipality do not exist for a scoped caller.
ALTER TABLE placements ENABLE ROW LEVEL SECURITY;
ALTER TABLE placements FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON placements
    USING (rb_scope() = '*' OR municipality = rb_scope()::bpchar)
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope()::bpchar);

ALTER TABLE placement_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE placement_events FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON placement_events
    USING (rb_scope() = '*' OR municipality = rb_scope()::bpchar)
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope()::bpchar);

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON idempotency_keys
    USING (rb_scope() = '*' OR municipality = rb_scope())
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope());

-- A person is visible through a placement in scope.
ALTER TABLE persons ENABLE ROW LEVEL SECURITY;
ALTER TABLE persons FORCE ROW LEVEL SECURITY;
CREATE POLICY scope_read ON persons FOR SELECT
    USING (rb_scope() = '*' OR EXISTS (SELECT 1 FROM placements p WHERE p.person_id = persons.id));
CREATE POLICY scope_insert ON persons FOR INSERT WITH CHECK (rb_scope() <> '');
CREATE POLICY scope_update ON persons FOR UPDATE
    USING (rb_scope() = '*' OR EXISTS (SELECT 1 FROM placements p WHERE p.person_id = persons.id));

GRANT USAGE ON SCHEMA public, api TO reimbursed_app;
GRANT SELECT ON municipalities, clients TO reimbursed_app;
GRANT SELECT, INSERT, UPDATE ON persons, placements TO reimbursed_app;
GRANT SELECT, INSERT ON placement_events TO reimbursed_app;
GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO reimbursed_app;
