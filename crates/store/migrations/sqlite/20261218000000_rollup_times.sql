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

UPDATE rollup_state SET built = 0;
