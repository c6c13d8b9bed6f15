-- Patrols of grid members (issue 16): a patrol runs in one grid from its start to its end (by
-- the member, or by the server after the longest a patrol may run: ended_by 'server'); its
-- summary (length, positions, flagged ones) stays when the positions go after their retention
-- (purged_at). One running patrol per person (the partial unique index).
CREATE TABLE patrols (
    id          INTEGER PRIMARY KEY,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    grid        TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    ended_by    TEXT,
    distance_m  REAL NOT NULL,
    positions   INTEGER NOT NULL,
    far         INTEGER NOT NULL,
    implausible INTEGER NOT NULL,
    last_at     INTEGER,
    last_lat    REAL,
    last_lon    REAL,
    purged_at   INTEGER
);
CREATE UNIQUE INDEX patrols_running ON patrols (person_id) WHERE ended_at IS NULL;
CREATE INDEX patrols_person ON patrols (person_id, started_at);
CREATE INDEX patrols_grid ON patrols (grid, started_at);

-- The positions a phone sampled (personal data, deleted after server.patrols.positions_days):
-- one per patrol and instant, so that a batch sent twice is stored once. far: farther outside
-- the grid than allowed; implausible: reached too fast from the one before. Kept, never dropped.
CREATE TABLE patrol_positions (
    id          INTEGER PRIMARY KEY,
    patrol_id   INTEGER NOT NULL REFERENCES patrols(id),
    at          INTEGER NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    accuracy_m  REAL NOT NULL,
    outside_m   REAL NOT NULL,
    far         BOOLEAN NOT NULL,
    implausible BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX patrol_positions_at ON patrol_positions (patrol_id, at);

-- Monthly patrol quota of the grid members of a region (a grid, a community, a street, a
-- district): the nearest region above a member's grid that has one decides; else the config's.
CREATE TABLE patrol_quotas (
    region     TEXT PRIMARY KEY,
    hours      INTEGER NOT NULL,
    visits     INTEGER NOT NULL,
    set_by     INTEGER NOT NULL REFERENCES people(id),
    set_at     INTEGER NOT NULL
);
