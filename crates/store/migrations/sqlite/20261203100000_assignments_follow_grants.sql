-- Who answers for a grid has one truth: a grant of a grid role over a grid (grid member) or over
-- a community (grid leader) goes with an open assignment there, and an open assignment with its
-- grant. Databases written before the store kept the two together get the missing halves.
INSERT INTO assignments (person_id, region, role, starts_at, created_at, created_by)
SELECT g.person_id, g.scope_value, g.role, p.created_at, p.created_at, NULL
FROM grants g
JOIN people p ON p.id = g.person_id
JOIN regions r ON r.code = g.scope_value AND r.retired_at IS NULL
WHERE g.scope_type = 'region'
  AND ((g.role = 'grid_member' AND length(g.scope_value) >= 15) OR (g.role = 'grid_leader' AND length(g.scope_value) = 12))
  AND NOT EXISTS (
    SELECT 1 FROM assignments a
    WHERE a.person_id = g.person_id AND a.region = g.scope_value AND a.role = g.role AND a.ends_at IS NULL
  );

INSERT INTO grants (person_id, role, scope_type, scope_value)
SELECT DISTINCT a.person_id, a.role, 'region', a.region
FROM assignments a
WHERE a.ends_at IS NULL
ON CONFLICT DO NOTHING;
