-- Rollups of the measures (docs/MEASURES.md): the facts of every case (domain::measures::facts),
-- summed per local day (UTC+8) and region node. A case's grid code and each of its ancestors is a
-- node, and '*' holds everything; `leaf` = 1 on the case's own region (grid, or district when
-- outside every grid). The store subtracts a case's old facts and adds its new ones in the
-- transaction that writes each event, so the sums always equal a scan of the events.

CREATE TABLE rollup_counts (
    node TEXT NOT NULL,
    leaf INTEGER NOT NULL,
    day INTEGER NOT NULL,
    department INTEGER NOT NULL, -- 0: none
    category INTEGER NOT NULL,   -- 0: not yet categorised
    reports INTEGER NOT NULL DEFAULT 0,
    reports_by_grid_members INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    accepted_on_time INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    dispatched INTEGER NOT NULL DEFAULT 0,
    dispatched_on_time INTEGER NOT NULL DEFAULT 0,
    dispatched_to_community INTEGER NOT NULL DEFAULT 0,
    on_the_spot INTEGER NOT NULL DEFAULT 0,
    returns INTEGER NOT NULL DEFAULT 0,
    extensions_approved INTEGER NOT NULL DEFAULT 0,
    results INTEGER NOT NULL DEFAULT 0,
    results_on_time INTEGER NOT NULL DEFAULT 0,
    verifications INTEGER NOT NULL DEFAULT 0,
    verifications_failed INTEGER NOT NULL DEFAULT 0,
    ratings INTEGER NOT NULL DEFAULT 0,
    ratings_satisfied INTEGER NOT NULL DEFAULT 0,
    cohort INTEGER NOT NULL DEFAULT 0,
    cohort_closed INTEGER NOT NULL DEFAULT 0,
    cohort_closed_on_time INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, leaf, department, category)
) WITHOUT ROWID;

-- Stage durations (0 accept, 1 dispatch, 2 handle, 3 verify) as histograms: durations in `bin`
-- (domain::measures::Durations::bin), their count and sum. department -1 holds all departments.
CREATE TABLE rollup_stages (
    node TEXT NOT NULL,
    leaf INTEGER NOT NULL,
    day INTEGER NOT NULL,
    department INTEGER NOT NULL,
    stage INTEGER NOT NULL,
    bin INTEGER NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (node, department, day, leaf, stage, bin)
) WITHOUT ROWID;

-- The same counters per person (staff acts, grid members' reports and their cases).
CREATE TABLE rollup_people (
    node TEXT NOT NULL,
    day INTEGER NOT NULL,
    person INTEGER NOT NULL,
    reports INTEGER NOT NULL DEFAULT 0,
    reports_by_grid_members INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    accepted_on_time INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    dispatched INTEGER NOT NULL DEFAULT 0,
    dispatched_on_time INTEGER NOT NULL DEFAULT 0,
    dispatched_to_community INTEGER NOT NULL DEFAULT 0,
    on_the_spot INTEGER NOT NULL DEFAULT 0,
    returns INTEGER NOT NULL DEFAULT 0,
    extensions_approved INTEGER NOT NULL DEFAULT 0,
    results INTEGER NOT NULL DEFAULT 0,
    results_on_time INTEGER NOT NULL DEFAULT 0,
    verifications INTEGER NOT NULL DEFAULT 0,
    verifications_failed INTEGER NOT NULL DEFAULT 0,
    ratings INTEGER NOT NULL DEFAULT 0,
    ratings_satisfied INTEGER NOT NULL DEFAULT 0,
    cohort INTEGER NOT NULL DEFAULT 0,
    cohort_closed INTEGER NOT NULL DEFAULT 0,
    cohort_closed_on_time INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, person)
) WITHOUT ROWID;

-- 0 until the rollups have been computed from the cases already stored (SqliteStore::migrate).
CREATE TABLE rollup_state (built INTEGER NOT NULL);
INSERT INTO rollup_state (built) VALUES (0);
