//! The dependency graph: cycles, heads, and the deterministic topological order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Nodes `0..n`; `deps[i]` are the nodes `i` depends on. `keys[i]` orders ties (sequence
/// number, then name), and nodes are assumed to be given in key order where that matters.
#[derive(Debug)]
pub(crate) struct Graph<K> {
    deps: Vec<Vec<usize>>,
    keys: Vec<K>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unvisited,
    Visiting,
    Visited,
}

impl<K: Ord> Graph<K> {
    pub(crate) fn new(keys: Vec<K>) -> Self {
        Self {
            deps: keys.iter().map(|_| Vec::new()).collect(),
            keys,
        }
    }

    /// Records that `from` depends on `to`.
    pub(crate) fn add_dependency(&mut self, from: usize, to: usize) {
        if !self.deps[from].contains(&to) {
            self.deps[from].push(to);
        }
    }

    fn roots_by_key(&self) -> Vec<usize> {
        let mut nodes: Vec<usize> = (0..self.keys.len()).collect();
        nodes.sort_by(|&a, &b| self.keys[a].cmp(&self.keys[b]));
        nodes
    }

    /// Every cycle, found by a depth-first search with `Visiting`/`Visited` marks: each back
    /// edge closes one cycle, returned as `[a, b, c]` for `a → b → c → a` ("depends on"),
    /// rotated to start at its smallest key so the output is stable.
    pub(crate) fn cycles(&self) -> Vec<Vec<usize>> {
        let mut marks = vec![Mark::Unvisited; self.keys.len()];
        let mut cycles = Vec::new();
        for start in self.roots_by_key() {
            if marks[start] != Mark::Unvisited {
                continue;
            }
            // An explicit stack keeps a 10,000-migration chain from overflowing the thread's stack.
            let mut path: Vec<usize> = vec![start];
            let mut next_edge: Vec<usize> = vec![0];
            marks[start] = Mark::Visiting;
            while let Some(&node) = path.last() {
                let edge = next_edge.last_mut().map(|e| {
                    *e += 1;
                    *e - 1
                });
                match edge.and_then(|e| self.deps[node].get(e).copied()) {
                    Some(dep) => match marks[dep] {
                        Mark::Unvisited => {
                            marks[dep] = Mark::Visiting;
                            path.push(dep);
                            next_edge.push(0);
                        }
                        Mark::Visiting => {
                            let at = path.iter().position(|&n| n == dep).unwrap_or(0);
                            cycles.push(self.rotate(path[at..].to_vec()));
                        }
                        Mark::Visited => {}
                    },
                    None => {
                        marks[node] = Mark::Visited;
                        path.pop();
                        next_edge.pop();
                    }
                }
            }
        }
        cycles.sort_by(|a, b| {
            self.keys[a[0]]
                .cmp(&self.keys[b[0]])
                .then(a.len().cmp(&b.len()))
        });
        cycles.dedup();
        cycles
    }

    fn rotate(&self, mut cycle: Vec<usize>) -> Vec<usize> {
        let smallest = (0..cycle.len())
            .min_by(|&a, &b| self.keys[cycle[a]].cmp(&self.keys[cycle[b]]))
            .unwrap_or(0);
        cycle.rotate_left(smallest);
        cycle
    }

    /// Nodes nothing depends on, in key order.
    pub(crate) fn heads(&self) -> Vec<usize> {
        let mut depended_on = vec![false; self.keys.len()];
        for deps in &self.deps {
            for &dep in deps {
                depended_on[dep] = true;
            }
        }
        let mut heads: Vec<usize> = (0..self.keys.len()).filter(|&n| !depended_on[n]).collect();
        heads.sort_by(|&a, &b| self.keys[a].cmp(&self.keys[b]));
        heads
    }

    /// Topological order, dependencies first, ties broken by key; `None` if there is a cycle.
    pub(crate) fn topological_order(&self) -> Option<Vec<usize>> {
        let n = self.keys.len();
        let mut waiting_on: Vec<usize> = self.deps.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (node, deps) in self.deps.iter().enumerate() {
            for &dep in deps {
                dependents[dep].push(node);
            }
        }
        let mut ready: BinaryHeap<Reverse<(&K, usize)>> = (0..n)
            .filter(|&i| waiting_on[i] == 0)
            .map(|i| Reverse((&self.keys[i], i)))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, node))) = ready.pop() {
            order.push(node);
            for &dependent in &dependents[node] {
                waiting_on[dependent] -= 1;
                if waiting_on[dependent] == 0 {
                    ready.push(Reverse((&self.keys[dependent], dependent)));
                }
            }
        }
        (order.len() == n).then_some(order)
    }
}

#[cfg(test)]
mod tests {
    use super::Graph;

    fn graph(keys: &[&'static str], edges: &[(usize, usize)]) -> Graph<&'static str> {
        let mut g = Graph::new(keys.to_vec());
        for &(from, to) in edges {
            g.add_dependency(from, to);
        }
        g
    }

    #[test]
    fn diamond_orders_each_once() {
        // a; b←a; c←a; d←b,c — listed out of order to show the order comes from the graph.
        let g = graph(&["d", "c", "b", "a"], &[(2, 3), (1, 3), (0, 2), (0, 1)]);
        let order: Vec<&str> = g
            .topological_order()
            .unwrap()
            .iter()
            .map(|&i| ["d", "c", "b", "a"][i])
            .collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert!(g.cycles().is_empty());
        assert_eq!(g.heads(), [0]);
    }

    #[test]
    fn ties_are_broken_by_key_not_insertion() {
        let g = graph(&["3", "1", "2"], &[]);
        assert_eq!(g.topological_order().unwrap(), [1, 2, 0]);
    }

    #[test]
    fn dependencies_beat_keys() {
        // "1" depends on "2": the graph wins over the numbers.
        let g = graph(&["1", "2"], &[(0, 1)]);
        assert_eq!(g.topological_order().unwrap(), [1, 0]);
    }

    #[test]
    fn a_cycle_is_reported_whole_and_blocks_ordering() {
        // a → b → c → a, plus d → a outside the cycle.
        let g = graph(&["a", "b", "c", "d"], &[(0, 1), (1, 2), (2, 0), (3, 0)]);
        assert_eq!(g.cycles(), vec![vec![0, 1, 2]]);
        assert_eq!(g.topological_order(), None);
    }

    #[test]
    fn a_cycle_found_from_its_middle_starts_at_its_smallest_key() {
        let g = graph(&["a", "b", "c"], &[(1, 2), (2, 1), (0, 1)]);
        assert_eq!(g.cycles(), vec![vec![1, 2]]);
    }

    #[test]
    fn self_loop_and_two_separate_cycles() {
        let g = graph(&["a", "b", "c", "d"], &[(0, 0), (1, 2), (2, 1), (3, 1)]);
        assert_eq!(g.cycles(), vec![vec![0], vec![1, 2]]);
    }

    #[test]
    fn heads_and_multiple_roots() {
        // Two roots a and b, both needed by c: one head, two roots is fine.
        let g = graph(&["a", "b", "c"], &[(2, 0), (2, 1)]);
        assert_eq!(g.heads(), [2]);
        assert_eq!(g.topological_order().unwrap(), [0, 1, 2]);
        // a; b←a; c←a: two heads.
        let g = graph(&["a", "b", "c"], &[(1, 0), (2, 0)]);
        assert_eq!(g.heads(), [1, 2]);
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let keys: Vec<String> = (0..100_000).map(|i| format!("{i:06}")).collect();
        let mut g = Graph::new(keys);
        for i in 1..100_000 {
            g.add_dependency(i, i - 1);
        }
        assert!(g.cycles().is_empty());
        assert_eq!(g.topological_order().unwrap().len(), 100_000);
    }

    #[test]
    fn empty_graph() {
        let g = graph(&[], &[]);
        assert!(g.heads().is_empty());
        assert_eq!(g.topological_order(), Some(vec![]));
    }
}
