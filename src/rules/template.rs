//! Texts with `{placeholders}`, parsed once at load time so rendering only concatenates.

pub use crate::codes::Threshold;
use crate::codes::{Finding, WarningCode};

/// One piece of a text: some text as written in the rules, then the placeholder that
/// follows it (none for the text's end). Rendering takes one step a placeholder, not one
/// for each piece of text and another for each placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub literal: Literal,
    pub then: Option<Placeholder>,
}

/// A `{placeholder}` of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The value of the argument `name`, the text's argument number `at` (in the order
    /// of [`finding_args`], [`warning_args`], ..., which is the order the values come
    /// in): found when the text is parsed, so that rendering it does not look for it by
    /// name.
    Arg { name: &'static str, at: usize },
    /// One of the notice's thresholds ([`THRESHOLD_ARGS`]).
    Threshold(Threshold),
}

impl Placeholder {
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::Arg { name, .. } => name,
            Placeholder::Threshold(t) => t.as_str(),
        }
    }
}

/// Text as written in the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub text: String,
    /// Whether it holds a character a JSON string escapes (`"`, `\` or a control
    /// character): found once, at load, so that writing JSON copies the others as they
    /// are.
    pub json_escapes: bool,
}

impl Literal {
    pub fn new(text: &str) -> Literal {
        Literal {
            text: text.to_owned(),
            json_escapes: text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'),
        }
    }
}

/// A parsed text: its pieces, in order (the last one without a placeholder when the
/// text ends with words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

impl Template {
    /// Parses `text`, allowing only the placeholders in `args`.
    pub fn parse(text: &str, args: &[&'static str]) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("a `}` without its `{`".into());
            }
            let after = &rest[open + 1..];
            if after.starts_with('{') {
                return Err(
                    "`{{` is not an escape: a text cannot hold a literal `{` or `}`".into(),
                );
            }
            let close = after.find('}').ok_or("a `{` without its `}`")?;
            let name = &after[..close];
            let Some(at) = args.iter().position(|a| *a == name) else {
                let known = if args.is_empty() {
                    "this text takes none".to_owned()
                } else {
                    format!(
                        "this text takes {}",
                        args.iter()
                            .map(|a| format!("{{{a}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err(format!("unknown placeholder `{{{name}}}`: {known}"));
            };
            let then = match Threshold::parse(name) {
                Some(t) => Placeholder::Threshold(t),
                None => Placeholder::Arg { name: args[at], at },
            };
            pieces.push(Piece {
                literal: Literal::new(&rest[..open]),
                then: Some(then),
            });
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece {
                literal: Literal::new(rest),
                then: None,
            });
        }
        Ok(Template(pieces))
    }

    /// A text without placeholders (names, labels, actions).
    pub fn plain(&self) -> String {
        self.render(|_, _| {})
    }

    /// The text with each placeholder replaced by `value(name)`.
    pub fn render(&self, mut value: impl FnMut(&'static str, &mut String)) -> String {
        let mut out = String::new();
        for p in &self.0 {
            out.push_str(&p.literal.text);
            if let Some(then) = p.then {
                value(then.name(), &mut out);
            }
        }
        out
    }

    /// The text with the thresholds written in, from `value` (one without a value is
    /// kept as a placeholder): a threshold written in joins the text around it.
    pub fn with_thresholds(&self, value: impl Fn(Threshold) -> Option<u64>) -> Template {
        let mut pieces: Vec<Piece> = Vec::with_capacity(self.0.len());
        let mut text = String::new();
        for p in &self.0 {
            text.push_str(&p.literal.text);
            match p.then {
                Some(Placeholder::Threshold(t)) if let Some(v) = value(t) => {
                    text.push_str(&v.to_string());
                }
                then => pieces.push(Piece {
                    literal: Literal::new(&std::mem::take(&mut text)),
                    then,
                }),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece {
                literal: Literal::new(&text),
                then: None,
            });
        }
        Template(pieces)
    }

    /// The names of its placeholders, in the order they appear.
    pub fn placeholders(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().filter_map(|p| p.then.map(Placeholder::name))
    }
}

/// The placeholders the engine supplies for each finding.
pub fn finding_args(f: &Finding) -> &'static [&'static str] {
    match f {
        Finding::InImpactPeriod | Finding::OutsideImpactPeriod => {
            &["requested_at", "from", "until"]
        }
        Finding::InPhase => &["phase", "from", "until"],
        Finding::ZoneControlled => &["destination", "zone", "what", "at", "from", "until"],
        Finding::ZoneNotControlled => &["destination", "zone", "from", "until"],
        Finding::NoZone => &["destination"],
        Finding::NotApplicable
        | Finding::NotShipped
        | Finding::ReturnNotShipped
        | Finding::NeverRejectStraightAway => &[],
        Finding::Surge => &["open", "surge"],
        Finding::RejectedOrReturned | Finding::ReturnFailed => &["status", "at"],
        Finding::Delivered
        | Finding::ReturnReceived
        | Finding::InterceptFailedStalled
        | Finding::InterceptFailedInTransit => &["at"],
        Finding::Stalled => &["status", "at", "hours", "stall_hours"],
        Finding::InterceptWindow => &["window_hours", "stall_hours", "stalled_at", "due_at"],
        Finding::InTransit => &["status", "at", "stalled_after"],
        Finding::ReturnCountdownExpired => &["countdown_hours", "ends_at"],
        Finding::ReturnUndeliveredInCountdown => &["ends_at", "status"],
        Finding::ReturnInTransit => &["status"],
        Finding::StatusRead => &["pointer", "raw", "status"],
        Finding::RefundClosed | Finding::PlatformIntervened => &["status"],
        Finding::AlreadyRejected => &[],
        Finding::RefundNotCovered => &["kind"],
        Finding::PlatformDeadline => &["due_at", "status", "at_expiry"],
        Finding::BuyerClaimedReceipt => &["at"],
        Finding::OutsideScope => &["destination"],
    }
}

/// The notice's thresholds, which every text of a notice (actions and explanations) may
/// use besides its own placeholders.
/// Their names: [`Threshold`]'s wire names, in its order.
pub const THRESHOLD_ARGS: &[&str] = &{
    let mut names = [""; Threshold::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Threshold::ALL[i].as_str();
        i += 1;
    }
    names
};

/// The placeholders supplied for each warning.
pub fn warning_args(w: WarningCode) -> &'static [&'static str] {
    match w {
        WarningCode::DestinationMismatch => &["adcode", "adcode_place", "named_place"],
        WarningCode::DestinationUnresolved => &["text"],
        WarningCode::DestinationAmbiguous => &["text", "candidates"],
        WarningCode::DestinationTooCoarse => &["place", "zone"],
        WarningCode::UnknownAdcode => &["adcode"],
        WarningCode::DestinationConflict => &["text", "readings"],
        WarningCode::ReturnDestinationMissing => &[],
        WarningCode::ReturnCountdownExpired => &["ends_at"],
        WarningCode::DeadlinePassed => &["deadline", "due_at", "as_of"],
        WarningCode::EventAfterAsOf | WarningCode::CountdownAfterAsOf => {
            &["pointer", "at", "as_of"]
        }
        WarningCode::RequestedAfterAsOf => &["requested_at", "as_of"],
        WarningCode::UnrecognizedDescription => &["pointer", "description"],
        WarningCode::EventWithoutMovement => &["pointer", "raw"],
        WarningCode::TraceLineSkipped => &["pointer", "line"],
        WarningCode::StatusDescriptionConflict => &["pointer", "status", "description", "read_as"],
        WarningCode::SimultaneousEventsConflict => &["pointers", "at", "status"],
        WarningCode::CountdownInconsistent => &["started_at", "ends_at"],
        WarningCode::ReturnTraceMissing => &["waybill"],
        WarningCode::RefundClosed | WarningCode::PlatformIntervened => &["status"],
        WarningCode::AlreadyRejected | WarningCode::ReturnSentWithoutTrace => &[],
        WarningCode::ReturnWaybillIgnored => &["pointer", "waybill"],
        WarningCode::ReceivedBeforeShipped => {
            &["pointer", "received_at", "shipped_at", "shipped_pointer"]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_parsed_and_rendered() {
        let t = Template::parse("due {due_at}, {hours} h", &["due_at", "hours"]);
        let t = t.unwrap_or(Template(vec![]));
        let out =
            t.render(|name, out| out.push_str(if name == "due_at" { "tomorrow" } else { "48" }));
        assert_eq!(out, "due tomorrow, 48 h");
    }

    #[test]
    fn placeholders_are_found_at_parse_time() {
        let args = ["at", "due_at"].iter().chain(THRESHOLD_ARGS);
        let args: Vec<&'static str> = args.copied().collect();
        let t = Template::parse("{due_at} {at} {intercept_window_hours}", &args);
        let piece = |text: &str, then| Piece {
            literal: Literal::new(text),
            then,
        };
        assert_eq!(
            t.map(|t| t.0),
            Ok(vec![
                piece(
                    "",
                    Some(Placeholder::Arg {
                        name: "due_at",
                        at: 1
                    })
                ),
                piece(" ", Some(Placeholder::Arg { name: "at", at: 0 })),
                piece(
                    " ",
                    Some(Placeholder::Threshold(Threshold::InterceptWindowHours))
                ),
            ])
        );
        let t = Template::parse("a {at} b", &args).map(|t| t.0);
        assert_eq!(
            t,
            Ok(vec![
                piece("a ", Some(Placeholder::Arg { name: "at", at: 0 })),
                piece(" b", None),
            ])
        );
        assert_eq!(Template::parse("", &args).map(|t| t.0), Ok(vec![]));
        let names: Vec<&str> = Threshold::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, THRESHOLD_ARGS);
    }

    #[test]
    fn thresholds_are_written_in_as_one_piece_of_text() {
        let args: Vec<&'static str> = ["at"].iter().chain(THRESHOLD_ARGS).copied().collect();
        let t = Template::parse(
            "in {intercept_window_hours} h \"{at}\", {stall_after_hours}{surge_open_refund_requests}",
            &args,
        )
        .unwrap_or(Template(vec![]));
        let filled = t.with_thresholds(|t| match t {
            Threshold::InterceptWindowHours => Some(48),
            Threshold::StallAfterHours => Some(72),
            _ => None,
        });
        let piece = |text: &str, then| Piece {
            literal: Literal::new(text),
            then,
        };
        assert_eq!(
            filled.0,
            vec![
                piece("in 48 h \"", Some(Placeholder::Arg { name: "at", at: 0 })),
                piece(
                    "\", 72",
                    Some(Placeholder::Threshold(Threshold::SurgeOpenRefundRequests))
                ),
            ]
        );
        assert!(filled.0[0].literal.json_escapes);
        // Written in at the end: the text ends with it.
        let t = Template::parse("{at} in {intercept_window_hours}", &args);
        let filled = t.map(|t| t.with_thresholds(|_| Some(48)).0);
        assert_eq!(
            filled,
            Ok(vec![
                piece("", Some(Placeholder::Arg { name: "at", at: 0 })),
                piece(" in 48", None),
            ])
        );
    }

    #[test]
    fn unknown_and_unbalanced_placeholders_are_refused() {
        assert!(
            Template::parse("{nope}", &["at"])
                .is_err_and(|e| e.contains("{nope}") && e.contains("{at}"))
        );
        assert!(Template::parse("a { b", &[]).is_err());
        assert!(Template::parse("a } b", &[]).is_err());
    }

    #[test]
    fn literals_know_whether_json_escapes_them() {
        for (text, escapes) in [
            ("截止 48 小时", false),
            ("a \"quote\"", true),
            ("back\\slash", true),
            ("tab\there", true),
            ("\u{1f}", true),
            ("\u{7f} and é", false),
        ] {
            assert_eq!(Literal::new(text).json_escapes, escapes, "{text:?}");
        }
    }
}
