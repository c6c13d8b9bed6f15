-- The rollups gained month rows (a month is MONTHS + its number in the day column): compute them
-- again from the events at the next start.
UPDATE rollup_state SET built = 0;
