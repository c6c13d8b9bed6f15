-- Intelligent triage (issue 19): the trained category models, and the suggestion made for each
-- case, so that production accuracy is a measure.

-- A model as `gridkeeper_triage::Model::to_bytes` writes it (format version and checksum
-- inside), with the tally of departments per category and grid (JSON). The newest is in use; the
-- server keeps the last few.
CREATE TABLE triage_models (
    id          INTEGER PRIMARY KEY,
    trained_at  INTEGER NOT NULL,
    trained_by  INTEGER REFERENCES people(id),
    examples    INTEGER NOT NULL,
    format      INTEGER NOT NULL,
    model       BLOB NOT NULL,
    departments TEXT NOT NULL
);

-- The first suggestion shown for a case: its three most probable categories and the department
-- suggested for the first. Whether it was taken is read from the case itself (its category and
-- lead department once decided).
CREATE TABLE triage_suggestions (
    case_id    INTEGER PRIMARY KEY REFERENCES cases(id),
    at         INTEGER NOT NULL,
    model_id   INTEGER NOT NULL,
    first      INTEGER NOT NULL,
    second     INTEGER,
    third      INTEGER,
    probability REAL NOT NULL,
    department INTEGER
);
CREATE INDEX triage_suggestions_at ON triage_suggestions(at);
