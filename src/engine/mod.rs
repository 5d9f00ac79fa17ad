//! The decision: `decide(&Rules, &Case, as_of) -> Decision`, exactly as policy.md reads
//! the notice. Pure: no clock, no I/O, no logging; total: every case gets a decision.

mod case;
mod platform;

use smallvec::{SmallVec, smallvec};

pub use case::{Case, Event, EventPointer, Order, Place, Return, SHIPPED_AT};
pub use platform::{NotCovered, PlatformRefund, PlatformStatus};

use crate::codes::{
    Action, DeadlineKind, Evidence, Finding, Label, Outcome, RefundType, Scenario, Status,
    WarningCode,
};
use crate::rules::{DisruptionNotice, Rules, Scope, Window, ZoneMatch};
use crate::time::{self, Instant};
use chrono::Datelike;

/// A value put into an explanation's or a warning's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// An instant of the case (a request's, a carrier event's, a deadline).
    Time(Instant),
    /// An instant the deciding notice states (an end of its impact period, of a phase or
    /// of a zone's control window), which loading wrote once.
    NoticeTime(Instant),
    Int(i64),
    Text(String),
    Label(Label),
    Status(Status),
    /// A zone of the deciding notice, by index.
    Zone(usize),
    /// A phase of the deciding notice, by index.
    Phase(usize),
    /// A zone of another notice: the notice's index in [`Rules::notices`], then the
    /// zone's among its zones. Its text names the notice too.
    NoticeZone(usize, usize),
}

/// Something the caller should know, with the values for its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub code: WarningCode,
    pub args: Vec<(&'static str, Arg)>,
}

impl Warning {
    /// The JSON pointer of the input the warning is about, for the views' `pointer`: its
    /// `pointer` argument, or of a conflict's `pointers` the event that decided (the last
    /// named). A pasted trace's line (`/logistics_text line 3`) points at its field; its
    /// line is in the message. `None` for a warning about no one input.
    pub fn pointer(&self) -> Option<&str> {
        let named = self
            .args
            .iter()
            .find_map(|(name, arg)| match (*name, arg) {
                ("pointer", Arg::Text(p)) => Some(p.as_str()),
                ("pointers", Arg::Text(p)) => p.rsplit(", ").next(),
                _ => None,
            })?;
        let pointer = named.split(' ').next().unwrap_or(named);
        (!pointer.is_empty()).then_some(pointer)
    }
}

/// Why: a finding of the notice, with the values for its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub finding: Finding,
    /// In the order of [`crate::rules::finding_args`], where the text looks first.
    pub args: Args,
}

/// The values of an explanation, held inline: no finding takes more than
/// [`MOST_ARGS`], so a decision's explanations cost no allocation each.
pub type Args = SmallVec<[(&'static str, Arg); MOST_ARGS]>;

/// The most values an explanation takes (`zone_controlled`'s).
pub const MOST_ARGS: usize = 6;

/// Room for a decision's explanations when nothing adds to the usual ones (the
/// context's two, the scenario's one or two); see [`explanation_room`].
const EXPLANATIONS: usize = 4;

// Their allocation is one glibc serves from its per-thread cache (requests up to 1032
// bytes); a larger one takes ~500 instructions more, and as many to free.
const _: () = assert!(EXPLANATIONS * size_of::<Explanation>() <= 1032);

/// A deadline, measured from `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub kind: DeadlineKind,
    pub due_at: Instant,
    /// Whole seconds left, negative once past.
    pub remaining_seconds: i64,
    pub overdue: bool,
}

/// The zone of the relevant destination, and whether the case hit its control window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneVerdict {
    /// Index into the deciding notice's zones.
    pub zone: usize,
    pub controlled: bool,
}

/// What to do with a case, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Index of the deciding notice in [`Rules::notices`].
    pub notice: usize,
    /// The other notices that apply to the case, by index, in rank order
    /// (policy.md §10).
    pub also_applies: Vec<usize>,
    pub as_of: Instant,
    /// Whether the notice's policy applies (policy.md §4).
    pub applies: bool,
    pub in_impact_period: bool,
    /// Index of the phase containing `requested_at`.
    pub phase: Option<usize>,
    pub scenario: Scenario,
    pub outcome: Outcome,
    pub zone: Option<ZoneVerdict>,
    // The short lists are held inline (a decision has a few of each at most).
    pub deadlines: SmallVec<[Deadline; 2]>,
    pub actions: SmallVec<[Action; 6]>,
    /// Each entry is satisfied by any one of its codes.
    pub evidence: SmallVec<[&'static [Evidence]; 2]>,
    pub explanation: Vec<Explanation>,
    pub warnings: Vec<Warning>,
}

/// The latest parcel movement: the trace's last non-interception event, or the
/// collection implied by `shipped_at`.
#[derive(Debug, Clone, Copy)]
struct Head<'c> {
    at: Instant,
    status: Status,
    /// The trace event it came from (none when implied by `shipped_at`).
    event: Option<&'c Event>,
}

/// A notice weighed against a case.
struct Assessment {
    scope: Scope,
    in_impact: bool,
    zone: Option<ZoneVerdict>,
    /// What hit the control window first: the request, or a carrier event, and when.
    controlled_by: Option<(Label, Instant)>,
    /// A zone covering only part of the destination's area.
    partly: Option<usize>,
    /// Whether the notice would apply were the destination in that zone: the request in
    /// its impact period, or the request or a carrier event in the zone's control window.
    partly_applies: bool,
}

impl Assessment {
    /// policy.md §4, and §10 for a notice that covers only its zones.
    fn applies(&self) -> bool {
        let in_scope = self.scope == Scope::Nationwide || self.zone.is_some();
        in_scope && (self.in_impact || self.controlled_by.is_some())
    }
}

const INTERCEPT_FAILURE_PROOF: &[Evidence] = &[
    Evidence::CourierSiteScreenshot,
    Evidence::LogisticsRedStampCertificate,
];
const RETURN_TRACKING: &[Evidence] = &[Evidence::ReturnTrackingRecord];

/// Decides one case at the instant `as_of`.
pub fn decide(rules: &Rules, case: &Case, as_of: Instant) -> Decision {
    let refund_only = case.refund_type == RefundType::RefundOnly;
    let (place, events, place_label) = match (&case.return_, refund_only) {
        (_, true) => (
            Some(&case.destination),
            &case.trace[..],
            Label::BuyerAddress,
        ),
        (Some(r), false) => (r.destination.as_ref(), &r.trace[..], Label::ReturnAddress),
        (None, false) => (None, &[][..], Label::ReturnAddress),
    };

    // policy.md §9: the buyer's claim of receipt counts as the delivery it claims.
    let claim = platform::claimed_receipt(case);
    // Of events at the same instant, the one further in the parcel's progress is newer
    // (a delivery after its dispatch); of equals there, the later one in the trace read oldest first
    // (`max_by_key` gives the last of equals), with a warning when their statuses
    // contradict each other.
    let head = head_of(case, events, claim.as_ref());
    // When the latest interception event is a failure, when it failed.
    let interception_failed_at = events
        .iter()
        .filter(|e| e.status.is_interception())
        .max_by_key(|e| (e.at, progress(e.status)))
        .filter(|e| e.status == Status::InterceptFailed)
        .map(|e| e.at);

    let assessments: SmallVec<[Assessment; 4]> = rules
        .notices
        .iter()
        .map(|n| assess(n, case, place, events, head))
        .collect();
    let (notice_ix, also_applies) = rank(rules, &assessments, case.requested_at);
    let Some((notice, assessment)) = rules.notices.get(notice_ix).zip(assessments.get(notice_ix))
    else {
        // Loading guarantees at least one notice; an empty rule set decides nothing.
        return standard_only(case, as_of);
    };

    let phase = notice.phase_at(case.requested_at);
    let room = explanation_room(case, phase, head);
    let mut d = Decision {
        notice: notice_ix,
        also_applies,
        as_of,
        applies: assessment.applies(),
        in_impact_period: assessment.in_impact,
        phase,
        scenario: Scenario::NotShipped,
        outcome: Outcome::StandardProcess,
        zone: assessment.zone,
        deadlines: SmallVec::new(),
        actions: SmallVec::new(),
        evidence: SmallVec::new(),
        explanation: Vec::with_capacity(room),
        warnings: Vec::new(),
    };
    explain_context(&mut d, notice, case, assessment, place_label);
    // policy.md §10: a zone of another notice that may hold the destination, and would
    // make that notice apply (perhaps decide), is as much a guess as the deciding
    // notice's own.
    let coarse_elsewhere: SmallVec<[(usize, usize); 2]> = assessments
        .iter()
        .enumerate()
        .filter(|&(i, a)| i != notice_ix && a.partly_applies)
        .filter_map(|(i, a)| Some((i, a.partly?)))
        .collect();
    warn_about_input(
        &mut d,
        case,
        events,
        place,
        assessment,
        &coarse_elsewhere,
        refund_only,
    );
    // The buyer's claim is no carrier's record to weigh against one.
    if let Some(h) = head.filter(|h| {
        h.event
            .is_some_and(|e| !platform::is_claim(e, claim.as_ref()))
    }) {
        warn_about_conflict(&mut d, events, h);
    }

    if refund_only {
        refund_only_rows(&mut d, notice, case, head, interception_failed_at);
    } else {
        return_rows(&mut d, notice, case, head);
    }

    // A provider code or carrier text at the head: say how it was read; the buyer's
    // claim of receipt: say it is theirs.
    if let Some(e) = head.and_then(|h| h.event)
        && platform::is_claim(e, claim.as_ref())
    {
        d.explanation.push(Explanation {
            finding: Finding::BuyerClaimedReceipt,
            args: smallvec![("at", Arg::Time(e.at))],
        });
    } else if let Some(e) = head.and_then(|h| h.event)
        && let Some(raw) = &e.raw
    {
        d.explanation.push(Explanation {
            finding: Finding::StatusRead,
            args: smallvec![
                ("pointer", Arg::Text(e.pointer.to_string())),
                ("raw", Arg::Text(raw.clone())),
                ("status", Arg::Status(e.status)),
            ],
        });
    }

    if !d.applies {
        // policy.md §4: classified, but the standard process with no deadlines.
        to_standard_process(&mut d);
        if assessment.scope == Scope::Zones && assessment.zone.is_none() {
            d.explanation.push(Explanation {
                finding: Finding::OutsideScope,
                args: smallvec![("destination", Arg::Label(place_label))],
            });
        }
        d.explanation.push(Explanation {
            finding: Finding::NotApplicable,
            args: smallvec![],
        });
    }
    // policy.md §9: the platform's own state bounds what the notice can advise.
    if let Some(p) = &case.platform {
        platform::apply(&mut d, p);
    }
    if d.outcome == Outcome::RejectWithEvidence {
        d.explanation.push(Explanation {
            finding: Finding::NeverRejectStraightAway,
            args: smallvec![],
        });
    }
    warn_about_passed_deadlines(&mut d);
    d
}

/// A deadline the advice depends on that had passed by `as_of`: the advice still
/// stands (and the deadline is `overdue`), but its time limit is missed, as a return
/// countdown's end is. `stalled_after` is no time limit of the merchant's, and the
/// platform's deadline binds an action only when the advice is the notice's.
fn warn_about_passed_deadlines(d: &mut Decision) {
    let passed: SmallVec<[Warning; 1]> = d
        .deadlines
        .iter()
        .filter(|x| x.overdue)
        .filter(|x| match x.kind {
            DeadlineKind::InterceptAndRefundBy | DeadlineKind::RespondBy => true,
            DeadlineKind::PlatformDeadline => d.outcome != Outcome::StandardProcess,
            DeadlineKind::StalledAfter => false,
        })
        .map(|x| Warning {
            code: WarningCode::DeadlinePassed,
            args: vec![
                ("deadline", Arg::Text(x.kind.as_str().to_owned())),
                ("due_at", Arg::Time(x.due_at)),
                ("as_of", Arg::Time(d.as_of)),
            ],
        })
        .collect();
    d.warnings.extend(passed);
}

/// The latest movement of the parcel `events` are of (with the buyer's `claim` of
/// receipt), else the collection `shipped_at` implies for a refund only.
fn head_of<'c>(case: &Case, events: &'c [Event], claim: Option<&'c Event>) -> Option<Head<'c>> {
    events
        .iter()
        .chain(claim)
        .filter(|e| !e.status.is_interception())
        .max_by_key(|e| (e.at, progress(e.status)))
        .map(|e| Head {
            at: e.at,
            status: e.status,
            event: Some(e),
        })
        .or_else(|| {
            let refund_only = case.refund_type == RefundType::RefundOnly;
            let shipped = case.order.shipped_at.filter(|_| refund_only)?;
            Some(Head {
                at: shipped,
                status: Status::Collected,
                event: None,
            })
        })
}

/// A time of a decision that no response can show: past the year 9999 in the policy's
/// time zone, with the pointer of the input it was counted from, and why. A guard that
/// accepted input never trips: requests are read up to 9996-12-31T23:59:59.999Z
/// ([`time::EPOCH_MS_MAX`]), a deadline adds at most two thresholds of at most 366 days
/// (`max(requested_at, head + stall) + window`; `countdown_started_at + countdown`), so
/// the latest is 9999-01-02T23:59:59.999Z, still 9999 at +14:00. It stays so that a
/// change to either bound fails closed (422) rather than showing a time no response can.
pub fn beyond_range(rules: &Rules, case: &Case, d: &Decision) -> Option<(String, String)> {
    // Every instant up to 9999-12-31T09:59:59Z is in the year 9999 in any time zone
    // (offsets reach +14:00): the usual decision needs no time zone arithmetic.
    let surely_shown = |t: Instant| t.timestamp() <= 253_402_250_399;
    let shown = |t: Instant| surely_shown(t) || t.with_timezone(&rules.time_zone).year() <= 9999;
    let times = d
        .explanation
        .iter()
        .flat_map(|e| e.args.iter())
        .chain(d.warnings.iter().flat_map(|w| w.args.iter()))
        .filter_map(|(_, a)| match a {
            Arg::Time(t) | Arg::NoticeTime(t) => Some(*t),
            _ => None,
        });
    let late_deadline = d.deadlines.iter().find(|x| !shown(x.due_at));
    if late_deadline.is_none() && times.clone().all(shown) {
        return None;
    }

    let refund_only = case.refund_type == RefundType::RefundOnly;
    let events = match (&case.return_, refund_only) {
        (_, true) => &case.trace[..],
        (Some(r), false) => &r.trace[..],
        (None, false) => &[][..],
    };
    let claim = platform::claimed_receipt(case);
    let head = head_of(case, events, claim.as_ref());
    let requested = if case.platform.is_some() {
        "/kuaishou_refund/submitTime"
    } else {
        "/requested_at"
    };
    let head_pointer = || match head.and_then(|h| h.event) {
        Some(e) if platform::is_claim(e, claim.as_ref()) => requested.to_owned(),
        Some(e) => e.pointer.to_string(),
        None => case.order.shipped_at_pointer.to_owned(),
    };
    let stall = rules
        .notices
        .get(d.notice)
        .map(|n| n.thresholds.stall_after);
    let pointer = match late_deadline.map(|x| x.kind) {
        Some(DeadlineKind::InterceptAndRefundBy)
            if head
                .zip(stall)
                .is_some_and(|(h, stall)| case.requested_at >= h.at + stall) =>
        {
            requested.to_owned()
        }
        Some(DeadlineKind::RespondBy) => {
            let ends_given = case
                .return_
                .as_ref()
                .is_some_and(|r| r.countdown_ends_at.is_some());
            if ends_given {
                "/return/countdown_ends_at".to_owned()
            } else {
                COUNTDOWN_STARTED_AT.to_owned()
            }
        }
        Some(DeadlineKind::PlatformDeadline) => "/kuaishou_refund/expireTime".to_owned(),
        _ => head_pointer(),
    };
    let what = late_deadline.map_or("a time the decision counts from it", |x| x.kind.as_str());
    // A line of a pasted trace is named in the message, as the text's other problems are.
    let (pointer, line) = match pointer.split_once(' ') {
        Some((pointer, line)) => (pointer.to_owned(), format!("{line} ")),
        None => (pointer, String::new()),
    };
    Some((
        pointer,
        format!(
            "{line}is too late to decide on: {what} would fall after the year 9999 in the policy's time zone, which no response can show. Times are read up to 9996-12-31T23:59:59Z, and what is counted from them must fit too: check the time"
        ),
    ))
}

/// Room for the explanations of `case`. A phase, a status read from a carrier's or a
/// provider's own words and the platform's refund object each add to the usual ones
/// (a Kuaishou refund in a phase has seven): such a decision gets room for twice as
/// many at once, as growing out of the usual room would give it anyway. One allocation
/// past glibc's per-thread cache costs less than growing out of one in it: ~390
/// instructions less for a decision in a phase (`whole-phase` in
/// benches/instructions.rs).
fn explanation_room(case: &Case, phase: Option<usize>, head: Option<Head<'_>>) -> usize {
    let more = phase.is_some()
        || case.platform.is_some()
        || head.and_then(|h| h.event).is_some_and(|e| e.raw.is_some());
    if more { 2 * EXPLANATIONS } else { EXPLANATIONS }
}

fn standard_only(case: &Case, as_of: Instant) -> Decision {
    Decision {
        notice: 0,
        also_applies: vec![],
        as_of,
        applies: false,
        in_impact_period: false,
        phase: None,
        scenario: if case.refund_type == RefundType::RefundOnly {
            Scenario::NotShipped
        } else {
            Scenario::ReturnNotShipped
        },
        outcome: Outcome::StandardProcess,
        zone: None,
        deadlines: smallvec![],
        actions: smallvec![Action::FollowStandardProcess],
        evidence: smallvec![],
        explanation: vec![],
        warnings: vec![],
    }
}

/// The platform's standard process: none of the notice's advice or deadlines, and none
/// of the scenario's findings (they would advise what no longer applies).
fn to_standard_process(d: &mut Decision) {
    d.outcome = Outcome::StandardProcess;
    d.deadlines.clear();
    d.actions = smallvec![Action::FollowStandardProcess];
    d.evidence.clear();
    d.explanation
        .retain(|e| is_context(e.finding) || e.finding == Finding::NotApplicable);
    d.warnings
        .retain(|w| w.code != WarningCode::ReturnCountdownExpired);
}

/// Findings about the notice and the zone, as opposed to the scenario's own.
fn is_context(f: Finding) -> bool {
    matches!(
        f,
        Finding::InImpactPeriod
            | Finding::OutsideImpactPeriod
            | Finding::InPhase
            | Finding::ZoneControlled
            | Finding::ZoneNotControlled
            | Finding::NoZone
            | Finding::StatusRead
            | Finding::OutsideScope
            | Finding::BuyerClaimedReceipt
    )
}

fn assess(
    n: &DisruptionNotice,
    case: &Case,
    place: Option<&Place>,
    events: &[Event],
    head: Option<Head<'_>>,
) -> Assessment {
    let in_impact = n.impact_period.contains(case.requested_at);
    let mut a = Assessment {
        scope: n.scope,
        in_impact,
        zone: None,
        controlled_by: None,
        partly: None,
        partly_applies: false,
    };
    let Some(area) = place.and_then(|p| p.area) else {
        return a;
    };
    // A trace without movements still has the collection implied by `shipped_at`.
    let event_times = events.iter().map(|e| e.at).chain(head.map(|h| h.at));
    let zone_ix = match n.zone_at(area, case.requested_at, event_times.clone()) {
        ZoneMatch::In(z) => z,
        ZoneMatch::Partly(z) => {
            a.partly = Some(z);
            a.partly_applies = in_impact
                || n.zones.get(z).is_some_and(|zone| {
                    let w = zone.control;
                    w.contains(case.requested_at) || event_times.clone().any(|t| w.contains(t))
                });
            return a;
        }
        ZoneMatch::None => return a,
    };
    let window = n.zones[zone_ix].control;
    a.controlled_by = if window.contains(case.requested_at) {
        Some((Label::Request, case.requested_at))
    } else {
        // The earliest carrier event inside the window.
        event_times
            .filter(|t| window.contains(*t))
            .min()
            .map(|t| (Label::CarrierEvent, t))
    };
    a.zone = Some(ZoneVerdict {
        zone: zone_ix,
        controlled: a.controlled_by.is_some(),
    });
    a
}

/// The end of a window for a text: its time, or "until further notice".
fn until(w: Window) -> Arg {
    w.until
        .map_or(Arg::Label(Label::FurtherNotice), Arg::NoticeTime)
}

/// The deciding notice and the others that apply (policy.md §10). Of the notices that
/// apply, one whose zone contains the destination and is controlled beats one without;
/// then the higher `priority`; then the later start of the impact period. Loading
/// refuses files where these leave two notices equal for some case, so file order
/// never decides between notices that apply. When none applies, the notice reported is
/// the one whose impact period is nearest the request (of equals, one whose scope
/// covers the destination): its explanation says why it does not apply.
fn rank(rules: &Rules, assessments: &[Assessment], requested_at: Instant) -> (usize, Vec<usize>) {
    let mut applying: SmallVec<[usize; 4]> = (0..assessments.len())
        .filter(|&i| assessments[i].applies())
        .collect();
    // Stable, highest first.
    applying.sort_by_key(|&i| {
        let n = &rules.notices[i];
        std::cmp::Reverse((
            assessments[i].controlled_by.is_some(),
            n.priority,
            n.impact_period.from,
        ))
    });
    if let Some((&first, rest)) = applying.split_first() {
        return (first, rest.to_vec());
    }
    let nearest = (0..assessments.len()).min_by_key(|&i| {
        let a = &assessments[i];
        let out_of_scope = a.scope == Scope::Zones && a.zone.is_none();
        (
            rules.notices[i].impact_period.distance(requested_at),
            out_of_scope,
        )
    });
    (nearest.unwrap_or(0), Vec::new())
}

fn explain_context(
    d: &mut Decision,
    n: &DisruptionNotice,
    case: &Case,
    a: &Assessment,
    place_label: Label,
) {
    let impact = n.impact_period;
    d.explanation.push(Explanation {
        finding: if a.in_impact {
            Finding::InImpactPeriod
        } else {
            Finding::OutsideImpactPeriod
        },
        args: smallvec![
            ("requested_at", Arg::Time(case.requested_at)),
            ("from", Arg::NoticeTime(impact.from)),
            ("until", until(impact)),
        ],
    });
    if let Some(p) = d.phase {
        let w = n.phases[p].window;
        d.explanation.push(Explanation {
            finding: Finding::InPhase,
            args: smallvec![
                ("phase", Arg::Phase(p)),
                ("from", Arg::NoticeTime(w.from)),
                ("until", until(w)),
            ],
        });
    }
    let destination = ("destination", Arg::Label(place_label));
    let explanation = match (a.zone, a.controlled_by) {
        (Some(z), Some((what, at))) => {
            let w = n.zones[z.zone].control;
            Explanation {
                finding: Finding::ZoneControlled,
                args: smallvec![
                    destination,
                    ("zone", Arg::Zone(z.zone)),
                    ("what", Arg::Label(what)),
                    ("at", Arg::Time(at)),
                    ("from", Arg::NoticeTime(w.from)),
                    ("until", until(w)),
                ],
            }
        }
        (Some(z), None) => {
            let w = n.zones[z.zone].control;
            Explanation {
                finding: Finding::ZoneNotControlled,
                args: smallvec![
                    destination,
                    ("zone", Arg::Zone(z.zone)),
                    ("from", Arg::NoticeTime(w.from)),
                    ("until", until(w)),
                ],
            }
        }
        (None, _) => Explanation {
            finding: Finding::NoZone,
            args: smallvec![destination],
        },
    };
    d.explanation.push(explanation);
}

fn warn_about_input(
    d: &mut Decision,
    case: &Case,
    events: &[Event],
    place: Option<&Place>,
    a: &Assessment,
    coarse_elsewhere: &[(usize, usize)],
    refund_only: bool,
) {
    d.warnings.extend(case.destination.notes.iter().cloned());
    d.warnings.extend(case.notes.iter().cloned());
    if let Some(ret) = case.return_.as_ref().and_then(|r| r.destination.as_ref()) {
        d.warnings.extend(ret.notes.iter().cloned());
    }
    if !refund_only && place.is_none() {
        d.warnings.push(Warning {
            code: WarningCode::ReturnDestinationMissing,
            args: vec![],
        });
    }
    let label = || place.and_then(|p| p.label.as_deref()).unwrap_or_default();
    let own = a.partly.map(Arg::Zone);
    let others = coarse_elsewhere
        .iter()
        .map(|&(notice, zone)| Arg::NoticeZone(notice, zone));
    for zone in own.into_iter().chain(others) {
        d.warnings.push(Warning {
            code: WarningCode::DestinationTooCoarse,
            args: vec![("place", Arg::Text(label().to_owned())), ("zone", zone)],
        });
    }
    if case.requested_at > d.as_of {
        d.warnings.push(Warning {
            code: WarningCode::RequestedAfterAsOf,
            args: vec![
                ("requested_at", Arg::Time(case.requested_at)),
                ("as_of", Arg::Time(d.as_of)),
            ],
        });
    }
    let late = |pointer: String, at: Instant| Warning {
        code: WarningCode::EventAfterAsOf,
        args: vec![
            ("pointer", Arg::Text(pointer)),
            ("at", Arg::Time(at)),
            ("as_of", Arg::Time(d.as_of)),
        ],
    };
    let mut later: Vec<Warning> = events
        .iter()
        .filter(|e| e.at > d.as_of)
        .map(|e| late(e.pointer.to_string(), e.at))
        .collect();
    // `shipped_at` is the collection it implies (used as trace events are), whether or
    // not a trace stands in for it.
    if let Some(shipped) = case.order.shipped_at.filter(|t| *t > d.as_of) {
        later.push(late(case.order.shipped_at_pointer.to_owned(), shipped));
    }
    d.warnings.extend(later);
    // A countdown starting after `as_of` had not started then: it does not run.
    if let Some(started) = case
        .return_
        .as_ref()
        .and_then(|r| r.countdown_started_at)
        .filter(|t| *t > d.as_of)
    {
        d.warnings.push(Warning {
            code: WarningCode::CountdownAfterAsOf,
            args: vec![
                ("pointer", Arg::Text(COUNTDOWN_STARTED_AT.to_owned())),
                ("at", Arg::Time(started)),
                ("as_of", Arg::Time(d.as_of)),
            ],
        });
    }
}

/// The pointer of `return.countdown_started_at`.
const COUNTDOWN_STARTED_AT: &str = "/return/countdown_started_at";

/// Where a status stands in a parcel's progress, which orders events recorded at the
/// same instant: collected, moving, out for delivery, then signed for, refused or
/// intercepted, then on the way back, then back. An interception's failure comes after
/// its request.
fn progress(s: Status) -> u8 {
    match s {
        Status::Collected | Status::InterceptRequested => 0,
        Status::InTransit | Status::SecurityCheck | Status::Exception | Status::InterceptFailed => {
            1
        }
        Status::OutForDelivery => 2,
        Status::Delivered | Status::Rejected | Status::Intercepted => 3,
        Status::Returning => 4,
        Status::Returned => 5,
    }
}

/// Whether two statuses at one instant contradict each other: the same stage of
/// progress, read differently (signed for and refused). The moving statuses decide
/// alike, so they never do.
fn contradict(a: Status, b: Status) -> bool {
    let moving = |s| {
        matches!(
            s,
            Status::InTransit | Status::SecurityCheck | Status::Exception
        )
    };
    a != b && progress(a) == progress(b) && !(moving(a) && moving(b))
}

/// The carrier events at the head's instant whose statuses contradict the head's: the
/// decision took the last of them in the trace read oldest first (a trace given newest
/// first was reversed when read), and says so with their pointers.
fn warn_about_conflict(d: &mut Decision, events: &[Event], head: Head<'_>) {
    let at_head = || events.iter().filter(|e| e.at == head.at);
    if !at_head().any(|e| contradict(e.status, head.status)) {
        return;
    }
    let pointers: Vec<String> = at_head()
        .filter(|e| e.status == head.status || contradict(e.status, head.status))
        .map(|e| e.pointer.to_string())
        .collect();
    d.warnings.push(Warning {
        code: WarningCode::SimultaneousEventsConflict,
        args: vec![
            ("pointers", Arg::Text(pointers.join(", "))),
            ("at", Arg::Time(head.at)),
            ("status", Arg::Status(head.status)),
        ],
    });
}

fn deadline(kind: DeadlineKind, due_at: Instant, as_of: Instant) -> Deadline {
    Deadline {
        kind,
        due_at,
        remaining_seconds: time::seconds_between(as_of, due_at),
        overdue: as_of > due_at,
    }
}

fn hours(d: chrono::Duration) -> Arg {
    Arg::Int(d.num_hours())
}

/// policy.md §5, the notice's 3.1: rows tried top to bottom.
fn refund_only_rows(
    d: &mut Decision,
    n: &DisruptionNotice,
    case: &Case,
    head: Option<Head<'_>>,
    interception_failed_at: Option<Instant>,
) {
    let t = n.thresholds;
    // Actions begin by contacting the buyer, except where the refund itself comes first.
    let contact = if d.zone.is_some_and(|z| z.controlled) {
        Action::ContactBuyerSecurityChecks
    } else {
        Action::ContactBuyerEventDelay
    };
    let Some(head) = head else {
        d.scenario = Scenario::NotShipped;
        d.outcome = Outcome::ApproveRefund;
        d.actions.push(Action::ApproveRefundNow);
        d.explanation.push(Explanation {
            finding: Finding::NotShipped,
            args: smallvec![],
        });
        if let Some(open) = case
            .open_refund_requests
            .filter(|o| *o >= t.surge_open_refund_requests)
        {
            d.actions.push(Action::EnableAtomPreShipmentRefund);
            d.explanation.push(Explanation {
                finding: Finding::Surge,
                args: smallvec![
                    ("open", Arg::Int(i64::try_from(open).unwrap_or(i64::MAX))),
                    (
                        "surge",
                        Arg::Int(i64::try_from(t.surge_open_refund_requests).unwrap_or(i64::MAX)),
                    ),
                ],
            });
        }
        return;
    };
    let head_args = || -> Args {
        smallvec![
            ("status", Arg::Status(head.status)),
            ("at", Arg::Time(head.at)),
        ]
    };
    match head.status {
        Status::Rejected | Status::Returning | Status::Returned | Status::Intercepted => {
            d.scenario = Scenario::RejectedOrReturned;
            d.outcome = Outcome::ApproveRefund;
            d.actions.push(Action::ApproveRefundNow);
            d.explanation.push(Explanation {
                finding: Finding::RejectedOrReturned,
                args: head_args(),
            });
        }
        Status::Delivered => {
            d.scenario = Scenario::Delivered;
            d.outcome = Outcome::StandardProcess;
            d.actions.extend([contact, Action::FollowStandardProcess]);
            d.explanation.push(Explanation {
                finding: Finding::Delivered,
                args: smallvec![("at", Arg::Time(head.at))],
            });
        }
        _ => {
            let stalled_at = head.at + t.stall_after;
            let unmoved_for = d.as_of - head.at;
            // "More than 72 h": exactly 72 h is still in transit.
            if unmoved_for > t.stall_after {
                d.scenario = Scenario::Stalled;
                // The window opens once the request exists and the stall has lasted.
                let due = case.requested_at.max(stalled_at) + t.intercept_window;
                d.deadlines
                    .push(deadline(DeadlineKind::InterceptAndRefundBy, due, d.as_of));
                let mut args = head_args();
                args.push(("hours", Arg::Int(unmoved_for.num_hours())));
                args.push(("stall_hours", hours(t.stall_after)));
                d.explanation.push(Explanation {
                    finding: Finding::Stalled,
                    args,
                });
                d.explanation.push(Explanation {
                    finding: Finding::InterceptWindow,
                    args: smallvec![
                        ("window_hours", hours(t.intercept_window)),
                        ("stall_hours", hours(t.stall_after)),
                        ("stalled_at", Arg::Time(stalled_at)),
                        ("due_at", Arg::Time(due)),
                    ],
                });
                if let Some(failed_at) = interception_failed_at {
                    d.outcome = Outcome::ApproveRefund;
                    d.actions
                        .extend([contact, Action::ApproveRefundWithInterceptFailureProof]);
                    d.evidence.push(INTERCEPT_FAILURE_PROOF);
                    d.explanation.push(Explanation {
                        finding: Finding::InterceptFailedStalled,
                        args: smallvec![("at", Arg::Time(failed_at))],
                    });
                } else {
                    d.outcome = Outcome::InterceptAndRefund;
                    d.actions
                        .extend([contact, Action::InterceptAndRefundWithinWindow]);
                }
            } else {
                d.scenario = Scenario::InTransit;
                d.deadlines
                    .push(deadline(DeadlineKind::StalledAfter, stalled_at, d.as_of));
                let mut args = head_args();
                args.push(("stalled_after", Arg::Time(stalled_at)));
                d.explanation.push(Explanation {
                    finding: Finding::InTransit,
                    args,
                });
                if let Some(failed_at) = interception_failed_at {
                    d.outcome = Outcome::RefundAfterRejection;
                    d.actions.extend([
                        contact,
                        Action::GuideBuyerToReject,
                        Action::RefundAfterRejection,
                    ]);
                    d.explanation.push(Explanation {
                        finding: Finding::InterceptFailedInTransit,
                        args: smallvec![("at", Arg::Time(failed_at))],
                    });
                } else {
                    d.outcome = Outcome::InterceptAndRefund;
                    d.actions.extend([contact, Action::InterceptAndRefund]);
                }
            }
        }
    }
}

/// policy.md §6, the notice's 3.2: rows tried top to bottom.
fn return_rows(d: &mut Decision, n: &DisruptionNotice, case: &Case, head: Option<Head<'_>>) {
    let t = n.thresholds;
    let ret = case.return_.as_ref();
    let countdown_end = ret.and_then(|r| {
        r.countdown_ends_at
            .or_else(|| r.countdown_started_at.map(|s| s + t.return_countdown))
    });
    let started = ret
        .and_then(|r| r.countdown_started_at)
        .is_none_or(|s| s <= d.as_of);
    let running = countdown_end.filter(|end| started && d.as_of < *end);

    let Some(head) = head else {
        d.scenario = Scenario::ReturnNotShipped;
        d.outcome = Outcome::StandardProcess;
        d.actions.push(Action::FollowStandardProcess);
        d.explanation.push(Explanation {
            finding: Finding::ReturnNotShipped,
            args: smallvec![],
        });
        return;
    };
    let status = ("status", Arg::Status(head.status));
    match head.status {
        Status::Delivered => {
            d.scenario = Scenario::ReturnReceived;
            d.outcome = Outcome::ApproveRefund;
            d.actions.push(Action::ApproveRefundOnReceipt);
            d.explanation.push(Explanation {
                finding: Finding::ReturnReceived,
                args: smallvec![("at", Arg::Time(head.at))],
            });
        }
        Status::Rejected | Status::Returning | Status::Returned => {
            d.scenario = Scenario::ReturnFailed;
            d.outcome = Outcome::StandardProcess;
            d.actions.push(Action::FollowStandardProcess);
            d.explanation.push(Explanation {
                finding: Finding::ReturnFailed,
                args: smallvec![status, ("at", Arg::Time(head.at))],
            });
        }
        // A countdown that had not started by `as_of` neither runs nor has expired, even
        // when its given end is earlier (that end is warned about as inconsistent).
        _ => match (countdown_end, running) {
            (Some(end), _) if started && d.as_of >= end => {
                d.scenario = Scenario::ReturnCountdownExpired;
                d.outcome = Outcome::StandardProcess;
                d.actions.push(Action::FollowStandardProcess);
                d.explanation.push(Explanation {
                    finding: Finding::ReturnCountdownExpired,
                    args: smallvec![
                        ("countdown_hours", hours(t.return_countdown)),
                        ("ends_at", Arg::Time(end)),
                    ],
                });
                d.warnings.push(Warning {
                    code: WarningCode::ReturnCountdownExpired,
                    args: vec![("ends_at", Arg::Time(end))],
                });
            }
            (_, Some(end)) if head.status != Status::OutForDelivery => {
                d.scenario = Scenario::ReturnUndeliveredInCountdown;
                d.outcome = Outcome::RejectWithEvidence;
                d.deadlines
                    .push(deadline(DeadlineKind::RespondBy, end, d.as_of));
                d.actions.extend([
                    Action::ContactBuyerReturnNotArrived,
                    Action::RejectBeforeCountdownEnds,
                    Action::UploadReturnTrackingEvidence,
                ]);
                d.evidence.push(RETURN_TRACKING);
                d.explanation.push(Explanation {
                    finding: Finding::ReturnUndeliveredInCountdown,
                    args: smallvec![("ends_at", Arg::Time(end)), status],
                });
            }
            _ => {
                d.scenario = Scenario::ReturnInTransit;
                d.outcome = Outcome::AwaitReturn;
                if let Some(end) = running {
                    d.deadlines
                        .push(deadline(DeadlineKind::RespondBy, end, d.as_of));
                }
                d.actions.extend([
                    Action::ReassureBuyerReturnDelayed,
                    Action::GuideBuyerContactCourier,
                    Action::PromiseProcessingOnReceipt,
                ]);
                d.explanation.push(Explanation {
                    finding: Finding::ReturnInTransit,
                    args: smallvec![status],
                });
            }
        },
    }
}
