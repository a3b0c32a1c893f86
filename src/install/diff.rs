//! `--dry-run`: the edit as a unified diff (what `diff -u` prints), so the user sees every
//! line that would change before anything is written. Line-based longest common
//! subsequence over the part between the common head and tail, which for a settings file
//! is small; past `MAX_CELLS` it shows the middle as replaced rather than use the memory.

use std::fmt::Write as _;

const CONTEXT: usize = 3;
const MAX_CELLS: usize = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// Unified diff of `old` into `new`; empty when they are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = edit_script(&a, &b);
    if ops.iter().all(|op| *op == Op::Same) {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    // Walk the script with line numbers, cutting it into hunks of changes plus context.
    let mut starts = Vec::with_capacity(ops.len() + 1);
    let (mut i, mut j) = (0, 0);
    for op in &ops {
        starts.push((i, j));
        match op {
            Op::Same => (i, j) = (i + 1, j + 1),
            Op::Removed => i += 1,
            Op::Added => j += 1,
        }
    }
    starts.push((i, j));
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k] != Op::Same).collect();
    let mut k = 0;
    while k < changed.len() {
        let first = changed[k];
        let mut last = first;
        while k + 1 < changed.len() && changed[k + 1] - last <= 2 * CONTEXT + 1 {
            k += 1;
            last = changed[k];
        }
        k += 1;
        let from = first.saturating_sub(CONTEXT);
        let to = (last + 1 + CONTEXT).min(ops.len());
        let (a0, b0) = starts[from];
        let (a1, b1) = starts[to];
        let _ = writeln!(out, "@@ -{} +{} @@", range(a0, a1 - a0), range(b0, b1 - b0));
        for index in from..to {
            let (ai, bj) = starts[index];
            let _ = match ops[index] {
                Op::Same => writeln!(out, " {}", a[ai]),
                Op::Removed => writeln!(out, "-{}", a[ai]),
                Op::Added => writeln!(out, "+{}", b[bj]),
            };
        }
    }
    out
}

/// `start,count` as diff writes it: 1-based, and the line before when nothing is there.
fn range(start: usize, count: usize) -> String {
    match count {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{count}", start + 1),
    }
}

fn edit_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops = vec![Op::Same; head];
    if (ma.len() + 1) * (mb.len() + 1) > MAX_CELLS {
        ops.extend(std::iter::repeat_n(Op::Removed, ma.len()));
        ops.extend(std::iter::repeat_n(Op::Added, mb.len()));
    } else {
        ops.extend(lcs_script(ma, mb));
    }
    ops.extend(std::iter::repeat_n(Op::Same, tail));
    ops
}

fn lcs_script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let width = b.len() + 1;
    // suffix[i * width + j]: length of the LCS of a[i..] and b[j..].
    let mut suffix = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            suffix[i * width + j] = if a[i] == b[j] {
                suffix[(i + 1) * width + j + 1] + 1
            } else {
                suffix[(i + 1) * width + j].max(suffix[i * width + j + 1])
            };
        }
    }
    let mut ops = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push(Op::Same);
            i += 1;
            j += 1;
        } else if i < a.len()
            && (j == b.len() || suffix[(i + 1) * width + j] >= suffix[i * width + j + 1])
        {
            // Removals before additions, as diff prints them.
            ops.push(Op::Removed);
            i += 1;
        } else {
            ops.push(Op::Added);
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y"), "");
    }

    #[test]
    fn matches_diff_u() {
        let numbered = |keys: &[(&str, &str)]| {
            let body: Vec<String> = keys
                .iter()
                .map(|(k, v)| format!("  \"{k}\": {v}"))
                .collect();
            format!("{{\n{}\n}}\n", body.join(",\n"))
        };
        let keys = [
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("d", "4"),
            ("e", "5"),
            ("f", "6"),
        ];
        let more = [("g", "7"), ("h", "8"), ("h2", "8"), ("i", "9")];
        let old = numbered(&[&keys[..], &more[..]].concat());
        let mut new_keys = [&keys[..], &more[..]].concat();
        new_keys[1].1 = "20";
        new_keys.push(("j", "10"));
        let new = numbered(&new_keys);
        // What `diff -u old new` prints (two hunks: seven unchanged lines apart).
        let expected = "--- old\n+++ new\n\
            @@ -1,6 +1,6 @@\n {\n   \"a\": 1,\n-  \"b\": 2,\n+  \"b\": 20,\n   \"c\": 3,\n   \"d\": 4,\n   \"e\": 5,\n\
            @@ -8,5 +8,6 @@\n   \"g\": 7,\n   \"h\": 8,\n   \"h2\": 8,\n-  \"i\": 9\n+  \"i\": 9,\n+  \"j\": 10\n }\n";
        assert_eq!(unified(&old, &new, "old", "new"), expected);
        // Six unchanged lines apart: one hunk, as diff -u makes it.
        let old: String = old.replace("  \"h2\": 8,\n", "");
        let new: String = new.replace("  \"h2\": 8,\n", "");
        assert!(unified(&old, &new, "old", "new").contains("@@ -1,11 +1,12 @@\n"));
        assert_eq!(unified(&old, &new, "old", "new").matches("@@ ").count(), 1);
    }

    #[test]
    fn from_nothing() {
        assert_eq!(
            unified("", "{\n}\n", "old", "new"),
            "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+{\n+}\n"
        );
    }

    #[test]
    fn applying_the_script_gives_the_new_text() {
        let old: Vec<&str> = "a b c d e f a b".split(' ').collect();
        let new: Vec<&str> = "x a c d y f b b z".split(' ').collect();
        let ops = edit_script(&old, &new);
        let kept = ops.iter().filter(|op| **op == Op::Same).count();
        assert_eq!(kept, 5, "a c d f b is the longest common subsequence");
        let (mut i, mut j, mut rebuilt) = (0, 0, Vec::new());
        for op in ops {
            match op {
                Op::Same => {
                    rebuilt.push(old[i]);
                    i += 1;
                    j += 1;
                }
                Op::Removed => i += 1,
                Op::Added => {
                    rebuilt.push(new[j]);
                    j += 1;
                }
            }
        }
        assert_eq!(rebuilt, new);
    }
}
