-- Points and rewards (积分, issue 17): an append-only ledger per person, the rules that feed it,
-- a catalogue of rewards with stock, their redemptions, and commendations.

-- The rules of points (JSON of gridkeeper_domain::points::PointRules); one row, absent until an
-- admin sets them (the defaults apply meanwhile).
CREATE TABLE point_rules (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    rules      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES people(id)
);

-- A person's balance (the sum of their ledger entries, kept with each entry in its transaction)
-- and whether they show their name on the leaderboard. A redemption locks this row.
CREATE TABLE point_accounts (
    person_id      INTEGER PRIMARY KEY REFERENCES people(id),
    balance        INTEGER NOT NULL DEFAULT 0,
    on_leaderboard BOOLEAN NOT NULL DEFAULT FALSE
);

-- The ledger: append-only (triggers refuse UPDATE and DELETE); a correction is a new entry.
-- `day` is the local day (UTC+8) of `at`, for the daily cap; `region` is where the points were
-- earned (the case's grid, the grid of an award) or spent (the reward's region); `case_id` and
-- `seq` name the case event that earned or reversed them.
CREATE TABLE point_ledger (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id),
    kind          TEXT NOT NULL,
    points        INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    region        TEXT,
    case_id       INTEGER REFERENCES cases(id),
    seq           INTEGER,
    redemption_id INTEGER,
    actor         INTEGER REFERENCES people(id),
    note          TEXT
);
CREATE INDEX point_ledger_person ON point_ledger(person_id, id);
CREATE INDEX point_ledger_person_day ON point_ledger(person_id, day);
CREATE INDEX point_ledger_case ON point_ledger(case_id) WHERE case_id IS NOT NULL;
CREATE INDEX point_ledger_region ON point_ledger(region, at);
CREATE TRIGGER point_ledger_append_only_update BEFORE UPDATE ON point_ledger
BEGIN SELECT RAISE(ABORT, 'the ledger of points is append-only'); END;
CREATE TRIGGER point_ledger_append_only_delete BEFORE DELETE ON point_ledger
BEGIN SELECT RAISE(ABORT, 'the ledger of points is append-only'); END;

-- The catalogue: each reward is handed over in a region (a community or grid).
CREATE TABLE rewards (
    id          INTEGER PRIMARY KEY,
    region      TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_en     TEXT,
    description TEXT,
    cost        INTEGER NOT NULL CHECK (cost > 0),
    stock       INTEGER NOT NULL CHECK (stock >= 0),
    active      BOOLEAN NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX rewards_region ON rewards(region);

-- A reward redeemed: pending until staff hand it over, or cancelled (points and stock back).
CREATE TABLE redemptions (
    id          INTEGER PRIMARY KEY,
    reward_id   INTEGER NOT NULL REFERENCES rewards(id),
    person_id   INTEGER NOT NULL REFERENCES people(id),
    region      TEXT NOT NULL,
    cost        INTEGER NOT NULL,
    state       TEXT NOT NULL,
    at          INTEGER NOT NULL,
    done_at     INTEGER,
    done_by     INTEGER REFERENCES people(id),
    note        TEXT
);
CREATE INDEX redemptions_person ON redemptions(person_id, id);
CREATE INDEX redemptions_region ON redemptions(region, state, id);

-- A leader's commendation of a grid member or volunteer, shown on their profile.
CREATE TABLE commendations (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    region    TEXT NOT NULL,
    text      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    by_person INTEGER NOT NULL REFERENCES people(id)
);
CREATE INDEX commendations_person ON commendations(person_id, id);
