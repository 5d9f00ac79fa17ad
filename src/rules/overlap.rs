//! Overlaps the ranking of policy.md §10 does not settle. Of several notices that apply
//! to a case, the one whose zone contains the destination and is controlled beats one
//! without, then the higher `priority`, then the later start of the impact period. Two
//! notices with the same priority and the same start are settled only if, wherever both
//! can apply, exactly one of them is controlled. A wrong answer is worse than an error,
//! so loading refuses a pair for which some case leaves both equal.

use std::collections::BTreeSet;

use super::{DisruptionNotice, Scope, Window, ZoneIndex};
use crate::time::{self, Instant};

/// A kind of destination, as far as two notices' zones can tell places apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// A place in none of the listed codes.
    Elsewhere,
    /// A place in this province (2 digits) but in no listed code below it.
    Province(u32),
    /// A place in this city (4 digits) but in no listed county below it.
    City(u32),
    /// This county-level unit (6 digits).
    County(u32),
}

/// A case both notices apply to with the same standing.
enum Tie {
    /// The request or events fall in a control window of each.
    BothControlled(Place),
    /// The request falls in both impact periods at `.1`, outside every control window.
    NeitherControlled(Place, Instant),
}

/// For each notice whose ranking against an earlier one is not settled: its index and
/// what to tell the author.
pub(super) fn unsettled(notices: &[DisruptionNotice]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (j, b) in notices.iter().enumerate() {
        for a in &notices[..j] {
            if a.priority != b.priority || a.impact_period.from != b.impact_period.from {
                continue;
            }
            if let Some(tie) = tie(a, b) {
                out.push((j, message(a, b, &tie)));
            }
        }
    }
    out
}

fn tie(a: &DisruptionNotice, b: &DisruptionNotice) -> Option<Tie> {
    let mut places = BTreeSet::from([Place::Elsewhere]);
    for n in [a, b] {
        let ix = &n.zone_index;
        places.extend(ix.exact.keys().map(|&c| Place::County(c)));
        places.extend(ix.city.keys().map(|&c| Place::City(c)));
        places.extend(ix.province.keys().map(|&c| Place::Province(c)));
    }
    let start = a.impact_period.from;
    let end = match (a.impact_period.until, b.impact_period.until) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    for place in places {
        let (za, zb) = (covering(a, place), covering(b, place));
        let may_apply =
            |n: &DisruptionNotice, z: &[Window]| n.scope == Scope::Nationwide || !z.is_empty();
        if !may_apply(a, &za) || !may_apply(b, &zb) {
            continue;
        }
        // Carrier events may fall at any time, so a place in a zone of each can hit
        // a window of each.
        if !za.is_empty() && !zb.is_empty() {
            return Some(Tie::BothControlled(place));
        }
        let windows: Vec<Window> = za.into_iter().chain(zb).collect();
        if let Some(t) = uncovered(start, end, &windows) {
            return Some(Tie::NeitherControlled(place, t));
        }
    }
    None
}

/// The control windows of a notice's zones that cover a place.
fn covering(n: &DisruptionNotice, place: Place) -> Vec<Window> {
    let ix: &ZoneIndex = &n.zone_index;
    let mut zones: Vec<usize> = Vec::new();
    let mut add = |m: &super::HashMap<u32, Vec<usize>>, k: u32| {
        zones.extend(m.get(&k).into_iter().flatten());
    };
    match place {
        Place::Elsewhere => {}
        Place::Province(p) => add(&ix.province, p),
        Place::City(c) => {
            add(&ix.city, c);
            add(&ix.province, c / 100);
        }
        Place::County(c) => {
            add(&ix.exact, c);
            add(&ix.city, c / 100);
            add(&ix.province, c / 10_000);
        }
    }
    zones
        .into_iter()
        .filter_map(|z| n.zones.get(z).map(|z| z.control))
        .collect()
}

/// The first instant of `[start, end)` that no window contains, if any.
fn uncovered(start: Instant, end: Option<Instant>, windows: &[Window]) -> Option<Instant> {
    let mut t = start;
    loop {
        if end.is_some_and(|e| t >= e) {
            return None;
        }
        let mut covering = windows.iter().filter(|w| w.contains(t));
        let Some(first) = covering.next() else {
            return Some(t);
        };
        // Move to the furthest end of the windows containing `t`: `t` only grows, and
        // a window until further notice covers the rest.
        let furthest = covering.fold(first.until, |acc, w| match (acc, w.until) {
            (Some(x), Some(y)) => Some(x.max(y)),
            _ => None,
        });
        t = furthest?;
    }
}

fn message(a: &DisruptionNotice, b: &DisruptionNotice, tie: &Tie) -> String {
    let g = crate::gazetteer();
    let describe = |p: Place| match p {
        Place::Elsewhere => "a destination in none of their zones".to_owned(),
        Place::Province(c) => format!(
            "a destination in {}",
            g.describe(crate::geo::Area::Province(c * 10_000))
        ),
        Place::City(c) => format!(
            "a destination in {}",
            g.describe(crate::geo::Area::City(c * 100))
        ),
        Place::County(c) => format!(
            "a destination in {}",
            g.describe(crate::geo::Area::District(c))
        ),
    };
    let case = match tie {
        Tie::BothControlled(p) => format!(
            "{} whose request or carrier events fall in a control window of each",
            describe(*p)
        ),
        Tie::NeitherControlled(p, t) => format!(
            "{} with a request at {}, in both impact periods and in no control window",
            describe(*p),
            time::format(*t, a.time_zone)
        ),
    };
    format!(
        "notices `{}` and `{}` can both apply to one case ({case}), and nothing settles which decides: neither is controlled there while the other is not, they have the same `priority` ({}) and their impact periods start at the same time ({}); give the one that should decide a higher `priority`",
        a.id,
        b.id,
        a.priority,
        time::format(a.impact_period.from, a.time_zone)
    )
}
