//! The words of the text view (`Accept: text/plain`, `decide --text`):
//! its headings, the words around the decision's values, and the units of a time left.
//! A rules file's `[text_view]` gives each in every language, like every other text, so
//! that a support agent reading it in 中文 sees no English label.

/// One entry of `[text_view]`. Most are a whole line (or the part of a line) with the
/// decision's values as placeholders, so each language puts them in its own order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextWord {
    /// The first line when the request names its case.
    Case,
    /// The notice that decided, whether it applies, and the decision time.
    Notice,
    Applies,
    DoesNotApply,
    /// The other notices that apply too.
    AlsoApplies,
    /// The control zone of the destination.
    Zone,
    Controlled,
    NotControlled,
    /// A control window with an end.
    Window,
    /// A control window until further notice.
    WindowOpen,
    /// The heading above the deadlines.
    Deadlines,
    /// One deadline.
    Deadline,
    /// The time left before a deadline.
    Left,
    /// The time since a passed deadline.
    Overdue,
    /// The heading above the numbered actions.
    Actions,
    /// The heading above the evidence to keep.
    Evidence,
    /// Between the alternatives of one piece of evidence.
    Or,
    /// The heading above the explanation.
    Why,
    /// The heading above the warnings.
    Warnings,
    /// The last line.
    DecisionId,
    /// A duration of a day or more.
    Days,
    /// A duration of an hour or more.
    Hours,
    /// A duration under an hour.
    Minutes,
}

impl TextWord {
    /// Every entry, in the order the rules file writes them.
    pub const ALL: &'static [TextWord] = &[
        TextWord::Case,
        TextWord::Notice,
        TextWord::Applies,
        TextWord::DoesNotApply,
        TextWord::AlsoApplies,
        TextWord::Zone,
        TextWord::Controlled,
        TextWord::NotControlled,
        TextWord::Window,
        TextWord::WindowOpen,
        TextWord::Deadlines,
        TextWord::Deadline,
        TextWord::Left,
        TextWord::Overdue,
        TextWord::Actions,
        TextWord::Evidence,
        TextWord::Or,
        TextWord::Why,
        TextWord::Warnings,
        TextWord::DecisionId,
        TextWord::Days,
        TextWord::Hours,
        TextWord::Minutes,
    ];

    /// Position in `ALL`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The key in `[text_view]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TextWord::Case => "case",
            TextWord::Notice => "notice",
            TextWord::Applies => "applies",
            TextWord::DoesNotApply => "does_not_apply",
            TextWord::AlsoApplies => "also_applies",
            TextWord::Zone => "zone",
            TextWord::Controlled => "controlled",
            TextWord::NotControlled => "not_controlled",
            TextWord::Window => "window",
            TextWord::WindowOpen => "window_open",
            TextWord::Deadlines => "deadlines",
            TextWord::Deadline => "deadline",
            TextWord::Left => "left",
            TextWord::Overdue => "overdue",
            TextWord::Actions => "actions",
            TextWord::Evidence => "evidence",
            TextWord::Or => "or",
            TextWord::Why => "why",
            TextWord::Warnings => "warnings",
            TextWord::DecisionId => "decision_id",
            TextWord::Days => "days",
            TextWord::Hours => "hours",
            TextWord::Minutes => "minutes",
        }
    }

    /// The placeholders the text view supplies to this entry.
    pub const fn args(self) -> &'static [&'static str] {
        match self {
            TextWord::Case => &["case_id", "scenario", "decision"],
            TextWord::Notice => &["name", "applies", "as_of"],
            TextWord::AlsoApplies => &["names"],
            TextWord::Zone => &["name", "controlled", "window"],
            TextWord::Window => &["from", "until"],
            TextWord::WindowOpen => &["from"],
            TextWord::Deadline => &["kind", "due_at", "left"],
            TextWord::Left | TextWord::Overdue => &["duration"],
            TextWord::DecisionId => &["decision_id"],
            TextWord::Days => &["days", "hours"],
            TextWord::Hours => &["hours", "minutes"],
            TextWord::Minutes => &["minutes", "seconds"],
            TextWord::Applies
            | TextWord::DoesNotApply
            | TextWord::Controlled
            | TextWord::NotControlled
            | TextWord::Deadlines
            | TextWord::Actions
            | TextWord::Evidence
            | TextWord::Or
            | TextWord::Why
            | TextWord::Warnings => &[],
        }
    }
}

/// Whether `c` cannot be shown as itself on a line of the text view: it would end the
/// line (line feed, carriage return, the line and paragraph separators), reach a
/// terminal as a command (the other C0 and C1 controls, DEL: ESC starts terminal
/// sequences) or reorder what is shown (the bidirectional controls). The view writes
/// such a character as a visible escape; a rules file may not hold one in its words.
pub fn off_the_line(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061c}' | '\u{200e}' | '\u{200f}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::TextWord;

    #[test]
    fn all_is_in_index_order_and_keys_are_distinct() {
        for (i, w) in TextWord::ALL.iter().enumerate() {
            assert_eq!(w.index(), i, "{}", w.as_str());
        }
        let mut keys: Vec<&str> = TextWord::ALL.iter().map(|w| w.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), TextWord::ALL.len());
    }
}
