//! Which department usually handles a category in a grid: a plain tally of past dispatches.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counts of departments chosen per category and grid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentTally {
    /// category → grid → department → count.
    counts: BTreeMap<String, BTreeMap<String, BTreeMap<String, u32>>>,
}

/// Where a department suggestion was drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TallyScope {
    /// The category in this grid.
    Grid,
    /// The category in every grid (the grid had no history for it).
    Category,
}

/// The most common department, with its share of the dispatches counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentSuggestion {
    pub department: String,
    pub count: u32,
    pub out_of: u32,
    pub share: f32,
    pub scope: TallyScope,
}

impl DepartmentTally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one dispatch of a case of `category` in `grid` to `department`.
    pub fn add(&mut self, category: &str, grid: &str, department: &str) {
        let n = self
            .counts
            .entry(category.to_string())
            .or_default()
            .entry(grid.to_string())
            .or_default()
            .entry(department.to_string())
            .or_default();
        *n = n.saturating_add(1);
    }

    /// The department most often chosen for `category` in `grid`; when the grid has no history
    /// for the category, the one most often chosen for it anywhere. Ties go to the name first in
    /// order, so the answer does not depend on the order of counting.
    pub fn suggest(&self, category: &str, grid: &str) -> Option<DepartmentSuggestion> {
        let grids = self.counts.get(category)?;
        let (tally, scope) = match grids.get(grid) {
            Some(t) => (t.clone(), TallyScope::Grid),
            None => {
                let mut all: BTreeMap<String, u32> = BTreeMap::new();
                for t in grids.values() {
                    for (d, n) in t {
                        let c = all.entry(d.clone()).or_default();
                        *c = c.saturating_add(*n);
                    }
                }
                (all, TallyScope::Category)
            }
        };
        let out_of = tally.values().fold(0u32, |a, n| a.saturating_add(*n));
        // `max_by` keeps the last of equals: iterate in reverse so the first name wins.
        let (department, &count) = tally.iter().rev().max_by_key(|(_, n)| **n)?;
        Some(DepartmentSuggestion {
            department: department.clone(),
            count,
            out_of,
            share: count as f32 / out_of.max(1) as f32,
            scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_common_department_of_the_grid_then_of_the_category() {
        let mut t = DepartmentTally::new();
        for d in ["城管", "城管", "住建", "城管"] {
            t.add("城乡建设", "G1", d);
        }
        t.add("城乡建设", "G2", "住建");
        let s = t.suggest("城乡建设", "G1").unwrap();
        assert_eq!((s.department.as_str(), s.count, s.out_of, s.scope), ("城管", 3, 4, TallyScope::Grid));
        assert!((s.share - 0.75).abs() < 1e-6);
        // G9 has no history: the category across grids (城管 3, 住建 2).
        let s = t.suggest("城乡建设", "G9").unwrap();
        assert_eq!((s.department.as_str(), s.out_of, s.scope), ("城管", 5, TallyScope::Category));
        assert_eq!(t.suggest("环境保护", "G1"), None);
    }

    #[test]
    fn ties_go_to_the_first_name() {
        let mut t = DepartmentTally::new();
        t.add("c", "g", "b");
        t.add("c", "g", "a");
        assert_eq!(t.suggest("c", "g").unwrap().department, "a");
    }
}
