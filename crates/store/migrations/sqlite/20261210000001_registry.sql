-- The grid's registry (issue 15): buildings, houses, tenancies, places, people in care, their
-- visits, and the history of every change. Personal details (names, phones, ID numbers) are
-- sealed by the vault; `*_phone_index` and `*_id_index` are their blind indexes (HMAC) for exact
-- lookup. `grid` on houses, tenancies and people in care repeats their building's grid, so that
-- a region subtree is one range on an index. Dates of a stay are day numbers (days since
-- 1970-01-01), which both databases compare and subtract alike.

-- Kinds of places and their field schemas (JSON of a domain PlaceKind), replaceable per deployment.
CREATE TABLE place_kinds (
    key        TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE buildings (
    id           INTEGER PRIMARY KEY,
    grid         TEXT NOT NULL,
    address      TEXT NOT NULL,
    lat          REAL NOT NULL,
    lon          REAL NOT NULL,
    floors       INTEGER NOT NULL CHECK (floors BETWEEN 1 AND 200),
    building_use TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX buildings_grid ON buildings(grid);

CREATE TABLE houses (
    id                INTEGER PRIMARY KEY,
    building_id       INTEGER NOT NULL REFERENCES buildings(id),
    grid              TEXT NOT NULL,
    label             TEXT NOT NULL,
    house_use         TEXT NOT NULL,
    owner_name        TEXT NOT NULL,
    owner_phone       TEXT,
    owner_phone_index TEXT,
    owner_id_number   TEXT,
    owner_id_index    TEXT,
    landlord_id       INTEGER REFERENCES people(id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX houses_label ON houses(building_id, label);
CREATE INDEX houses_grid ON houses(grid, house_use);
CREATE INDEX houses_landlord ON houses(landlord_id) WHERE landlord_id IS NOT NULL;
CREATE INDEX houses_owner_phone ON houses(owner_phone_index) WHERE owner_phone_index IS NOT NULL;
CREATE INDEX houses_owner_id ON houses(owner_id_index) WHERE owner_id_index IS NOT NULL;

CREATE TABLE tenancies (
    id                   INTEGER PRIMARY KEY,
    house_id             INTEGER NOT NULL REFERENCES houses(id),
    grid                 TEXT NOT NULL,
    tenant_name          TEXT,
    tenant_phone         TEXT,
    tenant_phone_index   TEXT,
    tenant_id_number     TEXT,
    tenant_id_index      TEXT,
    origin               TEXT,
    moved_in             INTEGER NOT NULL,
    moved_out            INTEGER CHECK (moved_out IS NULL OR moved_out >= moved_in),
    registered_by        TEXT NOT NULL,
    registered_by_person INTEGER REFERENCES people(id),
    registered_at        INTEGER NOT NULL,
    anonymised_at        INTEGER
);
CREATE INDEX tenancies_house ON tenancies(house_id, moved_in);
CREATE INDEX tenancies_open ON tenancies(grid) WHERE moved_out IS NULL;
CREATE INDEX tenancies_registered ON tenancies(grid, registered_at);
CREATE INDEX tenancies_phone ON tenancies(tenant_phone_index) WHERE tenant_phone_index IS NOT NULL;
CREATE INDEX tenancies_id ON tenancies(tenant_id_index) WHERE tenant_id_index IS NOT NULL;
CREATE INDEX tenancies_retention ON tenancies(moved_out) WHERE anonymised_at IS NULL AND moved_out IS NOT NULL;

CREATE TABLE places (
    id                      INTEGER PRIMARY KEY,
    kind                    TEXT NOT NULL,
    name                    TEXT NOT NULL,
    address                 TEXT NOT NULL,
    lat                     REAL NOT NULL,
    lon                     REAL NOT NULL,
    grid                    TEXT NOT NULL,
    functional_grid         TEXT,
    credit_code             TEXT,
    licences                TEXT NOT NULL,
    responsible_name        TEXT NOT NULL,
    responsible_phone       TEXT,
    responsible_phone_index TEXT,
    responsible_id_number   TEXT,
    responsible_id_index    TEXT,
    staff                   INTEGER NOT NULL CHECK (staff >= 0),
    risk                    TEXT NOT NULL,
    fields                  TEXT NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('open', 'closed', 'moved')),
    moved_to                INTEGER REFERENCES places(id),
    last_visited_at         INTEGER,
    last_visited_by         INTEGER REFERENCES people(id),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);
CREATE INDEX places_grid ON places(grid, kind);
CREATE INDEX places_name ON places(name);
CREATE INDEX places_credit ON places(credit_code) WHERE credit_code IS NOT NULL;
CREATE UNIQUE INDEX places_credit_open ON places(credit_code) WHERE credit_code IS NOT NULL AND status = 'open';
CREATE INDEX places_functional ON places(functional_grid) WHERE functional_grid IS NOT NULL;
CREATE INDEX places_phone ON places(responsible_phone_index) WHERE responsible_phone_index IS NOT NULL;
CREATE INDEX places_id ON places(responsible_id_index) WHERE responsible_id_index IS NOT NULL;

CREATE TABLE place_visits (
    id        INTEGER PRIMARY KEY,
    place_id  INTEGER NOT NULL REFERENCES places(id),
    at        INTEGER NOT NULL,
    by_person INTEGER REFERENCES people(id)
);
CREATE INDEX place_visits_place ON place_visits(place_id, at);
CREATE INDEX place_visits_by ON place_visits(by_person, at);

CREATE TABLE care_people (
    id                 INTEGER PRIMARY KEY,
    house_id           INTEGER NOT NULL REFERENCES houses(id),
    grid               TEXT NOT NULL,
    person_name        TEXT NOT NULL,
    person_phone       TEXT,
    person_phone_index TEXT,
    person_id_number   TEXT,
    person_id_index    TEXT,
    kinds              TEXT NOT NULL,
    visit_every_days   INTEGER NOT NULL CHECK (visit_every_days BETWEEN 1 AND 366),
    last_visited_at    INTEGER,
    visit_due_at       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX care_people_due ON care_people(grid, visit_due_at);
CREATE INDEX care_people_house ON care_people(house_id);
CREATE INDEX care_people_phone ON care_people(person_phone_index) WHERE person_phone_index IS NOT NULL;
CREATE INDEX care_people_id ON care_people(person_id_index) WHERE person_id_index IS NOT NULL;

CREATE TABLE care_visits (
    id        INTEGER PRIMARY KEY,
    care_id   INTEGER NOT NULL REFERENCES care_people(id),
    at        INTEGER NOT NULL,
    by_person INTEGER REFERENCES people(id),
    note      TEXT
);
CREATE INDEX care_visits_care ON care_visits(care_id, at);

-- Append-only: who changed which entry, when, and the changed fields (JSON; people masked).
CREATE TABLE registry_changes (
    id        INTEGER PRIMARY KEY,
    entity    TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     INTEGER REFERENCES people(id),
    action    TEXT NOT NULL,
    changes   TEXT NOT NULL
);
CREATE INDEX registry_changes_entity ON registry_changes(entity, entity_id, id);
