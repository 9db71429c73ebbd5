//! Replay history (resume with `Last-Event-ID`, WHATWG HTML §9.2.4):
//! exact replay across wraparound and byte-limit eviction, checked against
//! a simple model.

use bytes::Bytes;
use proptest::prelude::*;
use pushcodec::sse::{EventRef, History, Replay, Utf8Bytes};

fn replay(h: &History, id: &str) -> Option<Vec<Bytes>> {
    match h.replay_after(id) {
        Replay::Events(it) => {
            let n = it.len();
            let v: Vec<Bytes> = it.cloned().collect();
            assert_eq!(v.len(), n, "ExactSizeIterator agrees");
            Some(v)
        }
        Replay::Unknown => None,
        _ => unreachable!(),
    }
}

/// The model: every push ever made; the history keeps the longest suffix
/// within both bounds.
struct Model {
    pushed: Vec<(Option<String>, Bytes)>,
    max_events: usize,
    max_bytes: usize,
}

impl Model {
    fn size(e: &(Option<String>, Bytes)) -> usize {
        e.1.len() + e.0.as_ref().map_or(0, String::len)
    }

    fn retained(&self) -> &[(Option<String>, Bytes)] {
        let mut start = self.pushed.len();
        let mut bytes = 0;
        while start > 0 {
            let next = bytes + Self::size(&self.pushed[start - 1]);
            if self.pushed.len() - (start - 1) > self.max_events || next > self.max_bytes {
                break;
            }
            bytes = next;
            start -= 1;
        }
        &self.pushed[start..]
    }

    /// Replays after the last occurrence of `id` among the kept entries
    /// and the one evicted just before them (whose successor is known).
    fn replay(&self, id: &str) -> Option<Vec<Bytes>> {
        let kept = self.retained().len();
        let from = self.pushed.len() - kept;
        let window = &self.pushed[from.saturating_sub(1)..];
        let pos = window.iter().rposition(|(i, _)| i.as_deref() == Some(id))?;
        Some(window[pos + 1..].iter().map(|(_, b)| b.clone()).collect())
    }
}

#[derive(Debug, Clone)]
enum Op {
    Push(Option<String>, usize),
    Ask(String),
}

fn op() -> impl Strategy<Value = Op> {
    let id = prop_oneof![
        Just(None),
        (0u8..12).prop_map(|n| Some(format!("id{n}"))),
        Just(Some(String::new()))
    ];
    prop_oneof![
        3 => (id, 0usize..40).prop_map(|(i, n)| Op::Push(i, n)),
        1 => (0u8..14).prop_map(|n| Op::Ask(format!("id{n}"))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn history_matches_model(
        ops in prop::collection::vec(op(), 0..80),
        max_events in 0usize..10,
        max_bytes in 0usize..200,
    ) {
        let mut h = History::new(max_events, max_bytes);
        let mut model = Model { pushed: Vec::new(), max_events, max_bytes };
        for (k, op) in ops.into_iter().enumerate() {
            match op {
                Op::Push(id, n) => {
                    // Distinct payloads so a wrong replay cannot look right.
                    let bytes = Bytes::from(format!("{k}:{}", "x".repeat(n)));
                    h.push(id.clone().map(Utf8Bytes::from), bytes.clone());
                    // An empty id is not resumable, like no id.
                    model.pushed.push((id.filter(|i| !i.is_empty()), bytes));
                }
                Op::Ask(id) => prop_assert_eq!(replay(&h, &id), model.replay(&id)),
            }
            let kept = model.retained();
            prop_assert_eq!(h.len(), kept.len());
            prop_assert_eq!(h.byte_len(), kept.iter().map(Model::size).sum::<usize>());
            prop_assert!(h.len() <= max_events && h.byte_len() <= max_bytes);
        }
        for n in 0..14 {
            let id = format!("id{n}");
            prop_assert_eq!(replay(&h, &id), model.replay(&id));
        }
    }
}

#[test]
fn exact_replay_across_wraparound() {
    let mut h = History::new(4, usize::MAX);
    let mut sent = Vec::new();
    for n in 0..10 {
        let (id, data) = (n.to_string(), format!("event {n}"));
        sent.push(h.push_event(&EventRef::new(&data).id(&id)).unwrap());
    }
    // Events 6..=9 are stored.
    assert_eq!(replay(&h, "6"), Some(sent[7..].to_vec()));
    assert_eq!(replay(&h, "9"), Some(vec![]));
    // 5 was the last evicted: a client that saw it missed exactly 6..=9.
    assert_eq!(replay(&h, "5"), Some(sent[6..].to_vec()));
    // Older ones are gone: a full resync is needed.
    assert_eq!(replay(&h, "4"), None);
    assert_eq!(replay(&h, "0"), None);
    assert_eq!(replay(&h, "never sent"), None);
}

#[test]
fn byte_limit_evicts_oldest_first() {
    let ids: Vec<String> = (0..5).map(|n| n.to_string()).collect();
    let ev = |n: usize| EventRef::new("0123456789").id(&ids[n]);
    let one = ev(0).to_bytes().unwrap().len() + 1; // encoded bytes + 1-byte id
    let mut h = History::new(100, 3 * one);
    let sent: Vec<Bytes> = (0..5).map(|n| h.push_event(&ev(n)).unwrap()).collect();
    assert_eq!(h.len(), 3);
    assert_eq!(h.byte_len(), 3 * one);
    assert_eq!(replay(&h, "2"), Some(sent[3..].to_vec()));
    assert_eq!(replay(&h, "1"), Some(sent[2..].to_vec()));
    assert_eq!(replay(&h, "0"), None);
    // The bytes handed out are the ones stored: shared, not copied.
    let Replay::Events(mut it) = h.replay_after("3") else {
        panic!("3 is stored")
    };
    assert_eq!(it.next().unwrap().as_ptr(), sent[4].as_ptr());
}
