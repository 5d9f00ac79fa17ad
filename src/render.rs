//! A decision as callers see it: JSON views with texts in the caller's language and
//! times in the policy's offset, and a short plain-text summary for people with curl.

use std::cell::RefCell;

use serde::Serialize;
use smallvec::SmallVec;
use utoipa::ToSchema;

pub mod json;
pub(crate) mod times;

use crate::codes::{Action, DeadlineKind, Evidence, Finding, Outcome, Scenario, WarningCode};
use crate::engine::{Arg, Decision};
use crate::rules::{DisruptionNotice, Lang, Literal, Placeholder, Rules, Template, TextWord};
use crate::time::Instant;
use times::Rfc3339;

/// Which fields a decision is answered with (`?view=`); every answer names its view in
/// its `view` field, so a typed client tells the two apart without guessing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Everything, texts in the caller's language: [`DecisionView`].
    #[default]
    Full,
    /// The full view's fields and shape less its rendered texts (names, `text`,
    /// `detail`, `message`): [`CompactDecisionView`], for backends that keep their own
    /// words.
    Compact,
}

impl View {
    /// The name callers see (`?view=` and the answer's `view`).
    pub fn as_str(self) -> &'static str {
        match self {
            View::Full => "full",
            View::Compact => "compact",
        }
    }
}

/// The decision for one case (`POST /v1/decisions`): what to do, by when, and why. Texts
/// are in the caller's language (`Accept-Language` or `?lang=`); every time is RFC 3339
/// with the rules' offset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecisionView {
    /// Unique id of this decision (a UUIDv7; also in the logs and the decision log).
    #[schema(example = "0192f1c4-7a1e-7cc0-a6f5-3e1f5b2c9d10")]
    pub decision_id: String,
    /// The shop's case id, echoed; null when the request had none.
    #[schema(required = true, example = "AS-1003")]
    pub case_id: Option<String>,
    /// Version of the rules that decided.
    #[schema(example = "2023-hangzhou-1")]
    pub rules_version: String,
    /// The instant decided at: the request's `as_of`, or the server's clock.
    #[schema(format = DateTime, example = "2023-10-14T09:00:00+08:00")]
    pub as_of: String,
    /// Whether the notice applies to the case: the request was filed in its impact
    /// period, or the destination is in a control zone whose window the request or a
    /// carrier event falls in. When false, the decision is `standard_process`.
    pub applies: bool,
    /// Which situation of the notice the case is in.
    pub scenario: Scenario,
    /// What to do with the request.
    pub decision: Outcome,
    /// The notice that decided.
    pub event: EventView,
    /// The other notices that also apply to the case, highest ranked first; empty when
    /// one notice is loaded. The deciding notice is the one whose controlled zone holds
    /// the destination, then the one with the higher priority, then the later one.
    pub also_applies: Vec<NoticeRef>,
    /// The control zone of the relevant destination (the buyer's address for refund
    /// only, the merchant's return address for return and refund); null when it is in
    /// none.
    #[schema(required = true)]
    pub zone: Option<ZoneView>,
    /// Deadlines, each with the time left.
    pub deadlines: Vec<DeadlineView>,
    /// What to do, in order.
    pub actions: Vec<ActionView>,
    /// Evidence to keep; each entry is satisfied by any one of its codes.
    pub evidence: Vec<EvidenceView>,
    /// Why, by the notice's sections.
    pub explanation: Vec<ExplanationView>,
    /// What the caller should know about the input or the case; empty when nothing.
    pub warnings: Vec<WarningView>,
    /// Always `full`: this view (`CompactDecisionView` says `compact`).
    pub view: View,
}

/// The disruption notice that decided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    /// The notice's id in the rules file.
    #[schema(example = "hangzhou-2023-asian-games")]
    pub id: String,
    /// The notice's name, in the caller's language.
    #[schema(example = "杭州亚运会和残奥会售后公告")]
    pub name: String,
    /// Whether `requested_at` falls in the notice's impact period.
    pub in_impact_period: bool,
    /// The id of the notice's phase containing `requested_at` (`asian_games`,
    /// `para_games` in the 2023 notice; phases are data of the rules file), or null.
    #[schema(required = true, example = "asian_games")]
    pub phase: Option<String>,
}

/// A notice, by id and name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeRef {
    /// The notice's id in the rules file.
    #[schema(example = "harbin-2025-asian-winter-games")]
    pub id: String,
    /// The notice's name, in the caller's language.
    pub name: String,
}

/// The control zone of the relevant destination.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneView {
    /// The zone's id in the rules file.
    #[schema(example = "hangzhou")]
    pub id: String,
    /// The zone's name, in the caller's language.
    #[schema(example = "杭州市")]
    pub name: String,
    /// Whether the request or an event of the relevant shipment falls in the control
    /// window (parcels then go through the security checks).
    pub controlled: bool,
    /// Start of the control window (included).
    #[schema(format = DateTime, example = "2023-09-16T00:00:00+08:00")]
    pub control_from: String,
    /// End of the control window (excluded); null when it lasts until further notice.
    #[schema(required = true, format = DateTime, example = "2023-10-29T00:00:00+08:00")]
    pub control_until: Option<String>,
    /// True when the control window has no end yet (另行通知).
    pub control_until_further_notice: bool,
}

/// A deadline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadlineView {
    /// What the deadline is for.
    pub kind: DeadlineKind,
    /// When it falls due.
    #[schema(format = DateTime, example = "2023-10-15T14:00:00+08:00")]
    pub due_at: String,
    /// Whole seconds from `as_of` to `due_at`; negative once past.
    #[schema(example = 104400)]
    pub remaining_seconds: i64,
    /// True once `due_at` is past (at `as_of`).
    pub overdue: bool,
}

/// A step to take.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActionView {
    /// Which step (stable, for code).
    pub code: Action,
    /// The step in words, in the caller's language (for people).
    pub text: String,
}

/// Evidence: any one of the codes satisfies it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    /// Kinds of evidence, any one of which will do.
    pub one_of: Vec<Evidence>,
}

/// A reason, with the notice's section.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExplanationView {
    /// The notice's section, e.g. `3.1.3`.
    #[schema(example = "3.1.3")]
    pub rule: String,
    /// Which reason (stable, for code).
    pub code: Finding,
    /// The reason in words, with the case's times and places, in the caller's language.
    pub detail: String,
}

/// Something the caller should know.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningView {
    /// Which warning (stable, for code).
    pub code: WarningCode,
    /// The warning in words, in the caller's language.
    pub message: String,
    /// The JSON pointer (RFC 6901) of the input the warning is about (of contradicting
    /// events at one instant, the one that decided; of a pasted trace's line, its text
    /// field: the line is in the message); null when it is about no one input.
    #[schema(example = "/logistics_trace/2")]
    pub pointer: Option<String>,
}

/// Where rendered text goes: a `String`, or a JSON string being written
/// ([`json::JsonText`], which escapes as it appends).
pub trait Sink {
    fn push(&mut self, text: &str);

    /// Text with nothing a JSON string escapes (see [`Literal::json_escapes`]): times,
    /// numbers, most of the rules' words.
    fn push_unescaped(&mut self, text: &str) {
        self.push(text);
    }

    /// A time (ASCII digits and punctuation).
    fn push_time(&mut self, t: &Rfc3339) {
        self.push_unescaped(t.as_str());
    }

    /// A piece of a rules text, escaped only when it has something to escape.
    fn push_literal(&mut self, l: &Literal) {
        if l.json_escapes {
            self.push(&l.text);
        } else {
            self.push_unescaped(&l.text);
        }
    }
}

impl Sink for String {
    fn push(&mut self, text: &str) {
        self.push_str(text);
    }
}

/// The decision without its rendered texts (`?view=compact`), for backends that keep
/// their own words: `DecisionView`'s fields and shape, each object with the same fields,
/// less every text rendered in the caller's language: the names (`event.name`,
/// `also_applies[].name`, `zone.name`), `actions[].text`, `explanation[].detail` and
/// `warnings[].message`. Code reading `actions[].code` or `deadlines[].remaining_seconds`
/// reads both views alike.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactDecisionView {
    /// Unique id of this decision (a UUIDv7; also in the logs and the decision log).
    #[schema(example = "0192f1c4-7a1e-7cc0-a6f5-3e1f5b2c9d10")]
    pub decision_id: String,
    /// The shop's case id, echoed; null when the request had none.
    #[schema(required = true, example = "AS-1003")]
    pub case_id: Option<String>,
    /// Version of the rules that decided.
    #[schema(example = "2023-hangzhou-1")]
    pub rules_version: String,
    /// The instant decided at: the request's `as_of`, or the server's clock.
    #[schema(format = DateTime, example = "2023-10-14T09:00:00+08:00")]
    pub as_of: String,
    /// Whether the notice applies to the case (as `DecisionView.applies`).
    pub applies: bool,
    /// Which situation of the notice the case is in.
    pub scenario: Scenario,
    /// What to do with the request.
    pub decision: Outcome,
    /// The notice that decided.
    pub event: CompactEventView,
    /// The other notices that also apply to the case, highest ranked first; empty when
    /// one notice is loaded.
    pub also_applies: Vec<CompactNoticeRef>,
    /// The control zone of the relevant destination; null when it is in none.
    #[schema(required = true)]
    pub zone: Option<CompactZoneView>,
    /// Deadlines, each with the time left (as in `DecisionView`).
    pub deadlines: Vec<DeadlineView>,
    /// What to do, in order.
    pub actions: Vec<CompactActionView>,
    /// Evidence to keep; each entry is satisfied by any one of its codes.
    pub evidence: Vec<EvidenceView>,
    /// Why, by the notice's sections.
    pub explanation: Vec<CompactExplanationView>,
    /// What the caller should know about the input or the case; empty when nothing.
    pub warnings: Vec<CompactWarningView>,
    /// Always `compact`: this view (`DecisionView` says `full`).
    pub view: View,
}

/// The notice that decided (`EventView` without its name).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactEventView {
    /// The notice's id in the rules file.
    #[schema(example = "hangzhou-2023-asian-games")]
    pub id: String,
    /// Whether `requested_at` falls in the notice's impact period.
    pub in_impact_period: bool,
    /// The id of the notice's phase containing `requested_at`, or null.
    #[schema(required = true, example = "asian_games")]
    pub phase: Option<String>,
}

/// A notice, by id (`NoticeRef` without its name).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactNoticeRef {
    /// The notice's id in the rules file.
    #[schema(example = "harbin-2025-asian-winter-games")]
    pub id: String,
}

/// The control zone of the relevant destination (`ZoneView` without its name).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactZoneView {
    /// The zone's id in the rules file.
    #[schema(example = "hangzhou")]
    pub id: String,
    /// Whether the request or an event of the relevant shipment falls in the control
    /// window.
    pub controlled: bool,
    /// Start of the control window (included).
    #[schema(format = DateTime, example = "2023-09-16T00:00:00+08:00")]
    pub control_from: String,
    /// End of the control window (excluded); null when it lasts until further notice.
    #[schema(required = true, format = DateTime, example = "2023-10-29T00:00:00+08:00")]
    pub control_until: Option<String>,
    /// True when the control window has no end yet (另行通知).
    pub control_until_further_notice: bool,
}

/// A step to take (`ActionView` without its text).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactActionView {
    /// Which step (stable, for code).
    pub code: Action,
}

/// A reason, with the notice's section (`ExplanationView` without its detail).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactExplanationView {
    /// The notice's section, e.g. `3.1.3`.
    #[schema(example = "3.1.3")]
    pub rule: String,
    /// Which reason (stable, for code).
    pub code: Finding,
}

/// Something the caller should know (`WarningView` without its message).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompactWarningView {
    /// Which warning (stable, for code).
    pub code: WarningCode,
    /// The JSON pointer (RFC 6901) of the input the warning is about, as in the full
    /// view; null when it is about no one input.
    #[schema(example = "/logistics_trace/2")]
    pub pointer: Option<String>,
}

impl From<&DecisionView> for CompactDecisionView {
    fn from(v: &DecisionView) -> CompactDecisionView {
        CompactDecisionView {
            decision_id: v.decision_id.clone(),
            case_id: v.case_id.clone(),
            rules_version: v.rules_version.clone(),
            as_of: v.as_of.clone(),
            applies: v.applies,
            scenario: v.scenario,
            decision: v.decision,
            event: CompactEventView {
                id: v.event.id.clone(),
                in_impact_period: v.event.in_impact_period,
                phase: v.event.phase.clone(),
            },
            also_applies: v
                .also_applies
                .iter()
                .map(|n| CompactNoticeRef { id: n.id.clone() })
                .collect(),
            zone: v.zone.as_ref().map(|z| CompactZoneView {
                id: z.id.clone(),
                controlled: z.controlled,
                control_from: z.control_from.clone(),
                control_until: z.control_until.clone(),
                control_until_further_notice: z.control_until_further_notice,
            }),
            deadlines: v.deadlines.clone(),
            actions: v
                .actions
                .iter()
                .map(|a| CompactActionView { code: a.code })
                .collect(),
            evidence: v.evidence.clone(),
            explanation: v
                .explanation
                .iter()
                .map(|e| CompactExplanationView {
                    rule: e.rule.clone(),
                    code: e.code,
                })
                .collect(),
            warnings: v
                .warnings
                .iter()
                .map(|w| CompactWarningView {
                    code: w.code,
                    pointer: w.pointer.clone(),
                })
                .collect(),
            view: View::Compact,
        }
    }
}

/// Puts the values into texts.
struct Renderer<'a> {
    rules: &'a Rules,
    notice: &'a DisruptionNotice,
    lang: Lang,
    /// Times already written: a decision shows the same few instants again and again (a
    /// deadline in its field, its action and its explanation), and each costs a time-zone
    /// lookup and a dozen digits. Held inline and begun empty: nothing to fill in when a
    /// renderer is made (an array of eight empty slots cost ~180 instructions a decision).
    written: RefCell<SmallVec<[(Instant, Rfc3339); WRITTEN_TIMES]>>,
}

/// The distinct instants [`Renderer::time`] remembers; a decision has fewer.
const WRITTEN_TIMES: usize = 8;

impl<'a> Renderer<'a> {
    /// Words `d` with its deciding notice.
    fn new(rules: &'a Rules, d: &Decision, lang: Lang) -> Renderer<'a> {
        let notice = &rules.notices[d.notice.min(rules.notices.len().saturating_sub(1))];
        Renderer::with_notice(rules, notice, lang)
    }

    fn with_notice(rules: &'a Rules, notice: &'a DisruptionNotice, lang: Lang) -> Renderer<'a> {
        Renderer {
            rules,
            notice,
            lang,
            written: RefCell::new(SmallVec::new()),
        }
    }

    /// Hands `t`, an instant the notice states, written in its time zone, to `write`:
    /// as loading wrote it.
    fn with_notice_time<R>(&self, t: Instant, write: impl FnOnce(&Rfc3339) -> R) -> R {
        match self.notice.written(t) {
            Some(text) => write(text),
            None => self.with_time(t, write),
        }
    }

    /// Hands `t`, an instant of the case, written in the notice's time zone, to `write`.
    fn with_time<R>(&self, t: Instant, write: impl FnOnce(&Rfc3339) -> R) -> R {
        let Ok(mut written) = self.written.try_borrow_mut() else {
            return write(&Rfc3339::new(t, self.notice.time_zone));
        };
        if let Some((_, text)) = written.iter().find(|(at, _)| *at == t) {
            return write(text);
        }
        let text = Rfc3339::new(t, self.notice.time_zone);
        let done = write(&text);
        // Once full (a decision has fewer), not moved to the heap.
        if written.len() < WRITTEN_TIMES {
            written.push((t, text));
        }
        done
    }

    /// `t` with its placeholders filled from `args` and the notice's thresholds.
    fn text(&self, out: &mut impl Sink, t: &Template, args: &[(&'static str, Arg)]) {
        for piece in &t.0 {
            out.push_literal(&piece.literal);
            match piece.then {
                None => {}
                Some(Placeholder::Arg { name, at }) => match value(args, name, at) {
                    Some(arg) => self.arg(out, arg),
                    // Visible rather than silently empty, so tests catch a missing value.
                    None => {
                        out.push("{");
                        out.push(name);
                        out.push("}");
                    }
                },
                // Written in at load; kept for a text that was not.
                Some(Placeholder::Threshold(which)) => match self.notice.thresholds.value(which) {
                    Some(v) => out.push_unescaped(itoa::Buffer::new().format(v)),
                    None => {
                        out.push("{");
                        out.push(which.as_str());
                        out.push("}");
                    }
                },
            }
        }
    }

    /// A text without placeholders (a name, a label): its literal pieces.
    fn plain(&self, out: &mut impl Sink, t: &Template) {
        for piece in &t.0 {
            out.push_literal(&piece.literal);
        }
    }

    fn string(&self, t: &Template, args: &[(&'static str, Arg)]) -> String {
        let mut s = String::new();
        self.text(&mut s, t, args);
        s
    }

    fn arg(&self, out: &mut impl Sink, arg: &Arg) {
        match arg {
            Arg::Time(t) => self.with_time(*t, |text| out.push_time(text)),
            Arg::NoticeTime(t) => self.with_notice_time(*t, |text| out.push_time(text)),
            Arg::Int(n) => out.push_unescaped(itoa::Buffer::new().format(*n)),
            Arg::Text(s) => out.push(s),
            Arg::Label(l) => self.plain(out, self.rules.label(*l, self.lang)),
            Arg::Status(s) => self.plain(out, self.rules.status_label(*s, self.lang)),
            Arg::Zone(z) => {
                if let Some(zone) = self.notice.zones.get(*z) {
                    self.plain(out, zone.name.get(self.lang));
                }
            }
            Arg::Phase(p) => {
                if let Some(phase) = self.notice.phases.get(*p) {
                    self.plain(out, phase.name.get(self.lang));
                }
            }
            // Another notice's zone: its name, then the notice's, in brackets.
            Arg::NoticeZone(n, z) => {
                let Some(notice) = self.rules.notices.get(*n) else {
                    return;
                };
                if let Some(zone) = notice.zones.get(*z) {
                    self.plain(out, zone.name.get(self.lang));
                }
                let chinese = self
                    .rules
                    .languages
                    .get(self.lang.0)
                    .is_some_and(|l| l.to_ascii_lowercase().starts_with("zh"));
                let (open, close) = if chinese { ("（", "）") } else { (" (", ")") };
                out.push_unescaped(open);
                self.plain(out, notice.name.get(self.lang));
                out.push_unescaped(close);
            }
        }
    }
}

/// The value of the argument `name`: where its text expects it (`at`), else wherever it
/// is. Mostly the name there is the same literal (the engine's and the text's argument
/// list's): equal pointers, no byte compare, and no search.
#[inline(always)]
fn value<'a>(args: &'a [(&'static str, Arg)], name: &'static str, at: usize) -> Option<&'a Arg> {
    match args.get(at) {
        Some((n, arg)) if std::ptr::eq(*n, name) => Some(arg),
        _ => value_elsewhere(args, name, at),
    }
}

/// [`value`] when the name at `at` is not the same literal: compared byte by byte, then
/// looked for.
#[cold]
#[inline(never)]
fn value_elsewhere<'a>(
    args: &'a [(&'static str, Arg)],
    name: &'static str,
    at: usize,
) -> Option<&'a Arg> {
    let named = |(n, _): &&(&'static str, Arg)| *n == name;
    let (_, arg) = args
        .get(at)
        .filter(named)
        .or_else(|| args.iter().find(named))?;
    Some(arg)
}

/// Renders a decision in `lang`.
pub fn decision_view(
    rules: &Rules,
    d: &Decision,
    case_id: Option<String>,
    decision_id: String,
    lang: Lang,
) -> DecisionView {
    let r = Renderer::new(rules, d, lang);
    let notice = r.notice;
    let time = |t| r.with_time(t, |text| text.as_str().to_owned());
    let notice_time = |t| r.with_notice_time(t, |text| text.as_str().to_owned());
    let plain = |t: &Template| {
        let mut s = String::new();
        r.plain(&mut s, t);
        s
    };
    DecisionView {
        decision_id,
        case_id,
        rules_version: rules.version.clone(),
        as_of: time(d.as_of),
        applies: d.applies,
        scenario: d.scenario,
        decision: d.outcome,
        event: EventView {
            id: notice.id.clone(),
            name: plain(notice.name.get(lang)),
            in_impact_period: d.in_impact_period,
            phase: d
                .phase
                .and_then(|p| notice.phases.get(p))
                .map(|p| p.id.clone()),
        },
        also_applies: d
            .also_applies
            .iter()
            .filter_map(|&i| rules.notices.get(i))
            .map(|n| NoticeRef {
                id: n.id.clone(),
                name: plain(n.name.get(lang)),
            })
            .collect(),
        zone: d.zone.and_then(|z| {
            let zone = notice.zones.get(z.zone)?;
            Some(ZoneView {
                id: zone.id.clone(),
                name: plain(zone.name.get(lang)),
                controlled: z.controlled,
                control_from: notice_time(zone.control.from),
                control_until: zone.control.until.map(notice_time),
                control_until_further_notice: zone.control.until.is_none(),
            })
        }),
        deadlines: d
            .deadlines
            .iter()
            .map(|dl| DeadlineView {
                kind: dl.kind,
                due_at: time(dl.due_at),
                remaining_seconds: dl.remaining_seconds,
                overdue: dl.overdue,
            })
            .collect(),
        actions: d
            .actions
            .iter()
            .map(|a| ActionView {
                code: *a,
                text: r.string(notice.action_text(*a, lang), &[]),
            })
            .collect(),
        evidence: d
            .evidence
            .iter()
            .map(|e| EvidenceView { one_of: e.to_vec() })
            .collect(),
        explanation: d
            .explanation
            .iter()
            .map(|e| {
                let (section, text) = notice.explanation(e.finding, lang);
                ExplanationView {
                    rule: section.to_owned(),
                    code: e.finding,
                    detail: r.string(text, &e.args),
                }
            })
            .collect(),
        warnings: d
            .warnings
            .iter()
            .map(|w| WarningView {
                code: w.code,
                message: r.string(rules.warning_text(w.code, lang), &w.args),
                pointer: w.pointer().map(str::to_owned),
            })
            .collect(),
        view: View::Full,
    }
}

/// One warning in `lang`, with zones and phases named from `notice`.
pub fn warning_message(
    rules: &Rules,
    notice: &DisruptionNotice,
    w: &crate::engine::Warning,
    lang: Lang,
) -> String {
    Renderer::with_notice(rules, notice, lang).string(rules.warning_text(w.code, lang), &w.args)
}

/// A short readable summary: scenario, decision, deadlines with time left, numbered
/// actions, evidence, reasons and warnings.
///
/// Callers' strings reach it (`case_id`; carrier texts, addresses and pointers inside
/// explanations and warnings), and it is read in terminals: every line goes through
/// [`push_line`], which escapes what could add a line, move the cursor, recolour or
/// reorder the text, so each line says only what the service wrote.
pub fn summary(v: &DecisionView, rules: &Rules, lang: Lang) -> String {
    let say = |w: TextWord, args: &[(&str, &str)]| words(rules, lang, w, args);
    let mut s = String::new();
    let mut line = |text: String| push_line(&mut s, &text);
    let (scenario, decision) = (v.scenario.as_str(), v.decision.as_str());
    line(match v.case_id.as_deref() {
        Some(case_id) => say(
            TextWord::Case,
            &[
                ("case_id", case_id),
                ("scenario", scenario),
                ("decision", decision),
            ],
        ),
        None => format!("{scenario} → {decision}"),
    });
    let applies = say(
        if v.applies {
            TextWord::Applies
        } else {
            TextWord::DoesNotApply
        },
        &[],
    );
    line(say(
        TextWord::Notice,
        &[
            ("name", &v.event.name),
            ("applies", &applies),
            ("as_of", &v.as_of),
        ],
    ));
    if !v.also_applies.is_empty() {
        let names: Vec<&str> = v.also_applies.iter().map(|n| n.name.as_str()).collect();
        line(say(TextWord::AlsoApplies, &[("names", &names.join("; "))]));
    }
    if let Some(z) = &v.zone {
        let controlled = say(
            if z.controlled {
                TextWord::Controlled
            } else {
                TextWord::NotControlled
            },
            &[],
        );
        let window = match &z.control_until {
            Some(until) => say(
                TextWord::Window,
                &[("from", &z.control_from), ("until", until)],
            ),
            None => say(TextWord::WindowOpen, &[("from", &z.control_from)]),
        };
        line(say(
            TextWord::Zone,
            &[
                ("name", &z.name),
                ("controlled", &controlled),
                ("window", &window),
            ],
        ));
    }
    if !v.deadlines.is_empty() {
        line(say(TextWord::Deadlines, &[]));
        for d in &v.deadlines {
            let left = if d.overdue {
                let time = duration(rules, lang, -d.remaining_seconds);
                say(TextWord::Overdue, &[("duration", &time)])
            } else {
                let time = duration(rules, lang, d.remaining_seconds);
                say(TextWord::Left, &[("duration", &time)])
            };
            let kind = d.kind.as_str();
            let due = say(
                TextWord::Deadline,
                &[("kind", kind), ("due_at", &d.due_at), ("left", &left)],
            );
            line(format!("  {due}"));
        }
    }
    line(say(TextWord::Actions, &[]));
    for (i, a) in v.actions.iter().enumerate() {
        line(format!("  {}. {}", i + 1, a.text));
    }
    if !v.evidence.is_empty() {
        line(say(TextWord::Evidence, &[]));
        let or = format!(" {} ", say(TextWord::Or, &[]));
        for e in &v.evidence {
            let any: Vec<&str> = e.one_of.iter().map(|c| c.as_str()).collect();
            line(format!("  - {}", any.join(&or)));
        }
    }
    line(say(TextWord::Why, &[]));
    for e in &v.explanation {
        line(format!("  [{}] {}", e.rule, e.detail));
    }
    if !v.warnings.is_empty() {
        line(say(TextWord::Warnings, &[]));
        for w in &v.warnings {
            line(format!("  ! {}", w.message));
        }
    }
    line(say(
        TextWord::DecisionId,
        &[("decision_id", &v.decision_id)],
    ));
    s
}

/// The text view's entry `w` in `lang`, its placeholders filled from `args`.
fn words(rules: &Rules, lang: Lang, w: TextWord, args: &[(&str, &str)]) -> String {
    rules.text_word(w, lang).render(|name, out| {
        if let Some((_, value)) = args.iter().find(|(n, _)| *n == name) {
            out.push_str(value);
        }
    })
}

/// Appends `text` and a line break, with every character that could break the line or
/// reach a terminal as a command written as a visible escape: `\n`, `\r`, `\t`, and
/// `\u{…}` for the other control characters (C0, DEL, C1: ESC starts terminal
/// sequences), the line and paragraph separators, and the bidirectional controls (which
/// reorder what is shown).
fn push_line(out: &mut String, text: &str) {
    use std::fmt::Write;
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if crate::rules::off_the_line(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\n');
}

/// A time left at a glance, in the rules' words: `1d 5h`, `5h 7m`, `1m 5s` in English.
fn duration(rules: &Rules, lang: Lang, secs: i64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let n = |v: i64| v.to_string();
    if d > 0 {
        words(
            rules,
            lang,
            TextWord::Days,
            &[("days", &n(d)), ("hours", &n(h))],
        )
    } else if h > 0 {
        words(
            rules,
            lang,
            TextWord::Hours,
            &[("hours", &n(h)), ("minutes", &n(m))],
        )
    } else {
        words(
            rules,
            lang,
            TextWord::Minutes,
            &[("minutes", &n(m)), ("seconds", &n(s))],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_written_again_or_past_the_memo_s_room_are_written_as_at_first() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let notice = &rules.notices[0];
        let r = Renderer::with_notice(&rules, notice, Default::default());
        let start = chrono::DateTime::from_timestamp(1_697_245_200, 0).unwrap_or_default();
        let instants: Vec<_> = (0..3 * WRITTEN_TIMES as i64)
            .map(|i| start + chrono::Duration::milliseconds(i * 3_600_123))
            .collect();
        for round in 0..2 {
            for &t in &instants {
                let written = r.with_time(t, |text| text.as_str().to_owned());
                let fresh = Rfc3339::new(t, notice.time_zone);
                assert_eq!(written, fresh.as_str(), "round {round}");
            }
        }
        // Asked for while the memo is in use: written afresh, not a panic.
        let nested = r.with_time(start, |outer| {
            let inner = r.with_time(instants[1], |inner| inner.as_str().to_owned());
            (outer.as_str().to_owned(), inner)
        });
        assert_eq!(nested.0, Rfc3339::new(start, notice.time_zone).as_str());
        assert_eq!(
            nested.1,
            Rfc3339::new(instants[1], notice.time_zone).as_str()
        );
    }

    #[test]
    fn a_value_is_taken_where_its_text_expects_it_else_by_name() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let r = Renderer::with_notice(&rules, &rules.notices[0], Default::default());
        let names: &[&'static str] = &["at", "due_at"];
        let t = Template::parse("{due_at} {at}", names).unwrap_or_else(|e| panic!("{e}"));
        // The same name as another literal (another pointer): compared by its bytes.
        let at: &'static str = String::from("at").leak();
        assert!(!std::ptr::eq(at, names[0]));
        for (args, expected) in [
            (vec![("at", Arg::Int(1)), ("due_at", Arg::Int(2))], "2 1"),
            (vec![(at, Arg::Int(1)), ("due_at", Arg::Int(2))], "2 1"),
            (vec![("due_at", Arg::Int(2)), ("at", Arg::Int(1))], "2 1"),
            (vec![("due_at", Arg::Int(2)), (at, Arg::Int(1))], "2 1"),
            (vec![("due_at", Arg::Int(2))], "2 {at}"),
            (vec![], "{due_at} {at}"),
        ] {
            assert_eq!(r.string(&t, &args), expected, "{args:?}");
        }
    }

    #[test]
    fn a_notice_s_own_instants_are_written_at_load_as_chrono_writes_them() {
        let harbin = include_str!("../tests/fixtures/rules/harbin-2025.toml");
        let nationwide = include_str!("../tests/fixtures/rules/nationwide-2025.toml");
        let source = [crate::rules::EMBEDDED_SOURCE, harbin, nationwide].concat();
        let rules = Rules::from_toml(&source, "several.toml").unwrap_or_else(|e| panic!("{e}"));
        let mut seen = 0;
        for n in &rules.notices {
            let windows = std::iter::once(n.impact_period)
                .chain(n.phases.iter().map(|p| p.window))
                .chain(n.zones.iter().map(|z| z.control));
            for t in windows.flat_map(|w| [Some(w.from), w.until]).flatten() {
                let written = n.written(t).map(|w| w.as_str().to_owned());
                assert_eq!(
                    written,
                    Some(crate::time::format(t, n.time_zone)),
                    "{}",
                    n.id
                );
                seen += 1;
            }
            let other = n.impact_period.from + chrono::Duration::seconds(1);
            assert!(n.written(other).is_none(), "{}", n.id);
        }
        assert!(seen >= 10, "{seen}");
    }

    #[test]
    fn a_line_stays_one_line_and_carries_no_terminal_or_bidi_control() {
        let mut out = String::new();
        push_line(
            &mut out,
            "a\nb\rc\td\u{1b}[31me\u{7f}\u{85}\u{9b}f\u{2028}g\u{2029}h\u{202e}i\u{2066}j\u{200f}k 杭州",
        );
        assert_eq!(
            out,
            "a\\nb\\rc\\td\\u{1b}[31me\\u{7f}\\u{85}\\u{9b}f\\u{2028}g\\u{2029}h\\u{202e}i\\u{2066}j\\u{200f}k 杭州\n"
        );
    }

    /// A view with every part the text view writes: a case, notices also applying, a
    /// zone until further notice, a deadline left and one overdue, evidence with
    /// alternatives, warnings.
    fn everything() -> DecisionView {
        DecisionView {
            decision_id: "d-1".into(),
            case_id: Some("AS-1".into()),
            rules_version: "v".into(),
            as_of: "2023-10-14T09:00:00+08:00".into(),
            applies: true,
            scenario: Scenario::Stalled,
            decision: Outcome::InterceptAndRefund,
            event: EventView {
                id: "n".into(),
                name: "公告甲".into(),
                in_impact_period: true,
                phase: None,
            },
            also_applies: vec![NoticeRef {
                id: "m".into(),
                name: "公告乙".into(),
            }],
            zone: Some(ZoneView {
                id: "z".into(),
                name: "杭州市".into(),
                controlled: true,
                control_from: "2023-09-16T00:00:00+08:00".into(),
                control_until: None,
                control_until_further_notice: true,
            }),
            deadlines: vec![
                DeadlineView {
                    kind: DeadlineKind::InterceptAndRefundBy,
                    due_at: "2023-10-15T14:00:00+08:00".into(),
                    remaining_seconds: 104_400,
                    overdue: false,
                },
                DeadlineView {
                    kind: DeadlineKind::RespondBy,
                    due_at: "2023-10-14T08:59:00+08:00".into(),
                    remaining_seconds: -65,
                    overdue: true,
                },
            ],
            actions: vec![ActionView {
                code: Action::ApproveRefundNow,
                text: "甲".into(),
            }],
            evidence: vec![EvidenceView {
                one_of: vec![
                    Evidence::CourierSiteScreenshot,
                    Evidence::LogisticsRedStampCertificate,
                ],
            }],
            explanation: vec![ExplanationView {
                rule: "3.1.3".into(),
                code: Finding::Stalled,
                detail: "乙".into(),
            }],
            warnings: vec![WarningView {
                code: WarningCode::ReturnDestinationMissing,
                message: "丙".into(),
                pointer: None,
            }],
            view: View::Full,
        }
    }

    #[test]
    fn the_text_view_speaks_the_callers_language() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let v = everything();
        assert_eq!(
            summary(&v, &rules, Lang(1)),
            "case AS-1: stalled → intercept_and_refund
notice: 公告甲 (applies), as of 2023-10-14T09:00:00+08:00
also applies: 公告乙
zone: 杭州市 (controlled, 2023-09-16T00:00:00+08:00 until further notice)
deadlines:
  intercept_and_refund_by: 2023-10-15T14:00:00+08:00 (1d 5h left)
  respond_by: 2023-10-14T08:59:00+08:00 (OVERDUE by 1m 5s)
actions:
  1. 甲
evidence:
  - courier_site_screenshot or logistics_red_stamp_certificate
why:
  [3.1.3] 乙
warnings:
  ! 丙
decision id: d-1
"
        );
        let zh = summary(&v, &rules, Lang(0));
        assert_eq!(
            zh,
            "售后单 AS-1：stalled → intercept_and_refund
公告：公告甲（适用），判定时间 2023-10-14T09:00:00+08:00
同时适用：公告乙
管控区域：杭州市（管控中，2023-09-16T00:00:00+08:00 起，至另行通知）
截止时间：
  intercept_and_refund_by：2023-10-15T14:00:00+08:00（剩余 1天5小时）
  respond_by：2023-10-14T08:59:00+08:00（已超时 1分5秒）
操作：
  1. 甲
凭证：
  - courier_site_screenshot 或 logistics_red_stamp_certificate
依据：
  [3.1.3] 乙
警告：
  ! 丙
判定编号：d-1
"
        );
        // The same view without a case, not applying, outside its zone's control.
        let v = DecisionView {
            case_id: None,
            applies: false,
            zone: v.zone.map(|z| ZoneView {
                controlled: false,
                control_until: Some("2023-10-29T00:00:00+08:00".into()),
                control_until_further_notice: false,
                ..z
            }),
            ..v
        };
        let zh = summary(&v, &rules, Lang(0));
        assert!(zh.starts_with("stalled → intercept_and_refund\n"), "{zh}");
        assert!(zh.contains("（不适用）"), "{zh}");
        assert!(
            zh.contains("（未管控，2023-09-16T00:00:00+08:00 至 2023-10-29T00:00:00+08:00）"),
            "{zh}"
        );
        let en = summary(&v, &rules, Lang(1));
        assert!(en.contains(" (does not apply), "), "{en}");
        assert!(
            en.contains("(not controlled, 2023-09-16T00:00:00+08:00 to 2023-10-29T00:00:00+08:00)"),
            "{en}"
        );
    }

    #[test]
    fn durations_read_at_a_glance() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let (zh, en) = (Lang(0), Lang(1));
        assert_eq!(duration(&rules, en, 104_400), "1d 5h");
        assert_eq!(duration(&rules, en, 3_600 * 5 + 60 * 7), "5h 7m");
        assert_eq!(duration(&rules, en, 65), "1m 5s");
        assert_eq!(duration(&rules, zh, 104_400), "1天5小时");
        assert_eq!(duration(&rules, zh, 3_600 * 5 + 60 * 7), "5小时7分");
        assert_eq!(duration(&rules, zh, 65), "1分5秒");
    }
}
