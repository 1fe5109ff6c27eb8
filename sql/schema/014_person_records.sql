-- sql/014: no cross-municipality oracle through the shared person (issue 16, items 6 and 7).
--
-- Until now the birth date and the former-UAM flag lived on the shared `persons` row, so a
-- municipality learnt another's facts: a create without `former_uam` answered the other
-- municipality's flag, 201 against 409 `person_mismatch` told whether a guessed birth date was
-- right, 409 `person_shared` told that the person was housed elsewhere, and a correction wrote
-- its free-text reason into the other municipality's history (and changed its money).
--
-- Now `persons` is the national identity only (the dossier number: it links the placements for
-- the cross-municipality overlap rule, and its row lock orders every write about the person).
-- What a municipality knows of the person is its own `person_records` row (one per person and
-- municipality, under that municipality's row-level security): its placements show it and the
-- accrual pays from it. A create is compared only with the caller's own record; a correction by
-- a municipality-scoped client changes only its own record and its own placements; a correction
-- with scope '*' (the national level) sets every municipality's record and is shown in the other
-- municipalities' histories as "corrected by another municipality", without client or reason.
-- Every person correction is kept, with its reason, on the person (`person_corrections`).
-- Records that disagree are a conflict for the national level (the view `person_conflicts`,
-- `person_conflict` in placements read with scope '*').

CREATE TABLE person_records (
    person_id    bigint NOT NULL REFERENCES persons,
    municipality char(4) NOT NULL REFERENCES municipalities,
    birth_date   date NOT NULL,
    former_uam   boolean NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, municipality)
);
CREATE INDEX person_records_municipality ON person_records (municipality, person_id);

-- Each municipality's record starts as the person's values of today (the migration runs as the
-- owner, which row-level security binds too: it reads with the national scope).
SELECT set_config('reimbursed.scope', '*', true);
INSERT INTO person_records (person_id, municipality, birth_date, former_uam, created_at)
SELECT DISTINCT ON (p.person_id, p.municipality)
       p.person_id, p.municipality, per.birth_date, per.former_uam, per.created_at
  FROM placements p JOIN persons per ON per.id = p.person_id
 ORDER BY p.person_id, p.municipality;

-- A placement is always paid and shown from its municipality's record of the person: the
-- accrual must never skip a placement for want of one.
ALTER TABLE placements ADD CONSTRAINT placements_person_record
    FOREIGN KEY (person_id, municipality) REFERENCES person_records (person_id, municipality);

-- Every correction of a person's birth date or flag, with its client and reason, made through
-- `placement_id` (of `municipality`); `national` when made with scope '*'.
CREATE TABLE person_corrections (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES persons,
    municipality char(4) NOT NULL,
    placement_id bigint NOT NULL REFERENCES placements,
    national     boolean NOT NULL,
    field        text NOT NULL CHECK (field IN ('birth_date', 'former_uam')),
    value        text NOT NULL,
    reason       text,
    client_id    bigint REFERENCES clients,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_corrections_person ON person_corrections (person_id, id);
CREATE TRIGGER person_corrections_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
    ON person_corrections FOR EACH STATEMENT EXECUTE FUNCTION rb_refuse_change();

ALTER TABLE person_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_records FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON person_records
    USING (rb_scope() = '*' OR municipality = rb_scope()::bpchar)
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope()::bpchar);
ALTER TABLE person_corrections ENABLE ROW LEVEL SECURITY;
ALTER TABLE person_corrections FORCE ROW LEVEL SECURITY;
CREATE POLICY scope ON person_corrections
    USING (rb_scope() = '*' OR municipality = rb_scope()::bpchar)
    WITH CHECK (rb_scope() = '*' OR municipality = rb_scope()::bpchar);

-- The old person lookup compared with the shared values; it has no caller any more.
DROP FUNCTION IF EXISTS api.person_resolve(text, date, boolean);
ALTER TABLE persons DROP COLUMN birth_date, DROP COLUMN former_uam;

GRANT SELECT, INSERT, UPDATE ON person_records TO reimbursed_app;
GRANT SELECT, INSERT ON person_corrections TO reimbursed_app;
