//! The words of the text view (`Accept: text/plain`, `decide --text`):
//! its headings, the words around the decision's values, and the units of a time left.
//! A rules file's `[text_view]` gives each in every language, like every other text, so
//! that a support agent reading it in 中文 sees no English label.

pub use crate::codes::TextWord;

impl TextWord {
    /// The placeholders of the entry: the decision's values it shows.
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
