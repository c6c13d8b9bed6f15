-- The working calendar of each jurisdiction (district), as JSON of gridkeeper_domain::Calendar.
CREATE TABLE calendars (
    district   TEXT PRIMARY KEY,
    calendar   TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES people(id)
);
