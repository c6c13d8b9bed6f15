-- Region imports, history and responsibility (issue 3).

-- The key of the region in the file it was imported from (a tract number, a council id, or the
-- region code itself), so that importing again updates it in place.
ALTER TABLE regions ADD COLUMN source_key TEXT;
-- The geometry is the union of the children's (recomputed on every import below it).
ALTER TABLE regions ADD COLUMN derived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE regions ADD COLUMN updated_at INTEGER;
CREATE INDEX regions_key ON regions(level, source_key) WHERE source_key IS NOT NULL;

-- Every import, with its options and its validation report (also a refused one is not written
-- here: only imports that changed the tree).
CREATE TABLE region_imports (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    by_person INTEGER REFERENCES people(id),
    source    TEXT NOT NULL,
    options   TEXT NOT NULL,      -- JSON
    summary   TEXT NOT NULL,      -- JSON
    report    TEXT NOT NULL       -- JSON: issues left, changes made by repair, notes
);

-- What a region was before an import changed its name or geometry: [valid_from, valid_to).
CREATE TABLE region_versions (
    code       TEXT NOT NULL REFERENCES regions(code),
    valid_from INTEGER,
    valid_to   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    geometry   TEXT,
    import_id  INTEGER NOT NULL REFERENCES region_imports(id),
    PRIMARY KEY (code, import_id)
);

-- Where the area of a retired region went (split, merge, moved to another parent).
CREATE TABLE region_lineage (
    import_id INTEGER NOT NULL REFERENCES region_imports(id),
    from_code TEXT NOT NULL REFERENCES regions(code),
    to_code   TEXT NOT NULL REFERENCES regions(code),
    area_m2   REAL NOT NULL,
    PRIMARY KEY (import_id, from_code, to_code)
);
CREATE INDEX region_lineage_to ON region_lineage(to_code);

-- Who is responsible for a grid (grid member) or a community (grid leader), and when:
-- [starts_at, ends_at), ends_at NULL while it lasts.
CREATE TABLE assignments (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    region     TEXT NOT NULL REFERENCES regions(code),
    role       TEXT NOT NULL CHECK (role IN ('grid_member', 'grid_leader')),
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER CHECK (ends_at IS NULL OR ends_at > starts_at),
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES people(id)
);
CREATE INDEX assignments_region ON assignments(region, starts_at);
CREATE INDEX assignments_person ON assignments(person_id, starts_at);
