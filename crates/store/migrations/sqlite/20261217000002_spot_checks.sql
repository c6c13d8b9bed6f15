-- Social units inspect their own place (inspections of kind self); a share of their
-- self-inspections is picked for a grid member's spot check (issue 16). A spot check that fails an
-- item the unit passed contradicts the self-inspection: its items are kept here.
CREATE TABLE spot_checks (
    self_inspection INTEGER PRIMARY KEY REFERENCES inspections(id),
    subject         TEXT NOT NULL,
    subject_id      INTEGER NOT NULL,
    grid            TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    checked_by      INTEGER REFERENCES inspections(id),
    contradicted    TEXT
);
CREATE INDEX spot_checks_pending ON spot_checks (grid, due_at) WHERE checked_by IS NULL;
CREATE INDEX spot_checks_subject ON spot_checks (subject, subject_id);
