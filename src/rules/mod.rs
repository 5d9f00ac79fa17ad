//! The rules: one or more disruption notices, loaded once, validated as a whole, then
//! shared read-only. Every threshold, window, zone and text of the policy lives here.

mod file_tests;
mod lint;
mod overlap;
mod raw;
mod template;
mod text_view;
mod when;

use std::collections::HashSet;
use std::ops::Range;

use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use toml::Spanned;

pub use lint::{RulesWarning, RulesWarningCode};
pub use raw::RawRules;
use raw::{RawExplanation, RawNotice, RawPhrase, RawText, RawThresholds, RawWindow, RawZone};
pub use template::{
    Literal, Piece, Placeholder, THRESHOLD_ARGS, Template, Threshold, finding_args, warning_args,
};
pub use text_view::{TextWord, off_the_line};

use crate::carriers::Reading;
use crate::codes::{Action, Finding, Label, Status, WarningCode};
use crate::render::json::NoticeJson;
use crate::render::times::Rfc3339;
use crate::time::{self, Instant};

/// The 2023 Hangzhou notice, compiled into the binary.
pub const EMBEDDED_SOURCE: &str = include_str!("../../rules/hangzhou-2023.toml");
/// The name the embedded rules go by in messages.
pub const EMBEDDED_NAME: &str = "embedded:hangzhou-2023.toml";

/// The largest rules file read: the 2023 rules are 20 KiB, so this is room, not a target.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The longest threshold a rules file may set: a year.
const MAX_HOURS: i64 = 24 * 366;

/// A language the rules have texts in; an index into [`Rules::languages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(pub usize);

/// A text in every language of the rules, indexed by [`Lang`].
#[derive(Debug, Clone)]
pub struct Localized(Box<[Template]>);

impl Localized {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &Template {
        // Validation guarantees one text per language; fall back to the default anyway.
        self.0.get(lang.0).unwrap_or(&self.0[0])
    }

    /// Every language's text with the thresholds `t` written in.
    fn with_thresholds(&self, t: &Thresholds) -> Localized {
        Localized(
            self.0
                .iter()
                .map(|x| x.with_thresholds(|w| t.value(w)))
                .collect(),
        )
    }
}

/// A half-open interval `[from, until)`; without `until` it lasts until further notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Instant,
    /// `None`: until further notice (另行通知).
    pub until: Option<Instant>,
}

impl Window {
    /// Whether `t` is inside: `from` included, `until` not.
    pub fn contains(&self, t: Instant) -> bool {
        self.from <= t && ends_after(self.until, t)
    }

    /// How far `t` is from the window (zero inside).
    pub fn distance(&self, t: Instant) -> chrono::Duration {
        match self.until {
            _ if t < self.from => self.from - t,
            Some(u) if t >= u => t - u,
            _ => chrono::Duration::zero(),
        }
    }

    /// Whether the two windows share an instant.
    pub fn overlaps(&self, other: &Window) -> bool {
        ends_after(other.until, self.from) && ends_after(self.until, other.from)
    }
}

/// Whether a window ending at `until` (none: never) is still open at `t`.
fn ends_after(until: Option<Instant>, t: Instant) -> bool {
    until.is_none_or(|u| t < u)
}

/// Where a notice applies (policy.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Its impact period applies to every destination (policy.md §4); the default.
    Nationwide,
    /// It applies only to destinations in its zones.
    Zones,
}

impl Scope {
    /// The rules-file spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Nationwide => "nationwide",
            Scope::Zones => "zones",
        }
    }
}

/// A named part of the impact period (亚运会, 残奥会).
#[derive(Debug, Clone)]
pub struct Phase {
    pub id: String,
    pub name: Localized,
    pub window: Window,
}

/// A place whose parcels are under control for a window (快递管控).
#[derive(Debug, Clone)]
pub struct ControlZone {
    pub id: String,
    pub name: Localized,
    /// 2- or 4-digit prefixes: a province or a whole city.
    pub adcode_prefixes: Vec<String>,
    /// Exact 6-digit county-level codes.
    pub adcodes: Vec<String>,
    pub control: Window,
}

/// The policy's numbers (policy.md §3).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub stall_after: chrono::Duration,
    pub intercept_window: chrono::Duration,
    pub return_countdown: chrono::Duration,
    pub surge_open_refund_requests: u64,
}

impl Thresholds {
    /// A threshold as its placeholder shows it: whole hours, or a count.
    pub fn value(&self, which: Threshold) -> Option<u64> {
        let hours = |d: chrono::Duration| u64::try_from(d.num_hours()).ok();
        match which {
            Threshold::StallAfterHours => hours(self.stall_after),
            Threshold::InterceptWindowHours => hours(self.intercept_window),
            Threshold::ReturnCountdownHours => hours(self.return_countdown),
            Threshold::SurgeOpenRefundRequests => Some(self.surge_open_refund_requests),
        }
    }
}

/// One disruption notice.
#[derive(Debug, Clone)]
pub struct DisruptionNotice {
    pub id: String,
    pub name: Localized,
    pub source: Option<String>,
    pub time_zone: Tz,
    /// Where it applies.
    pub scope: Scope,
    /// Of several notices that apply, the higher priority decides (after the
    /// controlled zone, before the later start); default 0.
    pub priority: i64,
    pub impact_period: Window,
    pub phases: Vec<Phase>,
    pub zones: Vec<ControlZone>,
    pub thresholds: Thresholds,
    actions: Vec<Localized>,
    explanations: Vec<(String, Localized)>,
    zone_index: ZoneIndex,
    /// Its own instants (the ends of its impact period, phases and control windows) as
    /// answers write them, sorted: written once here, since a decision shows several
    /// and each costs a time-zone lookup.
    written: Vec<(Instant, Rfc3339)>,
    /// What its full answers copy rather than write: filled once the rules are valid
    /// ([`Rules::from_toml`]).
    pub(crate) json: NoticeJson,
}

/// Up to how many instants of a notice [`DisruptionNotice::written`] looks through one by
/// one rather than by halves.
const FEW_WRITTEN: usize = 16;

impl DisruptionNotice {
    /// `t` as answers write it, when it is one of the notice's own instants.
    pub(crate) fn written(&self, t: Instant) -> Option<&Rfc3339> {
        // A notice has a handful (two per window): looked at one by one, most differ by
        // their date alone, where a binary search compares dates and times by order at
        // each step (~105 instructions a lookup against ~40 for the 2023 notice's ten).
        let found = if self.written.len() <= FEW_WRITTEN {
            self.written.iter().find(|(at, _)| *at == t)
        } else {
            let i = self.written.binary_search_by_key(&t, |(at, _)| *at).ok()?;
            self.written.get(i)
        };
        found.map(|(_, text)| text)
    }

    /// The words of an action.
    pub fn action_text(&self, a: Action, lang: Lang) -> &Template {
        self.actions[a.index()].get(lang)
    }

    /// The notice's section for a finding, and its words.
    pub fn explanation(&self, f: Finding, lang: Lang) -> (&str, &Template) {
        let (section, text) = &self.explanations[f.index()];
        (section, text.get(lang))
    }

    /// The phase containing `t`, if any.
    pub fn phase_at(&self, t: Instant) -> Option<usize> {
        self.phases.iter().position(|p| p.window.contains(t))
    }

    /// The zone covering `area` whose control window matters for a case with a request
    /// at `request` and carrier events at `events`. The same place may be in several
    /// zones (a city prefix and one of its districts; one prefix in two zones with
    /// windows that do not overlap), so of the zones covering it, most specific first:
    /// the first whose window contains the request; else the one whose window contains
    /// the latest carrier event that falls in any of their windows (the control the
    /// parcel met last); else the one whose window is nearest the request.
    /// Hash lookups only, so the cost does not grow with the number of zones.
    pub fn zone_at(
        &self,
        area: crate::geo::Area,
        request: Instant,
        events: impl Iterator<Item = Instant> + Clone,
    ) -> ZoneMatch {
        let ix = &self.zone_index;
        let code = area.code();
        let (city, province) = (code / 100, code / 10_000);
        let none: &[usize] = &[];
        fn get(m: &HashMap<u32, Vec<usize>>, k: u32) -> &[usize] {
            m.get(&k).map_or(&[], Vec::as_slice)
        }
        // Exact codes first, at any level: a city without districts (东莞市 441900) is
        // its own county-level unit.
        let levels = match area {
            crate::geo::Area::Province(_) => {
                [get(&ix.exact, code), none, get(&ix.province, province)]
            }
            _ => [
                get(&ix.exact, code),
                get(&ix.city, city),
                get(&ix.province, province),
            ],
        };
        let candidates = levels.iter().flat_map(|l| l.iter().copied());
        let Some(first) = candidates.clone().next() else {
            let partial = match area {
                crate::geo::Area::District(_) => None,
                crate::geo::Area::City(_) => ix.partial_city.get(&city),
                crate::geo::Area::Province(_) => ix.partial_province.get(&province),
            };
            return partial.map_or(ZoneMatch::None, |&z| ZoneMatch::Partly(z));
        };
        let control = |z: usize| self.zones.get(z).map(|z| z.control);
        if candidates.clone().nth(1).is_none() {
            return ZoneMatch::In(first);
        }
        if let Some(z) = candidates
            .clone()
            .find(|&z| control(z).is_some_and(|w| w.contains(request)))
        {
            return ZoneMatch::In(z);
        }
        // Ties keep the more specific zone: `max_by_key` keeps the last maximum, so
        // walk from the least specific.
        let latest_event =
            |z: usize| control(z).and_then(|w| events.clone().filter(|t| w.contains(*t)).max());
        let by_event = candidates
            .clone()
            .filter_map(|z| latest_event(z).map(|t| (z, t)))
            .collect::<Vec<_>>();
        if let Some(&(z, _)) = by_event.iter().rev().max_by_key(|(_, t)| *t) {
            return ZoneMatch::In(z);
        }
        // `min_by_key` keeps the first minimum: the more specific zone.
        let nearest = candidates.min_by_key(|&z| control(z).map(|w| w.distance(request)));
        ZoneMatch::In(nearest.unwrap_or(first))
    }
}

/// Where an area stands against a notice's zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneMatch {
    /// Inside zone `.0`.
    In(usize),
    /// Only some districts of the area are in zone `.0`: too coarse to say.
    Partly(usize),
    /// In no zone.
    None,
}

/// A map of the zone index. foldhash: a few instructions a lookup where SipHash spends
/// a hundred and fifty, and a decision looks up three; the maps' keys are the rules'
/// own (a caller's code is only looked up).
type HashMap<K, V> = foldhash::HashMap<K, V>;

/// Codes to the zones covering them, in file order (several only when their control
/// windows do not overlap).
#[derive(Debug, Clone, Default)]
struct ZoneIndex {
    exact: HashMap<u32, Vec<usize>>,
    city: HashMap<u32, Vec<usize>>,
    province: HashMap<u32, Vec<usize>>,
    partial_city: HashMap<u32, usize>,
    partial_province: HashMap<u32, usize>,
}

/// The loaded, validated rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Set by the file's author.
    pub version: String,
    /// `sha256:` and the hex digest of the file's bytes.
    pub checksum: String,
    /// Where the rules came from (a path, or [`EMBEDDED_NAME`]).
    pub origin: String,
    /// Local times in requests are read in this zone.
    pub time_zone: Tz,
    /// Language tags; the first is the default.
    pub languages: Vec<String>,
    pub notices: Vec<DisruptionNotice>,
    /// What the file's author should know but that does not stop it loading (literal
    /// thresholds in texts, windows until further notice, redundant adcodes, …).
    pub load_warnings: Vec<RulesWarning>,
    /// The names of the file's `[[test]]`s, every one of which passed when it loaded.
    pub tests: Vec<String>,
    labels: Vec<Localized>,
    warning_texts: Vec<Localized>,
    text_view: Vec<Localized>,
    phrases: Vec<Phrase>,
    raw: RawRules,
}

/// One entry of the carrier phrase table, its text already simplified.
#[derive(Debug, Clone)]
struct Phrase {
    /// `None` for an `unclear` entry: a line it reads is read as nothing (a person reads
    /// it: the warning for an unrecognized description).
    reading: Option<Reading>,
    any: Vec<String>,
    whole_clause: Vec<String>,
    unless: Vec<String>,
    negated_before: Vec<String>,
    fillers: Vec<String>,
    negated_earlier: Vec<String>,
    negated_after: Vec<String>,
    negated_later: Vec<String>,
    only_with: Vec<String>,
    needs_earlier: Vec<String>,
    needs_later: Vec<String>,
    empty_values: Vec<String>,
    wins_over: Vec<Reading>,
}

/// How the phrase table writes an entry whose lines need a person (`已签收，收件人拒收部分商品`):
/// they are read as nothing, with the warning for an unrecognized description.
const UNCLEAR: &str = "unclear";

/// Text as phrases are compared: simplified (spaces and separators dropped, traditional
/// characters simplified), ASCII letters lowercased, and the spaces (or `-`, `/`) between
/// two ASCII words kept as one `_`, so that English phrases are matched case-insensitively and as
/// whole words (`delivered` is not in `undelivered`, `Package delivered` is read).
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text
        .chars()
        .filter_map(compatible)
        .filter(|&c| !is_pictograph(c))
        .peekable();
    while let Some(c) = chars.next() {
        if is_word_break(c) {
            while chars.peek().is_some_and(|&n| is_word_break(n)) {
                chars.next();
            }
            let word_before = out
                .chars()
                .next_back()
                .is_some_and(|p| p.is_ascii_alphanumeric());
            let word_after = chars.peek().is_some_and(|n| n.is_ascii_alphanumeric());
            if word_before && word_after {
                out.push('_');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    match crate::gazetteer().simplified(&out) {
        std::borrow::Cow::Borrowed(_) => out,
        std::borrow::Cow::Owned(simplified) => simplified,
    }
}

/// An emoji or a pictograph (👍, ✅, ❌): dropped when a line is folded for the table, so that
/// one between words does not hide a negation (快件未👍签收 is 未签收; 如已👍签收请忽略 is
/// 如已签收). An English line with one is no whole form ([`english_words`]).
fn is_pictograph(c: char) -> bool {
    matches!(c as u32, 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x1F000..=0x1FAFF)
}

/// The Kangxi radicals U+2F00–U+2FD5 as the ideographs they are (NFKC): ⽆法签收 is 无法签收.
const KANGXI: &str = "一丨丶丿乙亅二亠人儿入八冂冖冫几凵刀力勹匕匚匸十卜卩厂厶又口囗土士夂夊夕大女子宀寸小尢尸屮山巛工己巾干幺广廴廾弋弓彐彡彳心戈戶手支攴文斗斤方无日曰月木欠止歹殳毋比毛氏气水火爪父爻爿片牙牛犬玄玉瓜瓦甘生用田疋疒癶白皮皿目矛矢石示禸禾穴立竹米糸缶网羊羽老而耒耳聿肉臣自至臼舌舛舟艮色艸虍虫血行衣襾見角言谷豆豕豸貝赤走足身車辛辰辵邑酉釆里金長門阜隶隹雨靑非面革韋韭音頁風飛食首香馬骨高髟鬥鬯鬲鬼魚鳥鹵鹿麥麻黃黍黑黹黽鼎鼓鼠鼻齊齒龍龜龠";

/// Traditional characters of carrier text that the place-name simplifier does not map
/// (it holds the characters of place names): 沒有簽收 is 没有签收.
const TRADITIONAL_WORDS: &[(char, char)] = &[
    ('沒', '没'),
    ('請', '请'),
    ('須', '须'),
    ('絕', '绝'),
    ('預', '预'),
    ('時', '时'),
    ('敗', '败'),
    ('銷', '销'),
    ('還', '还'),
    ('備', '备'),
    ('約', '约'),
    ('領', '领'),
    ('貨', '货'),
    ('攔', '拦'),
    ('報', '报'),
    ('網', '网'),
    ('繫', '系'),
    ('話', '话'),
    ('認', '认'),
    ('問', '问'),
    ('題', '题'),
    ('損', '损'),
    ('壞', '坏'),
    ('遺', '遗'),
    ('滯', '滞'),
    ('誤', '误'),
    ('計', '计'),
    ('該', '该'),
    ('處', '处'),
    ('態', '态'),
    ('紙', '纸'),
    ('對', '对'),
    ('誰', '谁'),
    ('給', '给'),
    ('這', '这'),
    ('與', '与'),
    ('據', '据'),
    ('際', '际'),
    ('標', '标'),
    ('記', '记'),
    ('暫', '暂'),
    ('繼', '继'),
    ('續', '续'),
    ('辦', '办'),
    ('屬', '属'),
    ('賣', '卖'),
    ('買', '买'),
    ('帶', '带'),
    ('貼', '贴'),
    ('擬', '拟'),
    ('讀', '读'),
    ('線', '线'),
    ('寫', '写'),
    ('狀', '状'),
    ('碼', '码'),
    ('訂', '订'),
    ('隊', '队'),
    ('險', '险'),
    ('錄', '录'),
    ('並', '并'),
    ('價', '价'),
    ('樓', '楼'),
    ('層', '层'),
    ('幫', '帮'),
    ('嗎', '吗'),
    ('麼', '么'),
    ('換', '换'),
    ('詢', '询'),
    ('諮', '咨'),
    ('補', '补'),
    ('鎖', '锁'),
    ('護', '护'),
    ('謝', '谢'),
    ('訊', '讯'),
    ('係', '系'),
    ('掃', '扫'),
    ('揀', '拣'),
    ('駐', '驻'),
    ('總', '总'),
    ('匯', '汇'),
    ('夠', '够'),
    ('聽', '听'),
    ('歡', '欢'),
    ('寶', '宝'),
    ('鳥', '鸟'),
    ('驛', '驿'),
    ('櫃', '柜'),
    ('豐', '丰'),
    ('門', '门'),
    ('達', '达'),
    ('簽', '签'),
    ('牠', '它'),
];

/// [`KANGXI`] (keyed by radical) and [`TRADITIONAL_WORDS`] as one map, built once, so that
/// [`compatible`] looks a CJK character up rather than scanning both tables for each one.
static IDEOGRAPHS: std::sync::LazyLock<HashMap<char, char>> = std::sync::LazyLock::new(|| {
    (0x2F00..)
        .filter_map(char::from_u32)
        .zip(KANGXI.chars())
        .chain(TRADITIONAL_WORDS.iter().copied())
        .collect()
});

/// `c` as phrases are compared, before simplifying: nothing for a default-ignorable or
/// format character (soft hyphen, zero-width space and joiners, bidirectional marks,
/// word joiner, variation selectors, BOM, tags, fillers), which hide a negation
/// (快件未\u{200B}签收, Not\u{2060} delivered); the NFKC form of a full-width ASCII character, a
/// Kangxi radical or a curly apostrophe; the simplified form of a traditional character
/// of carrier text ([`TRADITIONAL_WORDS`]). One character in, at most one out: linear.
fn compatible(c: char) -> Option<char> {
    let u = c as u32;
    if lint::invisible(c) {
        return None;
    }
    match u {
        0xFF01..=0xFF5E => char::from_u32(u - 0xFEE0),
        0x3000 => Some(' '),
        0x2018 | 0x2019 | 0x201B | 0x2032 => Some('\''),
        0x2F00..=0x2FD5 | 0x4E00..=0x9FFF => Some(IDEOGRAPHS.get(&c).copied().unwrap_or(c)),
        _ => Some(c),
    }
}

/// The words of `text` when it is English (it has a letter and every letter is ASCII,
/// after [`compatible`]): lowercased, every run of other characters (punctuation, spaces)
/// one space, trimmed. `None` for a line with a letter of another script (Chinese).
///
/// A question mark, or a symbol that is neither punctuation nor space (an emoji: ❌
/// Delivered), leaves a `?` among the words: the line is no whole form, read as nothing.
fn english_words(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut letter = false;
    let mut odd = false;
    for c in text.chars().filter_map(compatible) {
        if c.is_ascii_alphanumeric() || c == '\'' {
            letter |= c.is_ascii_alphabetic();
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphabetic() {
            return None;
        } else {
            odd |= c == '?'
                || !(c.is_whitespace() || c.is_ascii_punctuation() || is_cjk_punctuation(c));
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        }
    }
    let words = out.trim_end();
    letter.then(|| {
        if odd {
            format!("{words} ?")
        } else {
            words.to_owned()
        }
    })
}

/// Punctuation of Chinese text that may stand beside English words (`，`, `【`, `…`).
fn is_cjk_punctuation(c: char) -> bool {
    matches!(c, '\u{3001}'..='\u{3011}' | '\u{3014}'..='\u{301F}' | '\u{2010}'..='\u{2027}' | '·' | '｡')
}

/// English words that say something about a parcel: an English run of a mixed line with
/// one of them that is no whole form ([`english_reading`]) makes the line unclear.
const ENGLISH_STATUS_WORDS: &[&str] = &[
    "deliver",
    "undeliver",
    "return",
    "refus",
    "reject",
    "pick",
    "fail",
    "cancel",
    "transit",
    "arriv",
    "depart",
    "attempt",
    "except",
    "locker",
    "sign",
    "receiv",
    "collect",
    "lost",
    "damag",
    "intercept",
    "dispatch",
    "pending",
    "partial",
    "out",
    "ready",
    "sender",
    "shipper",
    "customs",
    "hold",
    "held",
    "delay",
    "no",
    "not",
    "yes",
];

/// How the English of a line that also has Chinese reads: each run of it between Chinese
/// letters (`【杭州】Delivered by 8pm`, `包裹 Return delivered`) is read as an English line
/// is, by its whole form. `Some(Some(r))` when the runs with a word of
/// [`ENGLISH_STATUS_WORDS`] all read `r`; `Some(None)` when none has such a word (a name,
/// a code: 签收人：Tom); `None` when one reads as nothing or they disagree.
fn english_runs_reading(text: &str) -> Option<Option<Reading>> {
    let mut read: Option<Reading> = None;
    let mut run = String::new();
    let mut check = |run: &str| -> bool {
        let Some(words) = english_words(run) else {
            return true;
        };
        let says = words.split(' ').any(|w| {
            ENGLISH_STATUS_WORDS.iter().any(|k| {
                w.strip_prefix(k)
                    .is_some_and(|rest| rest.len() <= 6 && (k.len() > 3 || rest.is_empty()))
            })
        });
        if !says {
            return true;
        }
        match (english_reading(&words), read) {
            (None, _) => false,
            (Some(r), None) => {
                read = Some(r);
                true
            }
            (Some(r), Some(before)) => r == before,
        }
    };
    for c in text.chars().filter_map(compatible) {
        if c.is_alphabetic() && !c.is_ascii_alphabetic() {
            if run.chars().any(|c| c.is_ascii_alphabetic()) && !check(&run) {
                return None;
            }
            run.clear();
        } else {
            run.push(c);
        }
    }
    if run.chars().any(|c| c.is_ascii_alphabetic()) && !check(&run) {
        return None;
    }
    Some(read)
}

/// Who the consignee is, in English: a pickup by one of them is a delivery.
const ENGLISH_CONSIGNEES: &[&str] = &[
    "customer",
    "recipient",
    "receiver",
    "addressee",
    "consignee",
    "the customer",
    "the recipient",
    "the receiver",
    "the addressee",
    "the consignee",
];

/// How an English line reads: only the unambiguous forms below, said as the whole line
/// (a delivery with a place it was left at; a pickup by the consignee, with where), are
/// read; any other English line is read as nothing (unrecognized, warned). English
/// carrier text words the same event in too many ways (Delivered by 8pm, Delivered to
/// customs, Return delivered, Not\u{200B} delivered, Delivered: No) for phrases found inside a
/// line to be safe: a wrong status is worse than a warning.
fn english_reading(words: &str) -> Option<Reading> {
    use Status as S;
    let status = |s| Some(Reading::Status(s));
    let words = [
        "package ",
        "parcel ",
        "shipment ",
        "item ",
        "your package ",
        "your parcel ",
        "your item ",
        "your shipment ",
    ]
    .iter()
    .find_map(|p| words.strip_prefix(p))
    .unwrap_or(words);
    match words {
        "delivered"
        | "has been delivered"
        | "was delivered"
        | "delivered front door"
        | "delivered front porch"
        | "delivered back door"
        | "delivered left at front door"
        | "delivered in at mailbox"
        | "delivered in mailbox"
        | "delivered at mailbox"
        | "delivered mailbox"
        | "delivered left with individual"
        | "delivered to recipient"
        | "delivered to addressee"
        | "delivered to consignee" => return status(S::Delivered),
        "out for delivery"
        | "ready for pickup"
        | "delivered parcel locker"
        | "delivered to parcel locker"
        | "delivered to pickup point" => {
            return status(S::OutForDelivery);
        }
        "in transit" | "arrived at facility" | "departed facility" => return status(S::InTransit),
        "picked up" => return status(S::Collected),
        "returned to sender"
        | "return to sender"
        | "delivered to sender"
        | "delivered to original sender"
        | "delivered to shipper" => return status(S::Returned),
        "return to sender in transit" | "returned to sender arrived at facility" => {
            return status(S::Returning);
        }
        "refused" => return status(S::Rejected),
        "delivery attempted" | "delivery attempted no one home" | "delivery failed" => {
            return status(S::Exception);
        }
        _ => {}
    }
    // Picked up by the consignee, alone or with where (at …, from …), and the consignee
    // picked up, alone or with what and where: a delivery.
    let by = words
        .strip_prefix("picked up by ")
        .or_else(|| words.strip_prefix("was picked up by "));
    let tail_ok = |rest: &str| {
        rest.is_empty()
            || (rest.starts_with(" at ") || rest.starts_with(" from ")) && !rest.contains(" by ")
    };
    if by.is_some_and(|rest| {
        ENGLISH_CONSIGNEES
            .iter()
            .any(|c| rest.strip_prefix(c).is_some_and(tail_ok))
    }) {
        return status(S::Delivered);
    }
    let picked = ENGLISH_CONSIGNEES
        .iter()
        .filter_map(|c| words.strip_prefix(c))
        .filter_map(|rest| {
            rest.strip_prefix(" picked up")
                .or_else(|| rest.strip_prefix(" has picked up"))
        })
        .any(|rest| {
            let rest = ["", " the parcel", " the package", " package", " parcel"]
                .iter()
                .rev()
                .find_map(|w| rest.strip_prefix(w))
                .unwrap_or(rest);
            tail_ok(rest)
        });
    if picked {
        return status(S::Delivered);
    }
    // A pickup by the consignee said with the object first: "package picked up by
    // customer from locker" (prefix stripped above), "picked up from parcel locker by
    // recipient".
    let from = words.strip_prefix("picked up from ").and_then(|rest| {
        rest.rsplit_once(" by ")
            .filter(|(_, who)| ENGLISH_CONSIGNEES.contains(who) && !rest.contains(" courier"))
    });
    if from.is_some() {
        return status(S::Delivered);
    }
    None
}

/// White space, or a separator simplifying drops (`Delivery attempted - no one home`):
/// between two ASCII words, one `_`.
fn is_word_break(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '/' | '·' | '、')
}

/// Whether `c` is part of an ASCII word (for matching English phrases as whole words).
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// The punctuation that ends a clause of a trace line: `any` phrases and their negations
/// are looked for within one clause (快件未妥投，原因：收件人拒收 is a refusal). An ASCII
/// full stop ends one too, except between digits (3.5kg, 10.12); spaces do not (carriers
/// put them inside a sentence: 快件已在 【杭州上城】 签收).
fn is_clause_end(c: char) -> bool {
    matches!(
        c,
        ',' | '，'
            | '。'
            | '．'
            | '｡'
            | ';'
            | '；'
            | ':'
            | '：'
            | '!'
            | '！'
            | '?'
            | '？'
            | '\n'
            | '\r'
    )
}

/// `text` cut into clauses at [`is_clause_end`] and at a `.` not between two digits.
fn split_clauses(text: &str) -> Vec<&str> {
    clauses_and_ends(text).into_iter().map(|(c, _)| c).collect()
}

/// [`split_clauses`], each clause with what ended it (`None` for the last).
fn clauses_and_ends(text: &str) -> Vec<(&str, Option<char>)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let full_stop = c == '.'
            && !(prev.is_some_and(|p| p.is_ascii_digit())
                && next.is_some_and(|n| n.is_ascii_digit()));
        if is_clause_end(c) || full_stop {
            out.push((&text[start..i], Some(c)));
            start = i + c.len_utf8();
        }
        prev = Some(c);
    }
    out.push((&text[start..], None));
    out
}

/// A trace line read for phrases: folded whole (for `unless` and `only_with`), its
/// clauses folded ([`fold`]), and its clauses without a leading 【place】 (for
/// `whole_clause`), each with whether a colon ended it (a field: 签收人：门卫). A part of a
/// clause between spaces is no whole clause: 派送不成功 签收人 不在家 names no signer. A
/// clause that ends in a question mark asks, and says nothing: it is left out
/// (`已签收？请确认`). A clause that folds to nothing (`签收人：--，派送失败`) is kept as an
/// empty part: the value of the field before it is empty.
struct Line {
    /// For a line in English (letters, all ASCII): its words, lowercased, one space apart.
    /// Such a line is read only by [`english_reading`].
    english: Option<String>,
    /// The line as given (its English runs are read apart: [`english_runs_reading`]).
    text: String,
    whole: String,
    clauses: Vec<String>,
    parts: Vec<Part>,
    /// The characters of `whole` in the Basic Multilingual Plane, one bit each: a phrase
    /// with a character the line lacks is not in it, found without searching the line
    /// (see [`Line::holds`]).
    chars: Vec<u64>,
}

/// A clause of a [`Line`] without its leading 【place】, and whether a colon ended it.
#[derive(Debug)]
struct Part {
    text: String,
    field: bool,
}

impl Line {
    fn new(text: &str) -> Line {
        let mut clauses = Vec::new();
        let mut parts = Vec::new();
        for (clause, end) in clauses_and_ends(text) {
            if matches!(end, Some('?' | '？')) {
                continue;
            }
            let folded = fold(clause);
            parts.push(Part {
                text: without_place(&folded).to_owned(),
                field: matches!(end, Some(':' | '：')),
            });
            if !folded.is_empty() {
                clauses.push(folded);
            }
        }
        let whole = fold(text);
        let mut chars = vec![0u64; 0x1_0000 / 64];
        for c in whole.chars() {
            let i = (c as usize).min(0xFFFF);
            if let Some(word) = chars.get_mut(i / 64) {
                *word |= 1 << (i % 64);
            }
        }
        Line {
            english: english_words(text),
            text: text.to_owned(),
            whole,
            clauses,
            parts,
            chars,
        }
    }

    /// Whether `phrase` stands in the line (folded whole). A character the line lacks rules
    /// it out at once; the line is searched only for a phrase made of its characters, so
    /// that a long line (1 MiB of `a,`) is not searched once for each of the table's
    /// hundreds of phrases. A character beyond the plane counts as U+FFFF: present when
    /// any such is.
    fn holds(&self, phrase: &str) -> bool {
        phrase.chars().all(|c| {
            let i = (c as usize).min(0xFFFF);
            self.chars
                .get(i / 64)
                .is_some_and(|word| word & (1 << (i % 64)) != 0)
        }) && self.whole.contains(phrase)
    }
}

/// A clause without the bracketed places it starts with (【杭州市】签收人 → 签收人).
fn without_place(mut s: &str) -> &str {
    loop {
        let close = match s.chars().next() {
            Some('【') => '】',
            Some('[') => ']',
            Some('〔') => '〕',
            _ => return s,
        };
        match s.find(close) {
            Some(end) => s = &s[end + close.len_utf8()..],
            None => return s,
        }
    }
}

/// Whether a phrase of the table is English (ASCII with a letter): the table does not read
/// it. A line in English is read by its whole form ([`english_reading`]), and so is the
/// English of a line that also has Chinese ([`english_runs_reading`]): `【杭州】Delivered by
/// 8pm` is not read from the word `delivered` inside it.
fn is_english_phrase(p: &str) -> bool {
    p.is_ascii() && p.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Whether `before` ends with a negation, perhaps followed by fillers (未被, 无法正常,
/// 未能按时): at most three fillers are looked through. The `_` between English words
/// does not count (`not_delivered`).
fn ends_negated(before: &str, negations: &[String], fillers: &[String], depth: usize) -> bool {
    let before = before.trim_end_matches('_');
    negations.iter().any(|n| before.ends_with(n.as_str()))
        || (depth < 3
            && fillers.iter().any(|f| {
                before
                    .strip_suffix(f.as_str())
                    .is_some_and(|rest| ends_negated(rest, negations, fillers, depth + 1))
            }))
}

impl Phrase {
    /// Whether the entry reads `line`: one of its `any` phrases stands in a clause, not
    /// negated, or one of its `whole_clause` phrases is a whole clause.
    fn reads(&self, line: &Line) -> bool {
        if self.unless.iter().any(|u| line.holds(u)) {
            return false;
        }
        if !self.only_with.is_empty() && !self.only_with.iter().any(|w| line.holds(w)) {
            return false;
        }
        // With `empty_values`, a whole-clause phrase names someone only as a field (a colon
        // after it) with a value (签收人：门卫), not an empty one (签收人：无, 签收人：--,
        // 签收人，派送失败).
        let whole = self.whole_clause.iter().any(|w| {
            !is_english_phrase(w)
                && line.holds(w)
                && line.parts.iter().enumerate().any(|(j, p)| {
                    p.text == *w
                        && (self.empty_values.is_empty()
                            || (p.field
                                && line.parts.get(j + 1).is_some_and(|v| {
                                    !v.text.is_empty() && !self.empty_values.contains(&v.text)
                                })))
                })
        });
        if whole {
            return true;
        }
        // A phrase stands in a clause only if it stands in the whole line (a clause, folded,
        // is a part of the line folded): one search of the line per phrase rules out the
        // phrases it lacks, so a line of many clauses is searched clause by clause only for
        // the few phrases it holds (`a,` repeated over 1 MiB holds none).
        let present: Vec<&str> = self
            .any
            .iter()
            .map(String::as_str)
            .filter(|p| !is_english_phrase(p) && line.holds(p))
            .collect();
        !present.is_empty()
            && line
                .clauses
                .iter()
                .any(|clause| self.reads_clause(clause, &present))
    }

    /// Whether one of `phrases` (of the `any` phrases, those the line holds) stands in
    /// `clause`, not negated. The words looked
    /// for anywhere in the clause (`negated_earlier`, `negated_later`, `needs_earlier`,
    /// `needs_later`) are found once per clause, and only once a phrase stands in it, so a
    /// clause is read in time linear in its length (searching what precedes each match was
    /// quadratic: a 1 MiB description of one phrase repeated took minutes), and a clause
    /// with no phrase costs one search per phrase.
    fn reads_clause(&self, clause: &str, phrases: &[&str]) -> bool {
        let mut bounds: Option<Bounds> = None;
        phrases.iter().any(|&phrase| {
            let word_start = is_word(phrase.chars().next());
            let word_end = is_word(phrase.chars().next_back());
            clause.match_indices(phrase).any(|(i, _)| {
                let before = &clause[..i];
                let after = &clause[i + phrase.len()..];
                let cuts_a_word = (word_start && is_word(before.chars().next_back()))
                    || (word_end && is_word(after.chars().next()));
                if cuts_a_word {
                    return false;
                }
                let after = after.trim_start_matches('_');
                if self
                    .negated_after
                    .iter()
                    .any(|n| after.starts_with(n.as_str()))
                    || ends_negated(before, &self.negated_before, &self.fillers, 0)
                {
                    return false;
                }
                let b = bounds.get_or_insert_with(|| self.bounds(clause));
                let end = i + phrase.len();
                b.negated_earlier.is_none_or(|e| e > i)
                    && b.negated_later.is_none_or(|s| s < end)
                    && (self.needs_earlier.is_empty() || b.needs_earlier.is_some_and(|e| e <= i))
                    && (self.needs_later.is_empty() || b.needs_later.is_some_and(|s| s >= end))
            })
        })
    }

    /// Where the words looked for anywhere in `clause` stand: a `negated_earlier` or
    /// `needs_earlier` word stands before a place when its first occurrence ends there or
    /// earlier; a `negated_later` or `needs_later` word after a place when its last
    /// occurrence starts there or later.
    fn bounds(&self, clause: &str) -> Bounds {
        let first_end = |words: &[String]| {
            words
                .iter()
                .filter_map(|n| clause.find(n.as_str()).map(|at| at + n.len()))
                .min()
        };
        let last_start =
            |words: &[String]| words.iter().filter_map(|n| clause.rfind(n.as_str())).max();
        Bounds {
            negated_earlier: first_end(&self.negated_earlier),
            negated_later: last_start(&self.negated_later),
            needs_earlier: first_end(&self.needs_earlier),
            needs_later: last_start(&self.needs_later),
        }
    }
}

/// Where the words of a [`Phrase`] looked for anywhere in a clause stand (see
/// [`Phrase::bounds`]).
struct Bounds {
    negated_earlier: Option<usize>,
    negated_later: Option<usize>,
    needs_earlier: Option<usize>,
    needs_later: Option<usize>,
}

impl Rules {
    /// The embedded 2023 Hangzhou rules.
    pub fn embedded() -> Result<Rules, RulesErrors> {
        Rules::from_toml(EMBEDDED_SOURCE, EMBEDDED_NAME)
    }

    /// Reads and validates a rules file.
    pub fn from_path(path: &std::path::Path) -> Result<Rules, RulesErrors> {
        let source = Rules::read_source(path)?;
        Rules::from_toml(&source, &path.display().to_string())
    }

    /// Reads a rules file's text: the one way startup, `rules check` and reload all read
    /// it. Only a regular file of at most [`MAX_FILE_BYTES`], never blocking (a FIFO at
    /// the path is refused, not waited on), and strictly UTF-8: a file in another
    /// encoding is refused with the place of its first bad byte, never read lossily.
    /// The messages name no path (the errors' `origin` does), so the API can show them.
    pub fn read_source(path: &std::path::Path) -> Result<String, RulesErrors> {
        let fail = |line, column, message| RulesErrors {
            origin: path.display().to_string(),
            errors: vec![RulesError {
                line,
                column,
                message,
            }],
        };
        let bytes = crate::files::read_regular(path, MAX_FILE_BYTES)
            .map_err(|e| fail(0, 0, format!("cannot read the rules file: {e}")))?;
        String::from_utf8(bytes).map_err(|e| {
            let good = e
                .as_bytes()
                .get(..e.utf8_error().valid_up_to())
                .unwrap_or_default();
            let (line, column) = line_col(&String::from_utf8_lossy(good), good.len());
            fail(
                line,
                column,
                "the rules file is not UTF-8 (this byte is not valid UTF-8): save it as UTF-8"
                    .to_owned(),
            )
        })
    }

    /// Parses and validates rules from TOML text, then runs its `[[test]]`s; `origin`
    /// names it in errors. A file with an error or a failing test is refused; what only
    /// deserves a look is in [`Rules::load_warnings`].
    pub fn from_toml(source: &str, origin: &str) -> Result<Rules, RulesErrors> {
        let fail = |errors: Vec<(Option<Range<usize>>, String)>| RulesErrors {
            origin: origin.to_owned(),
            errors: errors
                .into_iter()
                .map(|(span, message)| RulesError::at(source, span, message))
                .collect(),
        };
        let raw: RawRules = toml::from_str(source).map_err(|e| {
            if toml::from_str::<toml::Table>(source).is_ok_and(|t| t.is_empty()) {
                return fail(vec![(None, "the file is empty: `aftersales rules init` prints a complete rules file to start from".into())]);
            }
            let message = lint::syntax_hint(source, e.span(), e.message());
            fail(vec![(e.span(), message)])
        })?;
        let mut v = Validator::default();
        let rules = v.rules(&raw, source, origin);
        let mut rules = match rules {
            Some(r) if v.errors.is_empty() => r,
            _ => return Err(fail(v.errors)),
        };
        let json: Vec<NoticeJson> = rules
            .notices
            .iter()
            .map(|n| NoticeJson::new(&rules, n))
            .collect();
        for (n, json) in rules.notices.iter_mut().zip(json) {
            n.json = json;
        }
        let failures = file_tests::run(&rules, &v.tests, source);
        if !failures.is_empty() {
            return Err(fail(failures));
        }
        rules.tests = v.tests.iter().map(|t| t.name.clone()).collect();
        rules.load_warnings = v
            .warnings
            .into_iter()
            .map(|(span, code, message)| {
                let (line, column) = span.map_or((0, 0), |s| line_col(source, s.start));
                RulesWarning {
                    code,
                    line,
                    column,
                    message,
                }
            })
            .collect();
        Ok(rules)
    }

    /// Logs each of [`Rules::load_warnings`] (at startup and on reload).
    pub fn log_warnings(&self) {
        for w in &self.load_warnings {
            tracing::warn!(rules = %self.origin, code = w.code.as_str(), line = w.line, column = w.column, message = %w.message, "rules file warning");
        }
    }

    /// The notice with this id.
    pub fn notice(&self, id: &str) -> Option<&DisruptionNotice> {
        self.notices.iter().find(|n| n.id == id)
    }

    /// The language matching a tag (`en`, `en-US`, `zh-CN`, `zh`), if the rules have it.
    pub fn language(&self, tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        let primary = |t: &str| t.split('-').next().unwrap_or(t).to_ascii_lowercase();
        self.languages
            .iter()
            .position(|l| l.eq_ignore_ascii_case(tag))
            .or_else(|| {
                self.languages
                    .iter()
                    .position(|l| primary(l) == primary(tag))
            })
            .map(Lang)
    }

    /// The words of a label or a status.
    pub fn label(&self, l: Label, lang: Lang) -> &Template {
        self.labels[l.index()].get(lang)
    }

    /// The words of a status.
    pub fn status_label(&self, s: Status, lang: Lang) -> &Template {
        self.labels[Label::ALL.len() + s.index()].get(lang)
    }

    /// Reads a carrier's trace line into a status (or [`Reading::NoMovement`]): the first
    /// phrase-table entry that reads it wins, unless a later entry that also reads it
    /// `wins_over` that one's status (拦截失败，快件已签收 is a delivery). `None` when
    /// nothing reads it.
    pub fn read_description(&self, text: &str) -> Option<Reading> {
        self.reading_of(&Line::new(text))
    }

    /// How `text` reads (as [`Self::read_description`]), and whether it says `given`:
    /// read so, or an entry of the phrase table that gives `given` reads it too, wherever it stands in the table (the
    /// text says that as well, if not first): the line simplified and cut once for both.
    pub fn read_description_against(&self, text: &str, given: Reading) -> Option<(Reading, bool)> {
        let line = Line::new(text);
        let read_as = self.reading_of(&line)?;
        let says_given = read_as == given
            || line.english.is_none()
                && self
                    .phrases
                    .iter()
                    .any(|p| p.reading == Some(given) && p.reads(&line));
        Some((read_as, says_given))
    }

    /// The reading of the first entry that reads `line`, or of an entry that wins over it.
    /// `None` when nothing reads it, or an `unclear` entry does first.
    fn reading_of(&self, line: &Line) -> Option<Reading> {
        if let Some(words) = &line.english {
            return english_reading(words);
        }
        // A cross or a stop sign (❌已签收) may say the rest did not happen: a person reads it.
        if line.text.contains(['❌', '🚫', '⛔', '✖', '✗', '✘', '❎']) {
            return None;
        }
        let english = if line.whole.bytes().any(|b| b.is_ascii_alphabetic()) {
            english_runs_reading(&line.text)?
        } else {
            None
        };
        let Some(first) = self.phrases.iter().find(|p| p.reads(line)) else {
            return english;
        };
        let winner = self
            .phrases
            .iter()
            .find(|p| first.reading.is_some_and(|r| p.wins_over.contains(&r)) && p.reads(line))
            .unwrap_or(first);
        // The Chinese and the English of a mixed line must agree (快件已签收 Delivered).
        winner.reading.filter(|r| english.is_none_or(|e| e == *r))
    }

    /// The words of a warning.
    pub fn warning_text(&self, w: WarningCode, lang: Lang) -> &Template {
        self.warning_texts[w.index()].get(lang)
    }

    /// The words of the text view.
    pub fn text_word(&self, w: TextWord, lang: Lang) -> &Template {
        self.text_view[w.index()].get(lang)
    }

    /// The effective rules in the rules-file format: loading it again gives the same rules.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(&self.raw)
    }
}

/// Everything wrong with a rules file.
#[derive(Debug, Clone)]
pub struct RulesErrors {
    pub origin: String,
    pub errors: Vec<RulesError>,
}

/// One problem, at a 1-based line and column (0 when there is no place in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RulesError {
    fn at(source: &str, span: Option<Range<usize>>, message: String) -> RulesError {
        let (line, column) = match span {
            Some(span) => line_col(source, span.start),
            None => (0, 0),
        };
        RulesError {
            line,
            column,
            message,
        }
    }
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl std::fmt::Display for RulesErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if e.line > 0 {
                write!(f, "{}:{}:{}: {}", self.origin, e.line, e.column, e.message)?;
            } else {
                write!(f, "{}: {}", self.origin, e.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for RulesErrors {}

/// Collects every problem instead of stopping at the first.
#[derive(Default)]
struct Validator {
    errors: Vec<(Option<Range<usize>>, String)>,
    warnings: Vec<(Option<Range<usize>>, RulesWarningCode, String)>,
    languages: Vec<String>,
    /// The file's tests, checked and ready to run once the rules are built.
    tests: Vec<file_tests::FileTest>,
    /// Well-formed codes from the file's own zones, for hints: a prefix and an adcode,
    /// each with the place it names.
    examples: lint::Examples,
}

/// A zone's control window as far as it could be read, for the checks of later zones.
struct ZoneSeen {
    id: String,
    control: Option<Window>,
}

impl Validator {
    fn err<T>(&mut self, at: &Spanned<T>, message: impl Into<String>) {
        self.errors.push((Some(at.span()), message.into()));
    }

    fn warn<T>(&mut self, at: &Spanned<T>, code: RulesWarningCode, message: impl Into<String>) {
        self.warnings.push((Some(at.span()), code, message.into()));
    }

    fn rules(&mut self, raw: &RawRules, source: &str, origin: &str) -> Option<Rules> {
        let version = raw.version.get_ref();
        if lint::blank(version) {
            self.err(&raw.version, "`version` must not be empty");
        } else if version.trim() != version {
            // Decisions name the version: "v1 " and "v1" would look the same in them.
            self.err(
                &raw.version,
                format!(
                    "`version` \"{}\" begins or ends with a space: take it out, decisions name the version and the space would not show",
                    version.escape_debug()
                ),
            );
        }
        self.one_line(&raw.version, "`version`");
        for t in &raw.tests {
            self.one_line(
                &t.name,
                &format!("the name of test `{}`", t.name.get_ref().escape_debug()),
            );
        }
        let time_zone = self.time_zone(&raw.time_zone);
        let mut seen = HashSet::new();
        for l in raw.languages.get_ref() {
            let tag = l.get_ref();
            let well_formed = !tag.is_empty()
                && tag
                    .split('-')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
            if !well_formed {
                self.err(
                    l,
                    format!("`{tag}` is not a language tag (like zh-CN or en)"),
                );
            } else if !seen.insert(tag.to_ascii_lowercase()) {
                self.err(l, format!("language `{tag}` is listed twice"));
            }
        }
        if raw.languages.get_ref().is_empty() {
            self.err(
                &raw.languages,
                "`languages` must name at least one language",
            );
        }
        self.languages = raw
            .languages
            .get_ref()
            .iter()
            .map(|l| l.get_ref().clone())
            .collect();
        self.examples = lint::Examples::from_file(raw);

        let label_codes: Vec<&str> = Label::ALL
            .iter()
            .map(|l| l.as_str())
            .chain(Status::ALL.iter().map(|s| s.as_str()))
            .collect();
        let labels = self.code_table(&raw.labels, &label_codes, "labels", None, |_| vec![]);
        let warning_codes: Vec<&str> = WarningCode::ALL.iter().map(|w| w.as_str()).collect();
        let warnings = self.code_table(&raw.warnings, &warning_codes, "warnings", None, |code| {
            WarningCode::parse(code).map_or(vec![], |w| template::warning_args(w).to_vec())
        });
        let text_codes: Vec<&str> = TextWord::ALL.iter().map(|w| w.as_str()).collect();
        let text_view = self.code_table(&raw.text_view, &text_codes, "text_view", None, |code| {
            TextWord::parse(code).map_or(vec![], |w| w.args().to_vec())
        });
        self.text_view_shows_every_value(&raw.text_view);
        self.warnings_show_every_value(&raw.warnings);

        let phrases = self.phrases(&raw.carrier_phrases);

        if raw.notice.is_empty() {
            self.errors.push((
                None,
                "the file has no `[[notice]]`: at least one is needed".into(),
            ));
        }
        let mut ids = HashSet::new();
        let mut notices = Vec::new();
        for n in &raw.notice {
            if !ids.insert(n.id.get_ref().clone()) {
                self.err(
                    &n.id,
                    format!("notice id `{}` is used twice", n.id.get_ref()),
                );
            }
            // Keep checking the notices even when the top-level zone is broken.
            if let Some(notice) = self.notice(n, time_zone.unwrap_or(Tz::UTC)) {
                notices.push(notice);
            }
        }
        if notices.len() == raw.notice.len() {
            for (j, message) in overlap::unsettled(&notices) {
                let n = &raw.notice[j];
                match &n.priority {
                    Some(p) => self.err(p, message),
                    None => self.err(&n.id, message),
                }
            }
        }
        let notice_ids: Vec<&str> = raw.notice.iter().map(|n| n.id.get_ref().as_str()).collect();
        self.tests = self.file_tests(raw, time_zone.unwrap_or(Tz::UTC), &notice_ids);
        if raw.tests.is_empty() {
            self.warnings.push((
                None,
                RulesWarningCode::NoTests,
                "the file has no `[[test]]`: add a case with its expected decision for each rule you rely on, so a later edit cannot change it unnoticed".into(),
            ));
        }
        let rules = Rules {
            version: raw.version.get_ref().clone(),
            checksum: checksum(source),
            origin: origin.to_owned(),
            time_zone: time_zone?,
            languages: self.languages.clone(),
            notices,
            load_warnings: Vec::new(),
            tests: Vec::new(),
            labels: labels?,
            warning_texts: warnings?,
            text_view: text_view?,
            phrases,
            raw: raw.clone(),
        };
        Some(rules)
    }

    fn file_tests(
        &mut self,
        raw: &RawRules,
        tz: Tz,
        notice_ids: &[&str],
    ) -> Vec<file_tests::FileTest> {
        let mut out = Vec::new();
        let mut names = HashSet::new();
        for (index, t) in raw.tests.iter().enumerate() {
            if !names.insert(t.name.get_ref().trim().to_owned()) {
                self.err(
                    &t.name,
                    format!("test name `{}` is used twice", t.name.get_ref()),
                );
            }
            match file_tests::FileTest::check(t, index, tz, notice_ids) {
                Ok(test) => out.push(test),
                Err(problems) => self.errors.extend(problems),
            }
        }
        out
    }

    fn phrases(&mut self, raw: &[RawPhrase]) -> Vec<Phrase> {
        let mut out = Vec::new();
        for p in raw {
            let known = Reading::all_codes().join(", ");
            let reading = if p.status.get_ref() == UNCLEAR {
                None
            } else {
                let Some(reading) = Reading::parse(p.status.get_ref()) else {
                    self.err(
                        &p.status,
                        format!(
                            "`{}` is not a carrier status: use one of {known}, or {UNCLEAR}",
                            p.status.get_ref(),
                        ),
                    );
                    continue;
                };
                Some(reading)
            };
            if p.any.get_ref().is_empty() {
                self.err(&p.any, "`any` needs at least one phrase");
            }
            let negations = || {
                p.negated_before
                    .iter()
                    .chain(&p.fillers)
                    .chain(&p.negated_earlier)
                    .chain(&p.negated_after)
                    .chain(&p.negated_later)
            };
            let phrases = || p.any.get_ref().iter().chain(&p.whole_clause);
            for phrase in phrases()
                .chain(&p.unless)
                .chain(&p.only_with)
                .chain(&p.needs_earlier)
                .chain(&p.needs_later)
                .chain(&p.empty_values)
                .chain(negations())
            {
                if phrase.get_ref().trim().is_empty() {
                    self.err(phrase, "a phrase must not be empty");
                }
            }
            for phrase in phrases()
                .chain(negations())
                .chain(&p.needs_earlier)
                .chain(&p.needs_later)
            {
                if split_clauses(phrase.get_ref()).len() > 1 {
                    self.err(
                        phrase,
                        "a phrase is looked for within one clause, so it cannot hold what ends a clause (，。；：！？．｡ and their ASCII forms, a `.` not between digits, a line break); `unless` is looked for in the whole line",
                    );
                }
            }
            for phrase in &p.empty_values {
                if split_clauses(phrase.get_ref()).len() > 1 {
                    self.err(
                        phrase,
                        "an empty value is one clause, so it cannot hold what ends a clause",
                    );
                }
            }
            if !p.empty_values.is_empty() && p.whole_clause.is_empty() {
                self.err(
                    &p.empty_values[0],
                    "`empty_values` are what may follow a `whole_clause` phrase, so they need `whole_clause`",
                );
            }
            if !p.fillers.is_empty() && p.negated_before.is_empty() {
                self.err(
                    &p.fillers[0],
                    "`fillers` stand between a `negated_before` word and the phrase, so they need `negated_before`",
                );
            }
            let mut wins_over = Vec::new();
            for w in &p.wins_over {
                match Reading::parse(w.get_ref()) {
                    Some(r) if Some(r) == reading => {
                        self.err(w, "an entry cannot win over its own status")
                    }
                    Some(r) if !raw.iter().any(|q| Reading::parse(q.status.get_ref()) == Some(r)) => {
                        self.err(
                            w,
                            format!("no `[[carrier_phrases]]` entry reads `{}`, so there is nothing to win over", w.get_ref()),
                        )
                    }
                    Some(r) => wins_over.push(r),
                    None => self.err(
                        w,
                        format!("`{}` is not a carrier status: use one of {known}", w.get_ref()),
                    ),
                }
            }
            let text = |v: &[Spanned<String>]| {
                v.iter()
                    .map(|s| fold(s.get_ref()))
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            out.push(Phrase {
                reading,
                any: text(p.any.get_ref()),
                whole_clause: text(&p.whole_clause),
                unless: text(&p.unless),
                negated_before: text(&p.negated_before),
                fillers: text(&p.fillers),
                negated_earlier: text(&p.negated_earlier),
                negated_after: text(&p.negated_after),
                negated_later: text(&p.negated_later),
                only_with: text(&p.only_with),
                needs_earlier: text(&p.needs_earlier),
                needs_later: text(&p.needs_later),
                empty_values: text(&p.empty_values),
                wins_over,
            });
        }
        out
    }

    fn time_zone(&mut self, tz: &Spanned<String>) -> Option<Tz> {
        match tz.get_ref().parse::<Tz>() {
            Ok(zone) => {
                if let Some((at, offset)) = when::seconds_offset(zone) {
                    self.err(
                        tz,
                        format!(
                            "`time_zone` {} is at {offset} on {} (local mean time), an offset of seconds that RFC 3339 times cannot write: every time in it would be shown seconds off; use a zone whose offset is whole minutes from 1970 on",
                            zone.name(),
                            at.format("%Y-%m-%d")
                        ),
                    );
                    return None;
                }
                Some(zone)
            }
            Err(_) => {
                self.err(
                    tz,
                    format!(
                        "`{}` is not an IANA time zone (like Asia/Shanghai)",
                        tz.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn id(&mut self, id: &Spanned<String>, what: &str) {
        let s = id.get_ref();
        let ok = !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok {
            self.err(
                id,
                format!("{what} id `{s}` must be lowercase letters, digits, `_` or `-`"),
            );
        }
    }

    /// Refuses a character in `at` that answers would carry as is, to where it does harm
    /// ([`off_the_line`]: a line break in a one-line text, a terminal command, words shown
    /// reordered by a bidirectional control).
    fn one_line(&mut self, at: &Spanned<String>, what: &str) {
        if let Some(c) = at.get_ref().chars().find(|c| off_the_line(*c)) {
            self.err(at, format!("{what} holds {}: {UNSHOWABLE}", code_point(c)));
        } else if let Some(c) = at.get_ref().chars().find(|c| lint::invisible(*c)) {
            self.err(at, format!("{what} holds {}: {INVISIBLE}", code_point(c)));
        }
    }

    fn scope(&mut self, n: &RawNotice) -> Scope {
        let Some(scope) = &n.scope else {
            return Scope::Nationwide;
        };
        match scope.get_ref().as_str() {
            "nationwide" => Scope::Nationwide,
            "zones" => {
                if n.zones.is_empty() {
                    self.err(
                        scope,
                        format!(
                            "notice `{}` has `scope = \"zones\"` but no `[[notice.zones]]`: it could never apply",
                            n.id.get_ref()
                        ),
                    );
                }
                Scope::Zones
            }
            other => {
                self.err(
                    scope,
                    format!(
                        "`scope = \"{other}\"`: use \"nationwide\" (the impact period applies to every destination) or \"zones\" (only destinations in the notice's zones)"
                    ),
                );
                Scope::Nationwide
            }
        }
    }

    fn notice(&mut self, n: &RawNotice, default_tz: Tz) -> Option<DisruptionNotice> {
        self.id(&n.id, "notice");
        if let Some(source) = &n.source {
            self.one_line(
                source,
                &format!("the `source` of notice `{}`", n.id.get_ref()),
            );
        }
        let tz = match &n.time_zone {
            Some(tz) => self.time_zone(tz),
            None => Some(default_tz),
        };
        let scope = self.scope(n);
        let priority = n.priority.as_ref().map_or(0, |p| *p.get_ref());
        let name = self.localized(&n.name, "notice name", None, &[]);
        let tz = tz?;
        let what = format!("impact period of notice `{}`", n.id.get_ref());
        let impact = self.window(&n.impact_period, tz, &what);

        let mut phases = Vec::new();
        let mut phase_ids = HashSet::new();
        for p in &n.phases {
            self.id(&p.id, "phase");
            if !phase_ids.insert(p.id.get_ref().clone()) {
                self.err(
                    &p.id,
                    format!("phase id `{}` is used twice", p.id.get_ref()),
                );
            }
            let name = self.localized(&p.name, "phase name", None, &[]);
            let what = format!("phase `{}`", p.id.get_ref());
            let window = self.window_ends(&p.from, p.until.as_ref(), tz, &what);
            if let (Some(w), Some(impact)) = (window, impact)
                && (w.from < impact.from
                    || match (w.until, impact.until) {
                        (_, None) => false,
                        (None, Some(_)) => true,
                        (Some(u), Some(iu)) => u > iu,
                    })
            {
                self.err(
                    &p.from,
                    format!(
                        "phase `{}` reaches outside the impact period",
                        p.id.get_ref()
                    ),
                );
            }
            if let (Some(name), Some(window)) = (name, window) {
                if let Some(other) = phases.iter().find(|o: &&Phase| o.window.overlaps(&window)) {
                    self.err(
                        &p.from,
                        format!("phase `{}` overlaps phase `{}`", p.id.get_ref(), other.id),
                    );
                }
                phases.push(Phase {
                    id: p.id.get_ref().clone(),
                    name,
                    window,
                });
            }
        }

        let mut zones = Vec::new();
        let mut index = ZoneIndex::default();
        let mut zone_ids = HashSet::new();
        let mut seen = Vec::new();
        for z in &n.zones {
            if !zone_ids.insert(z.id.get_ref().clone()) {
                self.err(&z.id, format!("zone id `{}` is used twice", z.id.get_ref()));
            }
            if let Some(zone) = self.zone(z, tz, &mut seen, &mut index) {
                zones.push(zone);
            }
        }

        let thresholds = self.thresholds(&n.thresholds);
        let action_codes: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        let actions = self.code_table(&n.actions, &action_codes, "actions", Some(&n.id), |_| {
            THRESHOLD_ARGS.to_vec()
        });
        let explanations = self.explanations(&n.explanations, &n.id);
        if let Some(t) = &thresholds {
            let texts = n
                .actions
                .iter()
                .flat_map(|(code, texts)| texts.values().map(move |t| (code, t)))
                .chain(
                    n.explanations
                        .iter()
                        .flat_map(|(code, e)| e.text.values().map(move |t| (code, t))),
                );
            for (code, text) in texts {
                for (number, names) in lint::literal_thresholds(text.get_ref(), t) {
                    let quoted = |open: &str, close: &str, sep: &str| {
                        names
                            .iter()
                            .map(|n| format!("{open}{n}{close}"))
                            .collect::<Vec<_>>()
                            .join(sep)
                    };
                    self.warn(
                        text,
                        RulesWarningCode::LiteralThreshold,
                        format!(
                            "the text of `{}` says {number}, the notice's {}: write {}, so the words follow the threshold when it changes",
                            code.get_ref(),
                            quoted("`", "`", " and "),
                            quoted("`{", "}`", " or "),
                        ),
                    );
                }
            }
        }
        // The thresholds are constants of the notice: its texts have them written in.
        let thresholds = thresholds?;
        let actions = actions?
            .iter()
            .map(|a| a.with_thresholds(&thresholds))
            .collect();
        let explanations = explanations?
            .iter()
            .map(|(section, e)| (section.clone(), e.with_thresholds(&thresholds)))
            .collect();
        let impact_period = impact?;
        let windows = std::iter::once(impact_period)
            .chain(phases.iter().map(|p| p.window))
            .chain(zones.iter().map(|z| z.control));
        let mut instants: Vec<Instant> = windows
            .flat_map(|w| [Some(w.from), w.until])
            .flatten()
            .collect();
        instants.sort_unstable();
        instants.dedup();
        let written = instants
            .into_iter()
            .map(|t| (t, Rfc3339::new(t, tz)))
            .collect();
        Some(DisruptionNotice {
            id: n.id.get_ref().clone(),
            name: name?,
            source: n.source.as_ref().map(|s| s.get_ref().clone()),
            time_zone: tz,
            scope,
            priority,
            impact_period,
            phases,
            zones,
            thresholds,
            actions,
            explanations,
            zone_index: index,
            written,
            json: NoticeJson::default(),
        })
    }

    fn zone(
        &mut self,
        z: &RawZone,
        tz: Tz,
        seen: &mut Vec<ZoneSeen>,
        index: &mut ZoneIndex,
    ) -> Option<ControlZone> {
        // The position among the notice's zones, whether or not earlier ones loaded: a
        // file with a broken zone is refused anyway.
        let ix = seen.len();
        self.id(&z.id, "zone");
        let name = self.localized(&z.name, "zone name", None, &[]);
        let what = format!("control window of zone `{}`", z.id.get_ref());
        let control = self.window(&z.control, tz, &what);
        if z.adcode_prefixes.is_empty() && z.adcodes.is_empty() {
            self.err(
                &z.id,
                format!(
                    "zone `{}` covers nothing: give `adcode_prefixes` or `adcodes`",
                    z.id.get_ref()
                ),
            );
        }
        let zone = Claim {
            ix,
            control,
            seen: seen.as_slice(),
        };
        // Codes another zone already holds at an overlapping time, with that zone's id.
        let mut clashes: Vec<(&Spanned<String>, String)> = Vec::new();
        for p in &z.adcode_prefixes {
            let s = p.get_ref();
            let digits = s.chars().all(|c| c.is_ascii_digit()) && !s.starts_with('0');
            match (digits, s.len()) {
                (true, 2) => {
                    let province: u32 = s.parse().unwrap_or_default();
                    clashes.extend(self.claim(&mut index.province, p, province, &zone));
                }
                (true, 4) => {
                    let city: u32 = s.parse().unwrap_or_default();
                    clashes.extend(self.claim(&mut index.city, p, city, &zone));
                    // A destination known only to the province is too coarse to place.
                    index.partial_province.entry(city / 100).or_insert(ix);
                }
                _ => self.err(
                    p,
                    format!(
                        "`{s}` is not an adcode prefix: use 2 digits for a province or 4 for a city{}",
                        self.examples.prefix_hint()
                    ),
                ),
            }
        }
        for c in &z.adcodes {
            let s = c.get_ref();
            if let Some(place) = lint::city_with_districts(s) {
                self.err(
                    c,
                    format!(
                        "`{s}` is the code of {place}, a city with districts: in `adcodes` it matches none of them; to cover the whole city, put `{}` in `adcode_prefixes`",
                        &s[..4]
                    ),
                );
            } else if s.len() == 6
                && s.chars().all(|c| c.is_ascii_digit())
                && !s.ends_with("0000")
                && !s.starts_with('0')
            {
                let code: u32 = s.parse().unwrap_or_default();
                clashes.extend(self.claim(&mut index.exact, c, code, &zone));
                index.partial_city.entry(code / 100).or_insert(ix);
                index.partial_province.entry(code / 10_000).or_insert(ix);
            } else {
                self.err(
                    c,
                    format!(
                        "`{s}` is not a county-level adcode: use its 6 digits{}; a whole province or city goes in `adcode_prefixes`",
                        self.examples.adcode_hint()
                    ),
                );
            }
        }
        self.clashes(&clashes);
        for (at, code, message) in lint::zone_codes(z) {
            self.warn(at, code, message);
        }
        seen.push(ZoneSeen {
            id: z.id.get_ref().clone(),
            control,
        });
        Some(ControlZone {
            id: z.id.get_ref().clone(),
            name: name?,
            adcode_prefixes: z
                .adcode_prefixes
                .iter()
                .map(|p| p.get_ref().clone())
                .collect(),
            adcodes: z.adcodes.iter().map(|p| p.get_ref().clone()).collect(),
            control: control?,
        })
    }

    /// Gives `key` to a zone in one of the zone index's maps, unless the zone already
    /// has it, or another zone has it with a control window that overlaps this one's
    /// (one place may be in two zones only at different times: an early screening
    /// period, then a strict one). Returns the code and that other zone's id, for
    /// [`Validator::clashes`].
    fn claim<'c>(
        &mut self,
        map: &mut HashMap<u32, Vec<usize>>,
        code: &'c Spanned<String>,
        key: u32,
        zone: &Claim<'_>,
    ) -> Option<(&'c Spanned<String>, String)> {
        let holders = map.entry(key).or_default();
        if holders.contains(&zone.ix) {
            self.err(
                code,
                format!("`{}` is listed twice in this zone", code.get_ref()),
            );
            return None;
        }
        let clash = holders.iter().find_map(|&other| {
            let other = zone.seen.get(other)?;
            match (other.control, zone.control) {
                (Some(a), Some(b)) if a.overlaps(&b) => Some(other.id.clone()),
                _ => None,
            }
        });
        if clash.is_none() {
            holders.push(zone.ix);
        }
        clash.map(|other| (code, other))
    }

    /// One error per zone that a zone's codes clash with, naming every shared code: the
    /// mistake is one window (or one copied list), however many codes it touches.
    fn clashes(&mut self, clashes: &[(&Spanned<String>, String)]) {
        let mut others: Vec<&str> = Vec::new();
        for (_, other) in clashes {
            if !others.contains(&other.as_str()) {
                others.push(other);
            }
        }
        for other in others {
            let codes: Vec<&Spanned<String>> = clashes
                .iter()
                .filter(|(_, o)| o == other)
                .map(|(c, _)| *c)
                .collect();
            let names: Vec<String> = codes.iter().map(|c| format!("`{}`", c.get_ref())).collect();
            let listed = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} and {last} are", rest.join(", "))
                }
                _ => format!("{} is", names.concat()),
            };
            if let Some(first) = codes.first() {
                self.err(
                    first,
                    format!(
                        "{listed} already covered by zone `{other}`, whose control window overlaps this zone's: one place may be in two zones of a notice only when their windows do not overlap"
                    ),
                );
            }
        }
    }

    fn thresholds(&mut self, t: &Spanned<RawThresholds>) -> Option<Thresholds> {
        let t = t.get_ref();
        let hours = |v: &mut Self, h: &Spanned<i64>, name: &str| {
            let n = *h.get_ref();
            if (1..=MAX_HOURS).contains(&n) {
                Some(chrono::Duration::hours(n))
            } else {
                v.err(
                    h,
                    format!("`{name}` must be between 1 and {MAX_HOURS} hours, not {n}"),
                );
                None
            }
        };
        let stall = hours(self, &t.stall_after_hours, "stall_after_hours");
        let window = hours(self, &t.intercept_window_hours, "intercept_window_hours");
        let countdown = hours(self, &t.return_countdown_hours, "return_countdown_hours");
        let surge = *t.surge_open_refund_requests.get_ref();
        if surge < 1 {
            self.err(
                &t.surge_open_refund_requests,
                format!("`surge_open_refund_requests` must be at least 1, not {surge}"),
            );
        }
        Some(Thresholds {
            stall_after: stall?,
            intercept_window: window?,
            return_countdown: countdown?,
            surge_open_refund_requests: u64::try_from(surge).ok().filter(|s| *s >= 1)?,
        })
    }

    fn window(&mut self, w: &Spanned<RawWindow>, tz: Tz, what: &str) -> Option<Window> {
        self.window_ends(&w.get_ref().from, w.get_ref().until.as_ref(), tz, what)
    }

    fn window_ends(
        &mut self,
        from: &Spanned<toml::Value>,
        until: Option<&Spanned<toml::Value>>,
        tz: Tz,
        what: &str,
    ) -> Option<Window> {
        let f = self.instant(from, tz, "from", what);
        let Some(until) = until else {
            self.warn(
                from,
                RulesWarningCode::UntilFurtherNotice,
                format!("the {what} has no `until`: it lasts until further notice (另行通知); set `until` once the end is announced"),
            );
            return Some(Window {
                from: f?,
                until: None,
            });
        };
        let u = self.instant(until, tz, "until", what);
        let (f, u) = (f?, u?);
        if f >= u {
            let how = if f == u { "empty" } else { "inverted" };
            self.err(until, format!("the {what} is {how}: `until` must be later than `from` (windows are half-open: from is in, until is out)"));
            return None;
        }
        Some(Window {
            from: f,
            until: Some(u),
        })
    }

    /// The time at `key` of the `what` (a window's end), read strictly ([`when::read`]).
    fn instant(
        &mut self,
        v: &Spanned<toml::Value>,
        tz: Tz,
        key: &str,
        what: &str,
    ) -> Option<Instant> {
        match when::read(v.get_ref(), tz) {
            Ok(t) => Some(t),
            Err(why) => {
                self.err(v, format!("`{key}` of the {what}: {why}"));
                None
            }
        }
    }

    /// A table keyed by code, each entry a text in every language. A code present but
    /// broken is reported once, by its own error, never also as missing.
    fn code_table(
        &mut self,
        table: &std::collections::BTreeMap<Spanned<String>, RawText>,
        codes: &[&str],
        what: &str,
        notice: Option<&Spanned<String>>,
        args: impl Fn(&str) -> Vec<&'static str>,
    ) -> Option<Vec<Localized>> {
        let mut out: Vec<Option<Localized>> = vec![None; codes.len()];
        let mut given: Vec<bool> = codes
            .iter()
            .map(|c| table.keys().any(|k| k.get_ref() == c))
            .collect();
        for (code, texts) in table {
            match codes.iter().position(|c| c == code.get_ref()) {
                Some(i) => {
                    out[i] = self.localized(
                        texts,
                        &format!("{what}.{}", code.get_ref()),
                        Some(code),
                        &args(code.get_ref()),
                    )
                }
                None => self.unknown_code(code, codes, &mut given, what),
            }
        }
        self.complete(out, &given, codes, what, notice)
    }

    /// Every placeholder of a `[text_view]` entry is the decision's value: a text that
    /// leaves one out would drop it from the view without a word (a deadline without its
    /// time), so it is refused; so is a text with a character the one-line view cannot
    /// show as itself ([`off_the_line`]). Texts with an error of their own (empty, unknown
    /// placeholder, language not in `languages`) are left to it.
    fn text_view_shows_every_value(
        &mut self,
        table: &std::collections::BTreeMap<Spanned<String>, RawText>,
    ) {
        for (code, texts) in table {
            let Some(word) = TextWord::parse(code.get_ref()) else {
                continue;
            };
            for (lang, text) in texts {
                if !self.languages.contains(lang.get_ref()) || lint::blank(text.get_ref()) {
                    continue;
                }
                if let Some(c) = text.get_ref().chars().find(|c| off_the_line(*c)) {
                    self.err(
                        text,
                        format!(
                            "text_view.{} ({}) holds U+{:04X}, which the text view cannot show on its line (it is one line per item, and would write it as an escape): take it out",
                            code.get_ref(),
                            lang.get_ref(),
                            u32::from(c)
                        ),
                    );
                    continue;
                }
                if let Some(left_out) = left_out(text.get_ref(), word.args()) {
                    let them = if left_out.contains(',') { "them" } else { "it" };
                    self.err(
                        text,
                        format!(
                            "text_view.{} ({}) leaves out {left_out}: the text view would not show {them}",
                            code.get_ref(),
                            lang.get_ref(),
                        ),
                    );
                }
            }
        }
    }

    /// Every placeholder of a `[warnings]` entry is a value the warning is about (which
    /// event, which time, which deadline): a text that leaves one out would say less than
    /// the warning means without a word, so it is refused, as in `[text_view]`. Texts
    /// with an error of their own are left to it.
    fn warnings_show_every_value(
        &mut self,
        table: &std::collections::BTreeMap<Spanned<String>, RawText>,
    ) {
        for (code, texts) in table {
            let Some(w) = WarningCode::parse(code.get_ref()) else {
                continue;
            };
            for (lang, text) in texts {
                if !self.languages.contains(lang.get_ref()) || lint::blank(text.get_ref()) {
                    continue;
                }
                if let Some(left_out) = left_out(text.get_ref(), template::warning_args(w)) {
                    let them = if left_out.contains(',') { "them" } else { "it" };
                    self.err(
                        text,
                        format!(
                            "warnings.{} ({}) leaves out {left_out}: the warning would not say {them}",
                            code.get_ref(),
                            lang.get_ref(),
                        ),
                    );
                }
            }
        }
    }

    fn explanations(
        &mut self,
        table: &std::collections::BTreeMap<Spanned<String>, RawExplanation>,
        notice: &Spanned<String>,
    ) -> Option<Vec<(String, Localized)>> {
        let codes: Vec<&str> = Finding::ALL.iter().map(|f| f.as_str()).collect();
        let mut out: Vec<Option<(String, Localized)>> = vec![None; codes.len()];
        let mut given: Vec<bool> = codes
            .iter()
            .map(|c| table.keys().any(|k| k.get_ref() == c))
            .collect();
        for (code, e) in table {
            let Some(finding) = Finding::parse(code.get_ref()) else {
                self.unknown_code(code, &codes, &mut given, "explanations");
                continue;
            };
            let section = e.section.get_ref();
            let well_formed = !section.is_empty()
                && section
                    .split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if !well_formed {
                self.err(
                    &e.section,
                    format!("section `{section}` must be the notice's numbering, like 3.1.3"),
                );
            }
            let args: Vec<&'static str> = template::finding_args(&finding)
                .iter()
                .chain(THRESHOLD_ARGS)
                .copied()
                .collect();
            let text = self.localized(
                &e.text,
                &format!("explanations.{}", code.get_ref()),
                Some(code),
                &args,
            );
            if let Some(text) = text {
                out[finding.index()] = Some((section.clone(), text));
            }
        }
        self.complete(out, &given, &codes, "explanations", Some(notice))
    }

    /// A code no table entry may have. When it is a slip of a code the table lacks
    /// (`aprove_refund_now`), one error names the code meant, which is then not also
    /// reported missing; otherwise the error lists the known codes.
    fn unknown_code(
        &mut self,
        code: &Spanned<String>,
        codes: &[&str],
        given: &mut [bool],
        what: &str,
    ) {
        let missing: Vec<&str> = codes
            .iter()
            .zip(given.iter())
            .filter(|(_, given)| !**given)
            .map(|(c, _)| *c)
            .collect();
        let meant = crate::request::nearest(code.get_ref(), &missing);
        let message = match meant.and_then(|m| codes.iter().position(|c| *c == m)) {
            Some(i) => {
                given[i] = true;
                format!(
                    "unknown code `{}` in `{what}`: did you mean `{}`?",
                    code.get_ref(),
                    codes[i]
                )
            }
            None => format!(
                "unknown code `{}` in `{what}`: known codes are {}",
                code.get_ref(),
                codes.join(", ")
            ),
        };
        self.err(code, message);
    }

    /// The table's entries in code order, or `None` (with an error naming the codes
    /// nobody wrote) when one is missing or broken.
    fn complete<T>(
        &mut self,
        out: Vec<Option<T>>,
        given: &[bool],
        codes: &[&str],
        what: &str,
        notice: Option<&Spanned<String>>,
    ) -> Option<Vec<T>> {
        let missing: Vec<&str> = codes
            .iter()
            .zip(given)
            .filter(|(_, given)| !**given)
            .map(|(c, _)| *c)
            .collect();
        if !missing.is_empty() {
            let msg = format!(
                "`{what}` lacks {}",
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            match notice {
                Some(n) => self.err(n, format!("notice `{}`: {msg}", n.get_ref())),
                None => self.errors.push((
                    None,
                    format!("{msg} (`aftersales rules init` prints every one)"),
                )),
            }
        }
        out.into_iter().collect()
    }

    /// A text in every language, each a valid template using only `args`.
    fn localized(
        &mut self,
        texts: &RawText,
        what: &str,
        at: Option<&Spanned<String>>,
        args: &[&'static str],
    ) -> Option<Localized> {
        let mut out: Vec<Option<Template>> = vec![None; self.languages.len()];
        let absent: Vec<String> = self
            .languages
            .iter()
            .filter(|l| !texts.keys().any(|k| k.get_ref() == *l))
            .cloned()
            .collect();
        let mut misspelt = false;
        for (lang, text) in texts {
            let Some(i) = self.languages.iter().position(|l| l == lang.get_ref()) else {
                // The language it stands for is absent because of it: one error says both.
                let meant = absent
                    .iter()
                    .find(|l| l.eq_ignore_ascii_case(lang.get_ref()));
                let fix = match meant {
                    Some(l) => format!(": write `{l}`"),
                    None if !absent.is_empty() => {
                        format!(", and the text has no {} translation", absent.join(", "))
                    }
                    None => String::new(),
                };
                self.err(
                    lang,
                    format!(
                        "`{}` in {what} is not one of `languages` ({}){fix}",
                        lang.get_ref(),
                        self.languages.join(", ")
                    ),
                );
                misspelt = true;
                continue;
            };
            if lint::blank(text.get_ref()) {
                self.err(
                    text,
                    format!("the {} text of {what} is empty", lang.get_ref()),
                );
                continue;
            }
            // `[text_view]`'s own check says it in the view's words.
            let shown_elsewhere = what.starts_with("text_view.");
            if let Some(c) = text.get_ref().chars().find(|c| off_the_line(*c))
                && !shown_elsewhere
            {
                let lang = lang.get_ref();
                self.err(
                    text,
                    format!("{what} ({lang}) holds {}: {UNSHOWABLE}", code_point(c)),
                );
                continue;
            }
            // A bidirectional control, also invisible, is named as such above.
            if !text.get_ref().chars().any(off_the_line)
                && let Some(c) = lint::invisible_in_text(text.get_ref())
            {
                let lang = lang.get_ref();
                self.err(
                    text,
                    format!("{what} ({lang}) holds {}: {INVISIBLE}", code_point(c)),
                );
                continue;
            }
            match Template::parse(text.get_ref(), args) {
                Ok(t) => out[i] = Some(t),
                Err(e) => self.err(text, format!("{what} ({}): {e}", lang.get_ref())),
            }
        }
        // A text present but broken, or under a misspelt language, has its own error
        // above: only absent ones here.
        if misspelt {
            return None;
        }
        if !absent.is_empty() {
            let msg = format!("{what} has no {} translation", absent.join(", "));
            match at {
                Some(a) => self.err(a, msg),
                None => match texts.keys().next() {
                    Some(k) => self.err(k, msg),
                    None => self.errors.push((None, msg)),
                },
            }
            return None;
        }
        if out.iter().any(Option::is_none) {
            return None;
        }
        Some(Localized(out.into_iter().flatten().collect()))
    }
}

/// The placeholders of `args` that `text` does not use, listed (`` `{at}`, `{as_of}` ``);
/// `None` when it uses every one, or is no valid template (its own error says so).
fn left_out(text: &str, args: &[&'static str]) -> Option<String> {
    let template = Template::parse(text, args).ok()?;
    let left_out: Vec<String> = args
        .iter()
        .filter(|a| !template.placeholders().any(|p| p == **a))
        .map(|a| format!("`{{{a}}}`"))
        .collect();
    (!left_out.is_empty()).then(|| left_out.join(", "))
}

/// Why a rules file's text may not hold what [`off_the_line`] names.
const UNSHOWABLE: &str = "a line break, a control character or a bidirectional control, which the answers would carry as is (a line break in a one-line text, a command to a terminal, words shown in another order): take it out";

/// Why a rules file's version, ids, sources, test names and texts may not hold what
/// [`lint::invisible`] names (texts: except as part of an emoji).
const INVISIBLE: &str = "an invisible character (a zero-width or format character, a soft hyphen, a filler, a byte-order mark), so that two different values would look the same (a version that looks like one already serving, a text that looks empty): take it out";

/// `U+202E`, as errors name a character.
fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// The zone claiming a code: its position, its control window, and the zones before it.
struct Claim<'a> {
    ix: usize,
    control: Option<Window>,
    seen: &'a [ZoneSeen],
}

/// A TOML date-time, or a string (`"2023-10-28 24:00"` included), read in `tz`.
fn instant(v: &toml::Value, tz: Tz) -> Option<Instant> {
    match v {
        toml::Value::Datetime(d) => datetime(d, tz),
        toml::Value::String(s) => time::parse_with_end_of_day(s, tz).ok(),
        _ => None,
    }
}

fn datetime(d: &toml::value::Datetime, tz: Tz) -> Option<Instant> {
    let naive = when::naive(d)?;
    match d.offset {
        None => time::local_to_instant(naive, tz).ok(),
        Some(toml::value::Offset::Z) => Some(naive.and_utc()),
        Some(toml::value::Offset::Custom { minutes }) => {
            let offset = chrono::FixedOffset::east_opt(i32::from(minutes) * 60)?;
            chrono::TimeZone::from_local_datetime(&offset, &naive)
                .single()
                .map(|t| t.with_timezone(&chrono::Utc))
        }
    }
}

/// `sha256:` and the hex digest of a rules file's text, as [`Rules::checksum`] holds it.
pub fn checksum(source: &str) -> String {
    format!("sha256:{:x}", Sha256::digest(source.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Phrase::reads`] looks in a clause only for the phrases the whole line holds: that
    /// is sound only while every clause, folded, is a part of the line folded, and every
    /// character of it marked in [`Line::chars`]. Lines of the characters folding treats
    /// differently (spaces, separators, clause ends, ASCII words, traditional forms).
    #[test]
    fn every_clause_folded_is_part_of_the_line_folded() {
        let alphabet: Vec<char> = "aB1 _-/·、,，。.:：;?？!\n\t签收簽門卫【】()（）😀x"
            .chars()
            .collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(seed % 12) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let line = Line::new(&text);
            for clause in &line.clauses {
                assert!(
                    line.holds(clause),
                    "{text:?}: {clause:?} not in {:?}",
                    line.whole
                );
            }
        }
    }

    #[test]
    fn kangxi_radicals_and_traditional_characters_are_read_as_their_ideographs() {
        assert_eq!(compatible('\u{2F46}'), Some('无'));
        assert_eq!(compatible('\u{2FD5}'), Some('龠'));
        assert_eq!(compatible('\u{2FA8}'), Some('門'));
        assert_eq!(compatible('沒'), Some('没'));
        assert_eq!(compatible('簽'), Some('签'));
        assert_eq!(compatible('签'), Some('签'));
        assert_eq!(compatible('a'), Some('a'));
        assert_eq!(fold("⽆法簽收"), "无法签收");
    }

    #[test]
    fn a_full_stop_ends_a_clause_except_between_digits_and_spaces_do_not() {
        assert_eq!(
            split_clauses("等待收件人签收.已签收"),
            ["等待收件人签收", "已签收"]
        );
        assert_eq!(split_clauses("重3.5kg.已签收"), ["重3.5kg", "已签收"]);
        assert_eq!(split_clauses("10.12 已签收."), ["10.12 已签收", ""]);
        assert_eq!(
            split_clauses("快件已在 【上城】 签收"),
            ["快件已在 【上城】 签收"]
        );
    }

    #[test]
    fn a_whole_clause_is_found_without_its_leading_place_not_between_spaces() {
        let line = Line::new("【杭州市】签收人：本人");
        assert!(
            line.parts.iter().any(|p| p.text == "签收人"),
            "{:?}",
            line.parts
        );
        let line = Line::new("签收人 : 张三");
        assert!(
            line.parts.iter().any(|p| p.text == "签收人"),
            "{:?}",
            line.parts
        );
        let line = Line::new("派送不成功 签收人 不在家");
        assert!(
            !line.parts.iter().any(|p| p.text == "签收人"),
            "{:?}",
            line.parts
        );
        let line = Line::new("派送失败，联系不上签收人");
        assert!(
            !line.parts.iter().any(|p| p.text == "签收人"),
            "{:?}",
            line.parts
        );
        assert_eq!(without_place("【杭州市】[上城]签收人"), "签收人");
        assert_eq!(without_place("【未闭合"), "【未闭合");
    }

    #[test]
    fn a_negation_reaches_through_fillers_only() {
        let neg = vec!["未".to_owned(), "无法".to_owned()];
        let fill = vec!["被".to_owned(), "正常".to_owned(), "按时".to_owned()];
        assert!(ends_negated("快件未被", &neg, &fill, 0));
        assert!(ends_negated("无法正常", &neg, &fill, 0));
        assert!(ends_negated("未被按时", &neg, &fill, 0));
        assert!(!ends_negated("未损", &neg, &fill, 0));
        assert!(!ends_negated("已被", &neg, &fill, 0));
    }

    #[test]
    fn a_notice_s_instants_are_found_among_few_and_among_many() {
        let rules = Rules::embedded().unwrap_or_else(|e| panic!("{e}"));
        let start = rules.notices[0].impact_period.from;
        for count in [1, FEW_WRITTEN, FEW_WRITTEN + 1, 3 * FEW_WRITTEN] {
            let mut notice = rules.notices[0].clone();
            let instants: Vec<Instant> = (0..count as i64)
                .map(|i| start + chrono::Duration::milliseconds(i * 3_600_001))
                .collect();
            notice.written = instants
                .iter()
                .map(|&t| (t, Rfc3339::new(t, notice.time_zone)))
                .collect();
            for &t in &instants {
                let found = notice.written(t).map(|w| w.as_str().to_owned());
                assert_eq!(
                    found,
                    Some(crate::time::format(t, notice.time_zone)),
                    "{count}"
                );
                let between = t + chrono::Duration::milliseconds(1);
                assert!(notice.written(between).is_none(), "{count}");
            }
            let before = start - chrono::Duration::seconds(1);
            assert!(notice.written(before).is_none(), "{count}");
        }
    }
}
