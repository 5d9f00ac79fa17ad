//! The rules file exactly as written (TOML), with source spans kept for error messages.
//! `rules show` serializes these same structs, so what it prints loads again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A text in every language: language tag → text.
pub type RawText = BTreeMap<Spanned<String>, Spanned<String>>;

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    pub version: Spanned<String>,
    pub time_zone: Spanned<String>,
    pub languages: Spanned<Vec<Spanned<String>>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<Spanned<String>, RawText>,
    #[serde(default)]
    pub warnings: BTreeMap<Spanned<String>, RawText>,
    /// The words of the text view.
    #[serde(default)]
    pub text_view: BTreeMap<Spanned<String>, RawText>,
    /// How carrier trace text is read, in priority order.
    #[serde(default)]
    pub carrier_phrases: Vec<RawPhrase>,
    #[serde(default)]
    pub notice: Vec<RawNotice>,
    /// Cases with their expected decisions, run every time the file is loaded.
    #[serde(default, rename = "test", skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<RawTest>,
}

/// One entry of the carrier phrase table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhrase {
    pub status: Spanned<String>,
    pub any: Spanned<Vec<Spanned<String>>>,
    /// Phrases that read the line only as a whole clause, a leading 【place】 aside: 签收人
    /// in 签收人：门卫, not in 联系不上签收人.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whole_clause: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unless: Vec<Spanned<String>>,
    /// A phrase does not count where its clause has one of these right before it (未签收).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negated_before: Vec<Spanned<String>>,
    /// Words that may stand between a `negated_before` word and the phrase (被 in 未被签收,
    /// 正常 in 无法正常签收); up to three are looked through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fillers: Vec<Spanned<String>>,
    /// A phrase does not count where one of these comes earlier in its clause (等待收件人签收).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negated_earlier: Vec<Spanned<String>>,
    /// A phrase does not count where one of these follows it right away (签收失败, 签收时).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negated_after: Vec<Spanned<String>>,
    /// A phrase does not count where one of these comes anywhere after it in its clause
    /// (退回 in 快件已退回至杭州上城网点).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub negated_later: Vec<Spanned<String>>,
    /// Phrases looked for in the whole line: the entry reads the line only when one of them
    /// is there (取件 is the consignee's pickup beside 您已, 本人, 驿站, 丰巢柜).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_with: Vec<Spanned<String>>,
    /// A phrase counts only where one of these comes earlier in its clause (取件 in
    /// 您已在菜鸟驿站取件, not in 快件已到达驿站，取件号：8-2-3012).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_earlier: Vec<Spanned<String>>,
    /// A phrase counts only where one of these comes later in its clause (退回至 in
    /// 快件已退回至杭州上城网点).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_later: Vec<Spanned<String>>,
    /// Values that name nobody: a `whole_clause` phrase counts only when the clause after it
    /// holds a value, and not one of these (签收人：无, 签收人：待定).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_values: Vec<Spanned<String>>,
    /// Statuses this entry wins over: when an earlier entry of one of them read the line
    /// first and this one reads it too, this one's status is the reading (拦截失败，已签收
    /// is a delivery).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wins_over: Vec<Spanned<String>>,
}

/// One disruption notice.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotice {
    pub id: Spanned<String>,
    pub name: RawText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Spanned<String>>,
    /// `nationwide` (the default) or `zones`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Spanned<String>>,
    /// Which of several applying notices decides (policy.md §10); default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Spanned<i64>>,
    pub impact_period: Spanned<RawWindow>,
    #[serde(default)]
    pub phases: Vec<RawPhase>,
    #[serde(default)]
    pub zones: Vec<RawZone>,
    pub thresholds: Spanned<RawThresholds>,
    #[serde(default)]
    pub actions: BTreeMap<Spanned<String>, RawText>,
    #[serde(default)]
    pub explanations: BTreeMap<Spanned<String>, RawExplanation>,
}

/// A half-open window `[from, until)`; each end a TOML date-time or a string. Without
/// `until` it lasts until further notice.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    pub from: Spanned<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPhase {
    pub id: Spanned<String>,
    pub name: RawText,
    pub from: Spanned<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    pub id: Spanned<String>,
    pub name: RawText,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adcode_prefixes: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adcodes: Vec<Spanned<String>>,
    pub control: Spanned<RawWindow>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    pub stall_after_hours: Spanned<i64>,
    pub intercept_window_hours: Spanned<i64>,
    pub return_countdown_hours: Spanned<i64>,
    pub surge_open_refund_requests: Spanned<i64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawExplanation {
    pub section: Spanned<String>,
    pub text: RawText,
}

/// One `[[test]]`: a request in the contract's form and what its decision must be.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTest {
    pub name: Spanned<String>,
    pub request: Spanned<toml::Table>,
    pub expect: Spanned<RawExpect>,
}

/// What a test expects; every field is optional, but at least one is needed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// The deciding notice's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies: Option<Spanned<bool>>,
    /// The ids of the other notices that apply, in the order the response lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also_applies: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Spanned<String>>,
    /// Exactly these action codes, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Spanned<Vec<Spanned<String>>>>,
    /// Exactly these warning codes, in order (`[]`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Spanned<Vec<Spanned<String>>>>,
    /// Deadline kind → due time: exactly these deadlines (`{}`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}
