-- Field inspections (issue 16): check lists per kind of place or house, each version kept as it
-- was written (items: JSON, immutable once an inspection answered it); the plan (how often each
-- kind is inspected at each risk level) and when each place or house is next due; inspections
-- item by item; the hazards they found (each a case of kind hazard; open while its case is).
CREATE TABLE checklists (
    id         INTEGER PRIMARY KEY,
    subject    TEXT NOT NULL CHECK (subject IN ('place', 'house')),
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    retired_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX checklists_current ON checklists (subject, kind) WHERE retired_at IS NULL;

CREATE TABLE checklist_versions (
    checklist_id INTEGER NOT NULL REFERENCES checklists(id),
    version      INTEGER NOT NULL,
    items        TEXT NOT NULL,
    created_by   INTEGER REFERENCES people(id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (checklist_id, version)
);

CREATE TABLE inspection_plan (
    subject    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    risk       TEXT NOT NULL,
    every_days INTEGER NOT NULL CHECK (every_days BETWEEN 1 AND 3650),
    PRIMARY KEY (subject, kind, risk)
);

-- One row per planned place or house: when it is next due (the end of a working day).
CREATE TABLE inspection_due (
    subject    TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    grid       TEXT NOT NULL,
    every_days INTEGER NOT NULL,
    last_at    INTEGER,
    due_at     INTEGER NOT NULL,
    PRIMARY KEY (subject, subject_id)
);
CREATE INDEX inspection_due_grid ON inspection_due (grid, due_at);

CREATE TABLE inspections (
    id                INTEGER PRIMARY KEY,
    subject           TEXT NOT NULL,
    subject_id        INTEGER NOT NULL,
    grid              TEXT NOT NULL,
    checklist_id      INTEGER NOT NULL,
    checklist_version INTEGER NOT NULL,
    kind              TEXT NOT NULL,
    inspector         INTEGER NOT NULL REFERENCES people(id),
    at                INTEGER NOT NULL,
    lat               REAL,
    lon               REAL,
    accuracy_m        REAL,
    distance_m        REAL,
    far               BOOLEAN NOT NULL,
    passed            INTEGER NOT NULL,
    failed            INTEGER NOT NULL,
    not_applicable    INTEGER NOT NULL,
    note              TEXT,
    -- The phone's own key for the inspection: sent again after a lost answer, it is found, not
    -- written twice.
    client_key        TEXT,
    FOREIGN KEY (checklist_id, checklist_version) REFERENCES checklist_versions (checklist_id, version)
);
CREATE INDEX inspections_subject ON inspections (subject, subject_id, at);
CREATE INDEX inspections_grid ON inspections (grid, at);
CREATE INDEX inspections_inspector ON inspections (inspector, at);
CREATE UNIQUE INDEX inspections_client_key ON inspections (inspector, client_key) WHERE client_key IS NOT NULL;

-- hazard_case: the hazard this answer opened (a failure) or judged (a re-inspection).
CREATE TABLE inspection_results (
    inspection_id INTEGER NOT NULL REFERENCES inspections(id),
    item          TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('pass', 'fail', 'not_applicable')),
    note          TEXT,
    photos        TEXT NOT NULL,
    hazard_case   INTEGER REFERENCES cases(id),
    PRIMARY KEY (inspection_id, item)
);
CREATE INDEX inspection_results_hazard ON inspection_results (hazard_case) WHERE hazard_case IS NOT NULL;

CREATE TABLE hazards (
    case_id      INTEGER PRIMARY KEY REFERENCES cases(id),
    subject      TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    checklist_id INTEGER NOT NULL REFERENCES checklists(id),
    item         TEXT NOT NULL,
    severity     TEXT NOT NULL,
    found_by     INTEGER NOT NULL REFERENCES inspections(id),
    found_at     INTEGER NOT NULL
);
CREATE INDEX hazards_subject ON hazards (subject, subject_id, found_at);
