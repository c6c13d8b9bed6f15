-- PostgreSQL twin of the SQLite migration of the same name.
-- Rollups of the measures (docs/MEASURES.md): the facts of every case (domain::measures::facts),
-- summed per local day (UTC+8) and region node. A case's grid code and each of its ancestors is a
-- node, and '*' holds everything; `leaf` is true on the case's own region (grid, or district when
-- outside every grid). The store subtracts a case's old facts and adds its new ones in the
-- transaction that writes each event, so the sums always equal a scan of the events.

CREATE TABLE rollup_counts (
    node TEXT COLLATE "C" NOT NULL,
    leaf BOOLEAN NOT NULL,
    day BIGINT NOT NULL,
    department BIGINT NOT NULL, -- 0: none
    category BIGINT NOT NULL,   -- 0: not yet categorised
    reports BIGINT NOT NULL DEFAULT 0,
    reports_by_grid_members BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,
    accepted_on_time BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    dispatched BIGINT NOT NULL DEFAULT 0,
    dispatched_on_time BIGINT NOT NULL DEFAULT 0,
    dispatched_to_community BIGINT NOT NULL DEFAULT 0,
    on_the_spot BIGINT NOT NULL DEFAULT 0,
    returns BIGINT NOT NULL DEFAULT 0,
    extensions_approved BIGINT NOT NULL DEFAULT 0,
    results BIGINT NOT NULL DEFAULT 0,
    results_on_time BIGINT NOT NULL DEFAULT 0,
    verifications BIGINT NOT NULL DEFAULT 0,
    verifications_failed BIGINT NOT NULL DEFAULT 0,
    ratings BIGINT NOT NULL DEFAULT 0,
    ratings_satisfied BIGINT NOT NULL DEFAULT 0,
    cohort BIGINT NOT NULL DEFAULT 0,
    cohort_closed BIGINT NOT NULL DEFAULT 0,
    cohort_closed_on_time BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, leaf, department, category)
);

-- Stage durations (0 accept, 1 dispatch, 2 handle, 3 verify) as histograms: durations in `bin`
-- (domain::measures::Durations::bin), their count and sum. department -1 holds all departments.
CREATE TABLE rollup_stages (
    node TEXT COLLATE "C" NOT NULL,
    leaf BOOLEAN NOT NULL,
    day BIGINT NOT NULL,
    department BIGINT NOT NULL,
    stage BIGINT NOT NULL,
    bin BIGINT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node, department, day, leaf, stage, bin)
);

-- The same counters per person (staff acts, grid members' reports and their cases).
CREATE TABLE rollup_people (
    node TEXT COLLATE "C" NOT NULL,
    day BIGINT NOT NULL,
    person BIGINT NOT NULL,
    reports BIGINT NOT NULL DEFAULT 0,
    reports_by_grid_members BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,
    accepted_on_time BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    dispatched BIGINT NOT NULL DEFAULT 0,
    dispatched_on_time BIGINT NOT NULL DEFAULT 0,
    dispatched_to_community BIGINT NOT NULL DEFAULT 0,
    on_the_spot BIGINT NOT NULL DEFAULT 0,
    returns BIGINT NOT NULL DEFAULT 0,
    extensions_approved BIGINT NOT NULL DEFAULT 0,
    results BIGINT NOT NULL DEFAULT 0,
    results_on_time BIGINT NOT NULL DEFAULT 0,
    verifications BIGINT NOT NULL DEFAULT 0,
    verifications_failed BIGINT NOT NULL DEFAULT 0,
    ratings BIGINT NOT NULL DEFAULT 0,
    ratings_satisfied BIGINT NOT NULL DEFAULT 0,
    cohort BIGINT NOT NULL DEFAULT 0,
    cohort_closed BIGINT NOT NULL DEFAULT 0,
    cohort_closed_on_time BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node, day, person)
);

-- 0 until the rollups have been computed from the cases already stored (PgStore::migrate).
CREATE TABLE rollup_state (built BIGINT NOT NULL);
INSERT INTO rollup_state (built) VALUES (0);
