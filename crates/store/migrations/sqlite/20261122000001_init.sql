-- gridkeeper schema, SQLite. Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE regions (
    code       TEXT PRIMARY KEY,
    parent     TEXT REFERENCES regions(code),
    level      TEXT NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
    name       TEXT NOT NULL,
    name_en    TEXT,
    geometry   TEXT,               -- GeoJSON geometry, WGS-84
    retired_at INTEGER
);
CREATE INDEX regions_parent ON regions(parent);

CREATE TABLE platforms (
    id      INTEGER PRIMARY KEY,
    code    TEXT NOT NULL UNIQUE,
    name    TEXT NOT NULL,
    name_en TEXT NOT NULL
);

CREATE TABLE departments (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    platform_id INTEGER NOT NULL REFERENCES platforms(id),
    kind        TEXT NOT NULL CHECK (kind IN ('government', 'community_team', 'outside_party')),
    region      TEXT
);

CREATE TABLE categories (
    id                     INTEGER PRIMARY KEY,
    code                   TEXT NOT NULL UNIQUE,
    name                   TEXT NOT NULL,
    name_en                TEXT NOT NULL,
    kind                   TEXT NOT NULL CHECK (kind IN ('component', 'event')),
    parent_id              INTEGER REFERENCES categories(id),
    default_department     INTEGER REFERENCES departments(id),
    public                 INTEGER NOT NULL,
    routine_hours          INTEGER NOT NULL,
    urgent_hours           INTEGER NOT NULL,
    emergency_hours        INTEGER NOT NULL,
    duplicate_radius_m     INTEGER NOT NULL,
    duplicate_window_hours INTEGER NOT NULL
);

CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    phone         TEXT,
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE grants (
    person_id   INTEGER NOT NULL REFERENCES people(id),
    role        TEXT NOT NULL,
    scope_type  TEXT NOT NULL CHECK (scope_type IN ('region', 'department', 'place')),
    scope_value TEXT NOT NULL,
    PRIMARY KEY (person_id, role, scope_type, scope_value)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Next case number per district and year, taken inside the transaction that stores the case.
CREATE TABLE case_counters (
    district TEXT NOT NULL,
    year     INTEGER NOT NULL,
    last     INTEGER NOT NULL,
    PRIMARY KEY (district, year)
);

-- The projection of each case's events.
CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    version            INTEGER NOT NULL,
    state              TEXT NOT NULL,
    district           TEXT NOT NULL,
    grid               TEXT,
    scope_region       TEXT NOT NULL,     -- grid, or district when outside every grid
    lat                REAL,
    lon                REAL,
    address            TEXT,
    description        TEXT NOT NULL,
    source             TEXT NOT NULL,
    reporter           INTEGER REFERENCES people(id),
    anonymous          INTEGER NOT NULL,
    suggested_category INTEGER,
    category           INTEGER REFERENCES categories(id),
    category_kind      TEXT,
    public             INTEGER NOT NULL,
    urgency            TEXT NOT NULL,
    lead_department    INTEGER REFERENCES departments(id),
    co_departments     TEXT NOT NULL,     -- JSON array of ids; also in case_departments
    reported_at        INTEGER NOT NULL,
    accepted_at        INTEGER,
    dispatched_at      INTEGER,
    signed_at          INTEGER,
    resolved_at        INTEGER,
    verified_at        INTEGER,
    closed_at          INTEGER,
    handle_within      INTEGER,
    handle_by          INTEGER,
    due_at             INTEGER,
    extension_request  TEXT,              -- JSON
    returns            INTEGER NOT NULL,
    reworks            INTEGER NOT NULL,
    extensions         INTEGER NOT NULL,
    reopens            INTEGER NOT NULL,
    supervisions       INTEGER NOT NULL,
    rating             INTEGER,
    rating_comment     TEXT,
    on_the_spot        INTEGER NOT NULL,
    rejection          TEXT,
    duplicate_of       INTEGER REFERENCES cases(id),
    updated_at         INTEGER NOT NULL,
    tracking_hash      TEXT UNIQUE
);
CREATE INDEX cases_reported ON cases(reported_at DESC, id DESC);
CREATE INDEX cases_state ON cases(state, reported_at DESC, id DESC);
CREATE INDEX cases_scope ON cases(scope_region, reported_at DESC);
CREATE INDEX cases_category ON cases(category, reported_at DESC);
CREATE INDEX cases_due ON cases(due_at) WHERE state NOT IN ('closed', 'rated', 'rejected');
CREATE INDEX cases_lat ON cases(category, lat) WHERE state NOT IN ('closed', 'rated', 'rejected');
CREATE INDEX cases_duplicate_of ON cases(duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX cases_reporter ON cases(reporter, reported_at DESC);

-- Lead and co-departments of each case, for the department filter and scope.
CREATE TABLE case_departments (
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    lead          INTEGER NOT NULL,
    PRIMARY KEY (department_id, case_id)
) WITHOUT ROWID;

-- The append-only history. The case row is its projection.
CREATE TABLE case_events (
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    seq        INTEGER NOT NULL,
    action     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    actor      INTEGER REFERENCES people(id),
    from_state TEXT,
    to_state   TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;

CREATE TRIGGER case_events_append_only_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are append-only'); END;
CREATE TRIGGER case_events_append_only_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case events are append-only'); END;

CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    case_id      INTEGER REFERENCES cases(id),
    content_type TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    object_key   TEXT NOT NULL,
    thumb_key    TEXT NOT NULL,
    gps_lat      REAL,
    gps_lon      REAL,
    uploaded_by  INTEGER REFERENCES people(id),
    created_at   INTEGER NOT NULL
);
CREATE INDEX media_case ON media(case_id);
