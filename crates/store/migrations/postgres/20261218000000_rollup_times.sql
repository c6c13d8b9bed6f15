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

UPDATE rollup_state SET built = 0;
