-- Special rectification campaigns (专项整治, issue 16): a named campaign over a region for a
-- period selects places by kind and risk level (kinds, risks: JSON arrays; risks empty = every
-- level) and/or rental houses, with the check list in force for each kind (checklists: JSON
-- {"place:shop": id}); one task per place or house selected, due by due_at; a task is done by
-- the first inspection of its subject made while the campaign runs (inspection_id, inspected_at,
-- failed), which is linked to the campaign (inspections.campaign_id).
CREATE TABLE campaigns (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    region       TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL,
    kinds        TEXT NOT NULL,
    risks        TEXT NOT NULL,
    houses       BOOLEAN NOT NULL,
    checklists   TEXT NOT NULL,
    created_by   INTEGER NOT NULL REFERENCES people(id),
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    closed_by    INTEGER REFERENCES people(id),
    close_reason TEXT,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX campaigns_region ON campaigns (region, starts_at);

CREATE TABLE campaign_tasks (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
    subject       TEXT NOT NULL CHECK (subject IN ('place', 'house')),
    subject_id    INTEGER NOT NULL,
    grid          TEXT NOT NULL,
    due_at        INTEGER NOT NULL,
    inspection_id INTEGER REFERENCES inspections(id),
    inspected_at  INTEGER,
    -- Its inspection failed an item (the board counts without reading the inspections).
    failed        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (campaign_id, subject, subject_id)
);
-- The open tasks of a subject (found by each inspection), and of a grid (the task list).
CREATE INDEX campaign_tasks_open ON campaign_tasks (subject, subject_id) WHERE inspection_id IS NULL;
CREATE INDEX campaign_tasks_grid ON campaign_tasks (grid, due_at) WHERE inspection_id IS NULL;

ALTER TABLE inspections ADD COLUMN campaign_id INTEGER REFERENCES campaigns(id);
CREATE INDEX inspections_campaign ON inspections (campaign_id) WHERE campaign_id IS NOT NULL;
-- The hazards an inspection opened (the campaign board).
CREATE INDEX hazards_found_by ON hazards (found_by);
