//! [`RuleState`]: seed 004's business rule over an analyzer's events. A `presence` event
//! says "object X is in the condition on this frame": X is reported on the n-th consecutive
//! analysed frame it is so, and not again until it has been out of it for m analysed
//! frames in a row. `instant` events (a wire crossed, a cut) are reported as they come.
//! The state is plain data, saved in the task's checkpoint so a restart does not report
//! an object twice.

use std::collections::BTreeMap;

use frameflow_runtime::analyzer_types::{Event, Persistence};
use serde::{Deserialize, Serialize};

use crate::spec::RuleSpec;

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
struct Presence {
    present: u32,
    absent: u32,
    reported: bool,
}

/// Per algorithm and object: how long it has been present or absent, and whether it was
/// reported.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct RuleState {
    /// Keyed `"{algorithm}:{object}"` (JSON object keys are strings).
    objects: BTreeMap<String, Presence>,
}

impl RuleState {
    /// One analysed frame of algorithm `algorithm`: its events in, those to report out.
    pub fn apply(&mut self, rule: &RuleSpec, algorithm: usize, events: Vec<Event>) -> Vec<Event> {
        let prefix = format!("{algorithm}:");
        let mut report = Vec::new();
        let mut here = BTreeMap::new();
        for event in events {
            match (event.persistence, event.object_id) {
                (Persistence::Presence, Some(id)) => {
                    here.entry(format!("{prefix}{id}")).or_insert(event);
                }
                _ => report.push(event),
            }
        }
        // Objects of this algorithm not in the condition on this frame.
        let absent: Vec<String> = self.objects.keys().filter(|k| k.starts_with(&prefix) && !here.contains_key(*k)).cloned().collect();
        for key in absent {
            let p = self.objects.get_mut(&key).expect("listed above");
            p.present = 0;
            p.absent += 1;
            if p.absent >= rule.absent {
                self.objects.remove(&key);
            }
        }
        for (key, event) in here {
            let p = self.objects.entry(key).or_default();
            p.present += 1;
            p.absent = 0;
            if !p.reported && p.present >= rule.present {
                p.reported = true;
                report.push(event);
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(id: u64) -> Event {
        Event { object_id: Some(id), bbox: None, persistence: Persistence::Presence, label: "intrusion".into(), extend_json: String::new() }
    }

    #[test]
    fn n_present_then_m_absent() {
        let rule = RuleSpec { present: 3, absent: 5 };
        let mut s = RuleState::default();
        let mut reported = Vec::new();
        // Present on frames 0-9, absent 10-12 (less than m), present 13-15, absent 16-21, present 22-24.
        for f in 0..25u32 {
            let here = (0..10).contains(&f) || (13..16).contains(&f) || (22..25).contains(&f);
            let events = if here { vec![presence(7)] } else { vec![] };
            if !s.apply(&rule, 0, events).is_empty() {
                reported.push(f);
            }
        }
        // Reported on its 3rd frame; the short gap does not re-arm; the long one does.
        assert_eq!(reported, vec![2, 24]);
        // A present run broken before n frames reports nothing.
        let mut s = RuleState::default();
        for here in [true, true, false, true, true] {
            assert!(s.apply(&rule, 0, if here { vec![presence(1)] } else { vec![] }).is_empty());
        }
        // Instants pass through; algorithms keep apart.
        let instant = Event { persistence: Persistence::Instant, ..presence(1) };
        assert_eq!(s.apply(&rule, 1, vec![instant.clone(), instant]).len(), 2);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<RuleState>(&json).unwrap(), s);
    }
}
