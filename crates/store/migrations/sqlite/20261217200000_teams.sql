-- The five teams (五支队伍, issue 16): party workers, grid members, auxiliary police, security
-- guards and volunteers of a grid or a community. A membership has a period (joined, left_on:
-- local dates YYYY-MM-DD; current while left_on is NULL), duties (patrol,inspect,report) and at
-- most one current leader per team. Volunteers log service hours for a day; the team's leader or a
-- grid leader confirms (the points earned, their ledger entry) or refuses them (with a reason).
CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES people(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX teams_region ON teams (region, id);

CREATE TABLE team_members (
    id        INTEGER PRIMARY KEY,
    team_id   INTEGER NOT NULL REFERENCES teams(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    duties    TEXT NOT NULL,
    leader    BOOLEAN NOT NULL,
    joined    TEXT NOT NULL,
    left_on   TEXT,
    added_by  INTEGER NOT NULL REFERENCES people(id),
    added_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX team_members_current ON team_members (team_id, person_id) WHERE left_on IS NULL;
CREATE UNIQUE INDEX team_members_leader ON team_members (team_id) WHERE leader AND left_on IS NULL;
CREATE INDEX team_members_person ON team_members (person_id, team_id);

CREATE TABLE service_logs (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    day        TEXT NOT NULL,
    hours      INTEGER NOT NULL,
    what       TEXT NOT NULL,
    region     TEXT NOT NULL,
    place_id   INTEGER REFERENCES places(id),
    state      TEXT NOT NULL,
    logged_at  INTEGER NOT NULL,
    decided_by INTEGER REFERENCES people(id),
    decided_at INTEGER,
    reason     TEXT,
    points     INTEGER,
    ledger_id  INTEGER REFERENCES point_ledger(id)
);
CREATE INDEX service_logs_team ON service_logs (team_id, day);
CREATE INDEX service_logs_person ON service_logs (person_id, day);
CREATE INDEX service_logs_pending ON service_logs (team_id, id) WHERE state = 'pending';
