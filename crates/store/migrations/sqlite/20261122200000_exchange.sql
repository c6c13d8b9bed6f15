-- Data exchange with other systems: Open311 service attributes and API keys, historical imports,
-- and webhooks fed by a durable outbox. Times are milliseconds since the Unix epoch (UTC).

-- Open311 service attributes of a category (a subclass is an Open311 service).
CREATE TABLE category_attributes (
    category_id          INTEGER NOT NULL REFERENCES categories(id),
    code                 TEXT NOT NULL,
    variable             INTEGER NOT NULL,
    datatype             TEXT NOT NULL CHECK (datatype IN
                             ('string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist')),
    required             INTEGER NOT NULL,
    datatype_description TEXT,
    position             INTEGER NOT NULL CHECK (position > 0),   -- Open311 `order`
    description          TEXT NOT NULL,
    choices              TEXT NOT NULL,                          -- JSON [{key, name}]
    PRIMARY KEY (category_id, code),
    UNIQUE (category_id, position)
);

-- API keys of Open311 clients. Only the SHA-256 of a key is kept. Requests posted with a key are
-- filed as its person (with that person's roles).
CREATE TABLE open311_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    person_id  INTEGER NOT NULL REFERENCES people(id),
    -- 'id': POST requests answers service_request_id; 'token': it answers a token instead.
    respond    TEXT NOT NULL CHECK (respond IN ('id', 'token')),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- Finds a case by the id it had in another system (`exchange.external_id` of its first event),
-- so that an import run twice does not store a case twice and an update names its case.
CREATE INDEX case_events_external_id ON case_events (json_extract(data, '$.exchange.external_id'))
    WHERE seq = 1;
-- Finds an event by the update id another system gave it (Open311 servicerequestupdates).
CREATE INDEX case_events_external_update ON case_events (json_extract(data, '$.exchange.update_id'))
    WHERE json_extract(data, '$.exchange.update_id') IS NOT NULL;

-- Webhook subscriptions. The secret signs deliveries (HMAC-SHA256), so it is kept as given.
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    actions       TEXT NOT NULL,      -- JSON array of action names; empty: every non-internal action
    region        TEXT,               -- only cases in this region subtree
    department_id INTEGER REFERENCES departments(id),  -- only cases this department leads or co-handles
    active        INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES people(id),
    created_at    INTEGER NOT NULL
);

-- The outbox: one row per case event while a subscription is active, written by the trigger in
-- the transaction that writes the event, so an event is never lost between commit and delivery.
-- The delivery worker turns rows into deliveries (one per matching subscription) and removes them.
CREATE TABLE webhook_outbox (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL
);
CREATE TRIGGER case_events_webhook_outbox AFTER INSERT ON case_events
WHEN EXISTS (SELECT 1 FROM webhooks WHERE active = 1)
BEGIN
    INSERT INTO webhook_outbox (case_id, seq) VALUES (NEW.case_id, NEW.seq);
END;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks(id),
    case_id         INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,          -- HTTP status of the last attempt
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    UNIQUE (webhook_id, case_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (webhook_id, id) WHERE status = 'dead';
