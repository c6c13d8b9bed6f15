-- Stage times as one histogram per row (issue 23): `rollup_stages` held a row per histogram bin,
-- split by department only, about 23 rows per case; per category and per person the times came
-- from a scan of the cases. A row of `rollup_times` holds a whole histogram (`hist`: per bin
-- holding durations, the bin as 2 bytes, the count and the sum as 8 bytes each, little-endian;
-- rollups.rs `encode`) of a node, a period (a local day, or a month as in `rollup_counts`) and a
-- stage (0 accept, 1 dispatch, 2 handle, 3 verify), for every case of the node (split 0, value 0)
-- or those of one lead department (split 1), category (split 2; 0 for none) or grid member who
-- reported them (split 3). The rollups are computed again from the events at the next start.
DROP TABLE rollup_stages;

CREATE TABLE rollup_times (
    node TEXT NOT NULL,
    split INTEGER NOT NULL,
    day INTEGER NOT NULL,
    leaf INTEGER NOT NULL,
    value INTEGER NOT NULL,
    stage INTEGER NOT NULL,
    hist BLOB NOT NULL,
    PRIMARY KEY (node, split, day, leaf, value, stage)
) WITHOUT ROWID;

-- The same counters summed over every department and category, one row per node, day (or month)
-- and leaf: what most questions read (a district, each grid), a few rows a period instead of one
-- per department and category.
CREATE TABLE rollup_totals (
    node TEXT NOT NULL,
    leaf INTEGER NOT NULL,
    day INTEGER NOT NULL,
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
    PRIMARY KEY (node, day, leaf)
) WITHOUT ROWID;

UPDATE rollup_state SET built = 0;
