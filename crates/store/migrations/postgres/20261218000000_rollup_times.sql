-- PostgreSQL twin of the SQLite migration of the same name: stage times as one histogram per row,
-- split by department, category and the grid member who reported; computed again at the next start.
DROP TABLE rollup_stages;

CREATE TABLE rollup_times (
    node TEXT COLLATE "C" NOT NULL,
    split BIGINT NOT NULL,
    day BIGINT NOT NULL,
    leaf BOOLEAN NOT NULL,
    value BIGINT NOT NULL,
    stage BIGINT NOT NULL,
    hist BYTEA NOT NULL,
    PRIMARY KEY (node, split, day, leaf, value, stage)
);

-- The same counters summed over every department and category, one row per node, day (or month)
-- and leaf: what most questions read (a district, each grid), a few rows a period instead of one
-- per department and category.
CREATE TABLE rollup_totals (
    node TEXT COLLATE "C" NOT NULL,
    leaf BOOLEAN NOT NULL,
    day BIGINT NOT NULL,
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
    PRIMARY KEY (node, day, leaf)
);

UPDATE rollup_state SET built = 0;
