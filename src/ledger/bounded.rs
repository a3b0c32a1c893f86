//! The live state is read on every status line and hook event, so each of its maps keeps
//! only its most recent entries (streams, session models, throttle notes): one rule for
//! all of them, here, where both the state and its notes can use it.

use std::collections::BTreeMap;

/// Bound `map` to its `max` most recent entries by `at`: the oldest give way.
pub(super) fn keep_newest<V>(map: &mut BTreeMap<String, V>, max: usize, at: impl Fn(&V) -> i64) {
    while map.len() > max {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| at(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_give_way() {
        let mut map: BTreeMap<String, i64> = [("a", 30), ("b", 10), ("c", 20), ("d", 40)]
            .map(|(k, at)| (k.to_string(), at))
            .into();
        keep_newest(&mut map, 2, |at| *at);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "d"]);
        keep_newest(&mut map, 5, |at| *at);
        assert_eq!(map.len(), 2);
    }
}
