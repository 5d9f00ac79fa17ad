//! China's administrative divisions (2023, plus abolished codes still seen on parcels),
//! and the reading of a destination into one of them.
//!
//! A free-text address is read in administrative order — province, then city, then
//! district — from the start of the string, never by finding a place name anywhere in
//! it: `宁波市杭州湾新区` is in Ningbo, and a company named after a city is not that city.

// foldhash: a few instructions per key where the standard SipHash spends a hundred; reading
// an address looks up a dozen prefixes. The keys are the table's own, never a caller's.
use foldhash::HashMap;
use std::borrow::Cow;
use std::sync::Arc;

const PROVINCES: &str = include_str!("../data/admin-divisions/provinces.csv");
const CITIES: &str = include_str!("../data/admin-divisions/cities.csv");
const AREAS: &str = include_str!("../data/admin-divisions/areas.csv");
const HISTORIC: &str = include_str!("../data/admin-divisions/historic.csv");
const BEYOND_MAINLAND: &str = include_str!("../data/admin-divisions/beyond-mainland.csv");
const TRADITIONAL: &str = include_str!("../data/admin-divisions/traditional.csv");

/// City rows that are groupings, not places (a municipality's districts, a province's
/// directly administered counties): their names are never matched as places, but an
/// address may still spell them out (`上海市市辖区浦东新区`), so they are skipped there.
const PLACEHOLDER_CITIES: [&str; 3] = ["市辖区", "县", "省直辖县级行政区划"];

/// Suffixes dropped to form a short name (`浙江省` → `浙江`), longest first.
const SUFFIXES: [&str; 14] = [
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "省",
    "市",
    "区",
    "县",
    "盟",
];

/// Ethnic names that open the tail of an autonomous unit's name (`黔东南苗族侗族自治州`).
const ETHNIC: [&str; 40] = [
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "普米族",
    "塔吉克族",
    "怒族",
    "鄂温克族",
    "裕固族",
];

/// After a short district name, these begin a street, a building or a new area, not the
/// rest of the address (`鹿城路`, `西湖大道`, `杭州湾`).
const NOT_AFTER_SHORT_NAME: [char; 16] = [
    '路', '街', '道', '巷', '湾', '桥', '大', '广', '公', '新', '村', '镇', '乡', '港', '站', '弄',
];

/// Administrative level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Province,
    City,
    District,
}

/// A resolved area, by its 6-digit code (`330000`, `330100`, `330102`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    Province(u32),
    City(u32),
    District(u32),
}

impl Area {
    /// The 6-digit code, zero-padded for provinces and cities.
    pub fn code(self) -> u32 {
        match self {
            Area::Province(c) | Area::City(c) | Area::District(c) => c,
        }
    }

    /// How specific the area is.
    pub fn level(self) -> Level {
        match self {
            Area::Province(_) => Level::Province,
            Area::City(_) => Level::City,
            Area::District(_) => Level::District,
        }
    }

    fn rank(self) -> u8 {
        match self {
            Area::Province(_) => 0,
            Area::City(_) => 1,
            Area::District(_) => 2,
        }
    }

    /// Whether `other` lies inside (or is) this area.
    pub fn contains(self, other: Area) -> bool {
        let (a, b) = (self.code(), other.code());
        match self {
            Area::Province(_) => a / 10_000 == b / 10_000,
            Area::City(_) => other.rank() >= 1 && a / 100 == b / 100,
            Area::District(_) => other.rank() == 2 && a == b,
        }
    }
}

/// What a caller wrote for a destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationInput {
    pub adcode: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub address: Option<String>,
}

impl DestinationInput {
    /// The input, borrowed, as [`Gazetteer::resolve_ref`] reads it.
    pub fn borrowed(&self) -> DestinationRef<'_> {
        DestinationRef {
            adcode: self.adcode.as_deref(),
            province: self.province.as_deref(),
            city: self.city.as_deref(),
            district: self.district.as_deref(),
            address: self.address.as_deref(),
        }
    }
}

/// What a caller wrote for a destination, borrowed from the request (a parsed request
/// keeps only the place, so its words need no copy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestinationRef<'a> {
    pub adcode: Option<&'a str>,
    pub province: Option<&'a str>,
    pub city: Option<&'a str>,
    pub district: Option<&'a str>,
    pub address: Option<&'a str>,
}

/// Something worth telling the caller about their destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceIssue {
    /// The adcode and the names point to different places; the adcode won.
    Mismatch {
        adcode: String,
        adcode_place: String,
        named_place: String,
    },
    /// Nothing could be read from this text.
    Unresolved { text: String },
    /// The text names several places.
    Ambiguous {
        text: String,
        candidates: Vec<String>,
    },
    /// The adcode is not in the table; its prefix may still place it.
    UnknownAdcode { adcode: String },
    /// The names contradict each other (`江西省杭州市`, `杭州市鹿城区`): each reading, in
    /// full; the destination is placed only as far as they all agree.
    Conflict { text: String, readings: Vec<String> },
}

/// A destination read into an area (if any), with what the caller should know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    pub area: Option<Area>,
    pub issues: Vec<PlaceIssue>,
}

#[derive(Debug, Clone)]
struct Unit {
    name: String,
    /// The code of the province or the (non-placeholder) city above; 0 for provinces.
    parent: u32,
    /// With the names above it (`浙江省杭州市上城区`): what [`Gazetteer::label`]
    /// gives, joined once when the table is built (and shared, not copied, by each case
    /// placed there).
    full_name: Arc<str>,
}

#[derive(Debug, Clone, Copy)]
struct NameRef {
    area: Area,
    short: bool,
}

/// The division table, with name indexes for reading addresses.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    units: HashMap<u32, Unit>,
    /// Every name, with its places.
    names: HashMap<String, Vec<NameRef>>,
    /// The same names (of two characters or more) by their first two characters,
    /// longest first, each with its places again: reading a text looks up its first two
    /// characters once, then compares the few names that begin with them.
    by_start: HashMap<[char; 2], Vec<(String, Vec<NameRef>)>>,
    /// Traditional → simplified, for the characters of place names and trace words.
    simplified: Simplified,
    /// By province code: names written at the city level that stand for no city of
    /// their own — a municipality's own name again (`北京市北京市朝阳区`) and the table's
    /// groupings (`市辖区`, `县`, `省直辖县级行政区划`). Longest first.
    city_aliases: HashMap<u32, Vec<String>>,
    /// Provinces with no city of their own: the four municipalities, whose city level is
    /// a grouping, and Taiwan, Hong Kong and Macao, which the table has no levels below.
    without_cities: Vec<u32>,
    /// By province code: well-known subdivisions of Taiwan, Hong Kong and Macao, which
    /// have no codes of their own. They confirm the province (`香港九龙…`) and are
    /// accepted in the city and district fields, but never resolve to a place.
    parts: HashMap<u32, Vec<String>>,
    /// Cities with no district of their own (东莞市, 中山市, 儋州市, and 嘉峪关市, whose one
    /// district bears its name): their towns and streets are written as "XX区", which
    /// after them is street text, not another city's district.
    without_districts: foldhash::HashSet<u32>,
}

/// Traditional characters and their simplified forms (a few hundred), with a bit per
/// character of the Basic Multilingual Plane saying whether it is one of them: reading
/// an address asks for every character, and almost none is.
#[derive(Debug, Clone)]
struct Simplified {
    map: HashMap<char, char>,
    /// Bit `c % 64` of word `c / 64`: `c` is a key of `map` (for `c` below U+10000).
    keys: Vec<u64>,
    /// The same bits for the characters [`Gazetteer::simplify`] drops or changes: the
    /// keys of `map`, white space and separators. Most texts have none, and are read
    /// as they are.
    touched: Vec<u64>,
}

/// Characters `simplify` drops besides white space.
fn is_separator(c: char) -> bool {
    matches!(c, ',' | '，' | '、' | '/' | '-' | '·')
}

impl Simplified {
    fn new(pairs: impl Iterator<Item = (char, char)>) -> Simplified {
        let map: HashMap<char, char> = pairs.collect();
        let mut keys = vec![0u64; 0x1_0000 / 64];
        for &c in map.keys() {
            set_bit(&mut keys, c);
        }
        let mut touched = keys.clone();
        for c in (0..0x1_0000).filter_map(char::from_u32) {
            if c.is_whitespace() || is_separator(c) {
                set_bit(&mut touched, c);
            }
        }
        Simplified { map, keys, touched }
    }

    /// The simplified form of `c`, or `c`.
    fn get(&self, c: char) -> char {
        let i = c as usize;
        match self.keys.get(i / 64) {
            Some(word) if word & (1 << (i % 64)) == 0 => c,
            _ => self.map.get(&c).copied().unwrap_or(c),
        }
    }

    /// Whether simplifying drops or changes `c`.
    fn touches(&self, c: char) -> bool {
        let i = c as usize;
        match self.touched.get(i / 64) {
            Some(word) => word & (1 << (i % 64)) != 0,
            // Beyond the plane: no white space or separator there, maybe a key.
            None => self.map.contains_key(&c),
        }
    }
}

/// Sets bit `c % 64` of word `c / 64`, for `c` below U+10000.
fn set_bit(bits: &mut [u64], c: char) {
    if let Some(word) = bits.get_mut(c as usize / 64) {
        *word |= 1 << (c as usize % 64);
    }
}

/// What reading a free text found: the area, or the places its first name could be,
/// and other readings of what follows the last name read that place it elsewhere.
#[derive(Default)]
struct TextReading {
    area: Option<Area>,
    ambiguous: Vec<Area>,
    others: Vec<Area>,
    /// The reading rests on one name only, and that a short name (`湖滨` for 湖滨区) or a
    /// generic one (`东区`): not `温州鹿城区`, whose short name has its district after it.
    weak: bool,
    /// The province written at the start (`浙江省杭州市鼓楼区`), kept when what contradicts
    /// the reading is an ambiguous name (鼓楼区: Nanjing's, Fuzhou's…) that agrees with no
    /// reading of it: one name of unknown place does not undo two that agree.
    kept: Option<Area>,
}

/// District names that say "the urban area" as often as they name a district (山西
/// 阳泉市城区): after a city, they are not read as another city's district.
/// The same goes for a compass point's district (攀枝花 东区) and for new and development
/// areas, which many cities have (`东区3幢`, `新区`, `开发区`).
const GENERIC_DISTRICTS: [&str; 7] = ["城区", "郊区", "矿区", "东区", "西区", "新区", "开发区"];

fn is_generic(name: &str) -> bool {
    GENERIC_DISTRICTS.contains(&name)
}

/// A new or development area's name (`滨海新区`, `经济技术开发区`, `高新区`): many cities
/// have one, so after a city it is street text, never a contradiction.
fn is_development_area(name: &str) -> bool {
    ["新区", "开发区", "高新区"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Brackets dropped from a free text before reading it (`(浙江省)杭州市`, `[浙江省…]`).
fn is_bracket(c: char) -> bool {
    matches!(
        c,
        '(' | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '（'
            | '）'
            | '【'
            | '】'
            | '「'
            | '」'
            | '『'
            | '』'
            | '〔'
            | '〕'
            | '［'
            | '］'
            | '《'
            | '》'
            | '〈'
            | '〉'
    )
}

/// The parts of a free text, read each on its own and then compared: what brackets set
/// apart (`(杭州市)浙江省温州市鹿城区`), and a place before a phone or a label
/// (`江西省 13812345678 杭州市西湖区`), without the labels, phones and persons' names
/// before them.
fn text_parts<'t>(text: &'t str, is_place: &dyn Fn(&str) -> bool) -> Vec<&'t str> {
    let mut parts = Vec::new();
    for segment in without_sender_parts(text)
        .into_iter()
        .flat_map(|piece| piece.split(is_bracket))
        .filter(|s| !s.is_empty())
    {
        let (head, body) = skip_label_prefix(segment, is_place);
        parts.extend(head.map(without_country));
        for piece in split_at_phones(body) {
            let piece = without_country(skip_label_prefix_only(piece));
            if !piece.is_empty() {
                parts.push(piece);
            }
        }
    }
    parts
}

/// `text` cut at each phone number inside it (seven digits or more, not a house number,
/// with text after it), without the numbers: `浙江省杭州市上城区解放路1号 李四
/// 13900139000 浙江省温州市鹿城区…` is two parts, which must agree. Linear: each run of
/// digits is looked at once.
fn split_at_phones(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut from = 0;
    let mut i = 0;
    let mut after_digit = false;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        let is_digit = c.is_ascii_digit() || ('０'..='９').contains(&c);
        if is_digit && !after_digit && i > from {
            let (len, _) = leading_digits(rest);
            if let Some(len) = leading_number(rest, 7).filter(|&l| l < rest.len()) {
                pieces.push(&text[from..i]);
                from = i + len;
                i = from;
                after_digit = false;
                continue;
            }
            i += len.max(c.len_utf8());
            after_digit = true;
            continue;
        }
        after_digit = is_digit;
        i += c.len_utf8();
    }
    pieces.push(&text[from..]);
    pieces
}

/// Labels that name an address or a person that is NOT the destination: the sender's,
/// the shop's, the warehouse's, the return address. Never skipped as a harmless label:
/// what follows one, up to the next destination label ([`DESTINATION_LABELS`]), is not
/// read at all.
const SENDER_LABELS: [&str; 16] = [
    "寄件人地址",
    "发件人地址",
    "寄件地址",
    "发件地址",
    "发货地址",
    "退货地址",
    "退件地址",
    "商家地址",
    "卖家地址",
    "仓库地址",
    "寄件人",
    "发件人",
    "发货人",
    "退货人",
    "退件人",
    "寄件方",
];

/// Labels that start the destination's part again after a sender's part.
const DESTINATION_LABELS: [&str; 10] = [
    "收货地址",
    "收件地址",
    "收货人",
    "收件人",
    "地址",
    "配送至",
    "送货至",
    "送至",
    "寄至",
    "寄往",
];

/// `text` without the parts a sender's label starts ([`SENDER_LABELS`], up to the next
/// destination label): `寄件地址：杭州市… 收件地址：温州市…` keeps `收件地址：温州市…`,
/// `退货地址：杭州市…` keeps nothing (the destination is then unresolved, and warned
/// about). Linear: one pass, a few labels looked at per character.
fn without_sender_parts(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut kept_from = Some(0);
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(label) = SENDER_LABELS.iter().find(|l| rest.starts_with(*l)) {
            if let Some(from) = kept_from.take() {
                pieces.push(&text[from..i]);
            }
            i += label.len();
            continue;
        }
        if kept_from.is_none()
            && let Some(label) = DESTINATION_LABELS.iter().find(|l| rest.starts_with(*l))
        {
            kept_from = Some(i);
            i += label.len();
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    if let Some(from) = kept_from {
        pieces.push(&text[from..]);
    }
    pieces
}

/// Labels a shipping label or a platform's copied address puts before its parts, longest
/// first among those sharing a start.
const LABELS: [&str; 26] = [
    "收货人姓名",
    "收货人",
    "收件人",
    "联系人",
    "姓名",
    "联系电话",
    "电话号码",
    "手机号码",
    "手机号",
    "手机",
    "电话",
    "收货地址",
    "收件地址",
    "详细地址",
    "所在地区",
    "地址",
    "配送至",
    "送货至",
    "送至",
    "寄至",
    "寄往",
    "改送",
    "改寄",
    "转送",
    "转寄",
    "邮编",
];

/// Labels that may follow a person's name (`收货人:张三 电话:…`).
const AFTER_NAME: [&str; 8] = [
    "联系电话",
    "电话号码",
    "手机号码",
    "手机号",
    "手机",
    "电话",
    "地址",
    "收货地址",
];

/// The length of the run of digits (ASCII or full-width, after an optional `+`) that
/// `text` starts with, in bytes, and how many digits it has.
fn leading_digits(text: &str) -> (usize, usize) {
    let mut bytes = 0;
    let mut digits = 0;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() || ('０'..='９').contains(&c) {
            digits += 1;
        } else if !(i == 0 && (c == '+' || c == '＋')) {
            break;
        }
        bytes = i + c.len_utf8();
    }
    (bytes, digits)
}

/// What follows a run of digits when it is a house number, not a phone or a postcode
/// (`1234567号楼`, `12345678室`).
const HOUSE_NUMBER: [&str; 6] = ["号", "室", "楼", "栋", "幢", "单元"];

/// The length in bytes of the phone number or postcode (`min` digits or more, not a
/// house number) that `text` starts with, if it does.
fn leading_number(text: &str, min: usize) -> Option<usize> {
    let (len, digits) = leading_digits(text);
    (digits >= min && !HOUSE_NUMBER.iter().any(|h| text[len..].starts_with(h))).then_some(len)
}

/// Characters that only a place's name, never a person's, carries (`杭州市`, `德清县`,
/// `江西省`, `杭州市西湖`): a name with one of them before a phone or a label is a place,
/// kept and read. A bare place name (`温州`) may be a person's name, and is skipped.
const PLACE_MARKS: [char; 6] = ['省', '市', '区', '县', '旗', '盟'];

/// The longest place (in characters) read as a part before a phone or a label.
const PLACE_PART_CHARS: usize = 32;

/// `text` after what a shipping label puts before the address: labels (`收货人:`,
/// `地址：`, `送至`), a phone number or a postcode (six digits or more), and a person's
/// name (five characters at most) followed by a phone number or a label, with more
/// text after it: `张三 13812345678 浙江省…`, `收货人:张三 电话:… 地址:浙江省…`. Only a
/// prefix is dropped: the address is still read from its first name, in order. Linear:
/// each turn drops something, and looks at a few characters only.
///
/// A "name" that is a place's (it carries a mark of one, [`PLACE_MARKS`]) is not dropped:
/// it is returned as the first part, and the phone or label after it is a separator
/// (`江西省 13812345678 杭州市西湖区`): both parts are read.
fn skip_label_prefix<'t>(
    text: &'t str,
    is_place: &dyn Fn(&str) -> bool,
) -> (Option<&'t str>, &'t str) {
    let mut rest = text;
    loop {
        rest = skip_label_prefix_only(rest);
        // A person's name has five characters at most; a place's (with a mark of one) may
        // be longer (`浙江省杭州市 13812345678 …`), up to a bound that keeps this linear.
        let name_end = rest
            .char_indices()
            .skip(1)
            .take(PLACE_PART_CHARS)
            .enumerate()
            .find(|&(n, (i, _))| {
                let after = &rest[i..];
                (n < 5 || rest[..i].contains(PLACE_MARKS))
                    && (leading_number(after, 7).is_some_and(|len| len < after.len())
                        || AFTER_NAME.iter().any(|l| after.starts_with(l)))
            })
            .map(|(_, (i, _))| i);
        match name_end {
            Some(i)
                if !rest[..i].contains(|c: char| c.is_ascii_digit() || c == ':' || c == '：') =>
            {
                if rest[..i].contains(PLACE_MARKS) || is_place(&rest[..i]) {
                    return (Some(&rest[..i]), skip_label_prefix_only(&rest[i..]));
                }
                rest = &rest[i..];
            }
            _ => return (None, rest),
        }
    }
}

/// The part after a place and its separator (a phone, a label), without the labels and
/// numbers it starts with: read from its own first name.
fn skip_label_prefix_only(text: &str) -> &str {
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([':', '：', ';', '；', '.', '。', '|', '｜']);
        if let Some(label) = LABELS.iter().find(|l| rest.starts_with(*l)) {
            rest = &rest[label.len()..];
            continue;
        }
        if let Some(len) = leading_number(rest, 6) {
            rest = &rest[len..];
            continue;
        }
        return rest;
    }
}

/// `text` without the country's name before it (`中国浙江省…`).
fn without_country(mut text: &str) -> &str {
    for prefix in ["中华人民共和国", "中国"] {
        text = text.strip_prefix(prefix).unwrap_or(text);
    }
    text
}

/// What reading one level of a text found.
enum Take {
    /// The place, the length of its name, and whether that name is a short one.
    Found(Area, usize, bool),
    Ambiguous(Vec<Area>),
    Nothing,
}

impl Gazetteer {
    /// Builds the table from the CSVs compiled into the binary.
    pub fn embedded() -> Gazetteer {
        let simplified = Simplified::new(rows(TRADITIONAL).filter_map(|r| {
            let mut t = r.first()?.chars();
            let mut s = r.get(1)?.chars();
            Some((t.next()?, s.next()?))
        }));
        let mut g = Gazetteer {
            units: HashMap::default(),
            names: HashMap::default(),
            by_start: HashMap::default(),
            simplified,
            city_aliases: HashMap::default(),
            without_cities: Vec::new(),
            parts: HashMap::default(),
            without_districts: foldhash::HashSet::default(),
        };
        let mut placeholder_cities = Vec::new();
        let mut provinces = Vec::new();
        for row in rows(PROVINCES) {
            if let [code, name, ..] = row.as_slice()
                && let Ok(code) = code.parse::<u32>()
            {
                g.add(Area::Province(code * 10_000), name, 0);
                provinces.push((code * 10_000, name.clone()));
            }
        }
        for row in rows(BEYOND_MAINLAND) {
            if let [code, name, parts, ..] = row.as_slice()
                && let Ok(code) = code.parse::<u32>()
            {
                let code = code * 10_000;
                g.add(Area::Province(code), name, 0);
                provinces.push((code, name.clone()));
                let names = parts
                    .split(';')
                    .filter(|p| !p.is_empty())
                    .flat_map(|p| [Some(p.to_owned()), short_name(p)])
                    .flatten()
                    .collect();
                g.parts.insert(code, names);
            }
        }
        let mut with_cities = foldhash::HashSet::default();
        for row in rows(CITIES) {
            if let [code, name, province, ..] = row.as_slice()
                && let (Ok(code), Ok(province)) = (code.parse::<u32>(), province.parse::<u32>())
            {
                if PLACEHOLDER_CITIES.contains(&name.as_str()) {
                    placeholder_cities.push(code);
                    g.city_aliases
                        .entry(province * 10_000)
                        .or_default()
                        .push(name.clone());
                } else {
                    g.add(Area::City(code * 100), name, province * 10_000);
                    with_cities.insert(province * 10_000);
                }
            }
        }
        for (code, name) in provinces {
            if !with_cities.contains(&code) {
                g.without_cities.push(code);
                let aliases = g.city_aliases.entry(code).or_default();
                aliases.extend(short_name(&name));
                aliases.push(name);
            }
        }
        for aliases in g.city_aliases.values_mut() {
            aliases.sort_by_key(|a| std::cmp::Reverse(a.len()));
        }
        for row in rows(AREAS).chain(rows(HISTORIC)) {
            if let [code, name, city, province, ..] = row.as_slice()
                && let (Ok(code), Ok(city), Ok(province)) = (
                    code.parse::<u32>(),
                    city.parse::<u32>(),
                    province.parse::<u32>(),
                )
            {
                if code == city * 100 {
                    // A city without districts (东莞市): the city row already stands for it.
                    continue;
                }
                let parent = if placeholder_cities.contains(&city) {
                    province * 10_000
                } else {
                    city * 100
                };
                g.add(Area::District(code), name, parent);
            }
        }
        let mut with_districts = foldhash::HashSet::default();
        for (code, unit) in &g.units {
            let is_district = code % 100 != 0;
            if is_district
                && g.units
                    .get(&unit.parent)
                    .is_none_or(|p| p.name != unit.name)
            {
                with_districts.insert(unit.parent);
            }
        }
        g.without_districts = g
            .units
            .keys()
            .filter(|&&c| c % 100 == 0 && c % 10_000 != 0 && !with_districts.contains(&c))
            .copied()
            .collect();
        let full_names: Vec<(u32, Arc<str>)> = g
            .units
            .keys()
            .map(|&code| (code, g.join_names(code).into()))
            .collect();
        for (code, full_name) in full_names {
            if let Some(unit) = g.units.get_mut(&code) {
                unit.full_name = full_name;
            }
        }
        for (name, refs) in &g.names {
            let mut chars = name.chars();
            if let (Some(a), Some(b)) = (chars.next(), chars.next()) {
                g.by_start
                    .entry([a, b])
                    .or_default()
                    .push((name.clone(), refs.clone()));
            }
        }
        for starting in g.by_start.values_mut() {
            starting.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        }
        g
    }

    fn add(&mut self, area: Area, name: &str, parent: u32) {
        self.units.insert(
            area.code(),
            Unit {
                name: name.to_owned(),
                parent,
                full_name: Arc::from(""),
            },
        );
        // A name with a character that reading simplifies (乾安县, 乾县: 乾 → 干) is also
        // found as it reads, or an address naming it would never be placed there.
        let read_as: String = name.chars().map(|c| self.simplified.get(c)).collect();
        let mut index = |n: &str, short: bool| {
            self.names
                .entry(n.to_owned())
                .or_default()
                .push(NameRef { area, short });
        };
        for n in [Some(name), (read_as != name).then_some(read_as.as_str())]
            .into_iter()
            .flatten()
        {
            index(n, false);
            if let Some(short) = short_name(n) {
                index(&short, true);
            }
        }
    }

    /// `text` without white space or separators, traditional characters simplified:
    /// `溫州市 甌海區` → `温州市瓯海区`.
    pub fn simplify(&self, text: &str) -> String {
        self.simplified(text).into_owned()
    }

    /// [`Gazetteer::simplify`], borrowing `text` when it has nothing to simplify (most
    /// addresses): no copy.
    pub fn simplified<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let Some(first) = text.find(|c| self.simplified.touches(c)) else {
            return Cow::Borrowed(text);
        };
        let mut out = String::with_capacity(text.len());
        out.push_str(&text[..first]);
        for c in text[first..].chars() {
            if !c.is_whitespace() && !is_separator(c) {
                out.push(self.simplified.get(c));
            }
        }
        Cow::Owned(out)
    }

    /// The full name of an area: `浙江省杭州市上城区`.
    pub fn describe(&self, area: Area) -> String {
        self.label(area).to_string()
    }

    /// [`Self::describe`], shared with the table (a case keeps one for its messages).
    pub fn label(&self, area: Area) -> Arc<str> {
        match self.units.get(&area.code()) {
            Some(unit) => Arc::clone(&unit.full_name),
            None => format!("{:06}", area.code()).into(),
        }
    }

    /// The names from the province down to the unit `code`, joined.
    fn join_names(&self, mut code: u32) -> String {
        let mut parts = Vec::new();
        while let Some(u) = self.units.get(&code) {
            parts.push(u.name.as_str());
            code = u.parent;
        }
        parts.reverse();
        parts.concat()
    }

    /// The area of a 6-digit adcode, and whether the table knows it.
    pub fn area_of_adcode(&self, code: u32) -> (Area, bool) {
        let area = if code.is_multiple_of(10_000) {
            Area::Province(code)
        } else if code.is_multiple_of(100) {
            Area::City(code)
        } else {
            Area::District(code)
        };
        (area, self.units.contains_key(&code))
    }

    /// Reads a destination: adcode first, then the structured names, then the free
    /// text; the most specific area that agrees with the adcode (or, without one,
    /// with the first given) wins, and disagreements are reported. Names and text that
    /// disagree with each other (no adcode) place the destination only as far as both
    /// agree, with a [`PlaceIssue::Conflict`].
    pub fn resolve(&self, input: &DestinationInput) -> Resolution {
        self.resolve_ref(input.borrowed())
    }

    /// [`Self::resolve`], of a borrowed input.
    pub fn resolve_ref(&self, input: DestinationRef<'_>) -> Resolution {
        let mut issues = Vec::new();
        let from_adcode = input.adcode.and_then(|a| {
            let code: u32 = a.trim().parse().ok()?;
            let (area, known) = self.area_of_adcode(code);
            if known {
                return Some(area);
            }
            issues.push(PlaceIssue::UnknownAdcode {
                adcode: a.trim().to_owned(),
            });
            // A code not in the table (an abolished county, 330621 绍兴县) stands for
            // the nearest unit above it that is: its city, else its province.
            Some(
                self.ancestors(area)
                    .into_iter()
                    .flatten()
                    .find(|a| self.units.contains_key(&a.code()))
                    .unwrap_or(area),
            )
        });
        let from_names = self.resolve_names(input, &mut issues);
        // The names (or the adcode) narrow the free text: `{"city": "杭州市", "address":
        // "西湖区文三路"}` is Hangzhou's 西湖区, not also Nanchang's.
        let context = from_names.or(from_adcode);
        // Without a context, the places an ambiguous structured name could be (`{"district":
        // "西湖区"}`): the address must agree with one of them.
        let candidates = match context {
            Some(_) => Vec::new(),
            None => [
                (input.province, Level::Province),
                (input.city, Level::City),
                (input.district, Level::District),
            ]
            .into_iter()
            .rev()
            .filter_map(|(f, l)| Some((self.simplified(f?), l)))
            .find(|(f, _)| !f.is_empty())
            .map(|(f, l)| self.field_places(&f, l, None))
            .filter(|c| c.len() > 1)
            .unwrap_or_default(),
        };
        let from_text = input
            .address
            .and_then(|t| self.resolve_text_within(t, context, &candidates, &mut issues));

        let mut area: Option<Area> = None;
        let mut by_adcode = false;
        for (candidate, is_adcode) in [(from_adcode, true), (from_names, false), (from_text, false)]
        {
            let Some(candidate) = candidate else { continue };
            match area {
                None => {
                    area = Some(candidate);
                    by_adcode = is_adcode;
                }
                Some(current) if current.contains(candidate) => area = Some(candidate),
                Some(current) if candidate.contains(current) => {}
                Some(current) if by_adcode => issues.push(PlaceIssue::Mismatch {
                    adcode: format!("{:06}", current.code()),
                    adcode_place: self.describe(current),
                    named_place: self.describe(candidate),
                }),
                Some(current) => {
                    let text: Vec<&str> = [input.province, input.city, input.district]
                        .into_iter()
                        .chain([input.address])
                        .flatten()
                        .collect();
                    area = self.common(&[current, candidate]);
                    issues.push(self.conflict(text.join(" "), &[current, candidate]));
                    break;
                }
            }
        }
        Resolution { area, issues }
    }

    /// The area and the units above it, the area first: `330106`, `330100`, `330000`
    /// (a municipality's district has no city of its own).
    fn ancestors(&self, area: Area) -> [Option<Area>; 3] {
        let code = area.code();
        let province = Some(Area::Province(code / 10_000 * 10_000));
        let city = |c: u32| {
            let c = c / 100 * 100;
            self.units.contains_key(&c).then_some(Area::City(c))
        };
        match area {
            Area::Province(_) => [Some(area), None, None],
            Area::City(_) => [Some(area), province, None],
            Area::District(c) => [Some(area), city(c), province],
        }
    }

    /// The most specific area containing every one of `areas`, if any.
    fn common(&self, areas: &[Area]) -> Option<Area> {
        let (first, others) = areas.split_first()?;
        self.ancestors(*first)
            .into_iter()
            .flatten()
            .find(|a| others.iter().all(|o| a.contains(*o)))
    }

    fn conflict(&self, text: String, readings: &[Area]) -> PlaceIssue {
        let mut described: Vec<String> = Vec::with_capacity(readings.len());
        for r in readings {
            let d = self.describe(*r);
            if !described.contains(&d) {
                described.push(d);
            }
        }
        PlaceIssue::Conflict {
            text,
            readings: described,
        }
    }

    fn resolve_names(
        &self,
        input: DestinationRef<'_>,
        issues: &mut Vec<PlaceIssue>,
    ) -> Option<Area> {
        let fields = [
            (input.province, Level::Province),
            (input.city, Level::City),
            (input.district, Level::District),
        ];
        self.read_fields(&fields, None, issues, true)
    }

    /// The structured names, from `start` down. A name that fits nowhere inside what the
    /// names above it placed, but names a place elsewhere (`江西省` then `杭州市`), is a
    /// contradiction (when `check`): the destination is placed only as far as both
    /// readings agree, and the issue names both.
    fn read_fields(
        &self,
        fields: &[(Option<&str>, Level)],
        start: Option<Area>,
        issues: &mut Vec<PlaceIssue>,
        check: bool,
    ) -> Option<Area> {
        let mut area: Option<Area> = start;
        for (i, &(field, level)) in fields.iter().enumerate() {
            let Some(text) = field.map(|f| self.simplified(f)).filter(|t| !t.is_empty()) else {
                continue;
            };
            if let Some(Area::Province(p)) = area
                && (level == Level::City && self.city_aliases(p).any(|a| a == text)
                    || level != Level::Province && self.parts(p).any(|a| a == text))
            {
                // The city level of a municipality, or a part of Hong Kong, Macao or
                // Taiwan: nothing below the province to add.
                continue;
            }
            let found = self.field_places(&text, level, area);
            match found.as_slice() {
                [one] => area = Some(*one),
                [] => {
                    let elsewhere = match area {
                        // 城区, 郊区, 东区…: "the urban area", not another city's district.
                        Some(a)
                            if check
                                && !is_generic(&text)
                                && !self.is_street_area(&text)
                                && (level != Level::District
                                    || !self.without_districts.contains(&a.code())) =>
                        {
                            self.field_places(&text, level, None)
                        }
                        _ => Vec::new(),
                    };
                    if let (Some(current), false) = (area, elsewhere.is_empty()) {
                        let mut readings = vec![current];
                        match elsewhere.as_slice() {
                            [one] => readings.push(
                                self.read_fields(
                                    &fields[i + 1..],
                                    Some(*one),
                                    &mut Vec::new(),
                                    false,
                                )
                                .unwrap_or(*one),
                            ),
                            many => readings.extend_from_slice(many),
                        }
                        let text: Vec<&str> = fields.iter().filter_map(|f| f.0).collect();
                        issues.push(self.conflict(text.concat(), &readings));
                        // The province written, when what contradicts it is an ambiguous
                        // name (`浙江省/杭州市/朝阳区`), as in free text.
                        let kept = (elsewhere.len() > 1 && start.is_none())
                            .then(|| fields.first().and_then(|f| f.0).map(|_| current))
                            .flatten()
                            .filter(|_| matches!(fields.first(), Some((Some(_), Level::Province))))
                            .map(|c| Area::Province(c.code() / 10_000 * 10_000));
                        return self.common(&readings).or(kept);
                    }
                    issues.push(PlaceIssue::Unresolved {
                        text: text.into_owned(),
                    });
                }
                many => issues.push(self.ambiguous(text.into_owned(), many)),
            }
        }
        area
    }

    /// The places a structured field names at `level`, inside `within` when given.
    fn field_places(&self, text: &str, level: Level, within: Option<Area>) -> Vec<Area> {
        let mut found: Vec<Area> = self
            .lookup(text, level, within)
            .into_iter()
            .map(|r| r.area)
            .collect();
        if found.is_empty() && level == Level::City {
            found = self.city_level_stand_in(text, within);
        }
        found
    }

    /// Reads free text from its start, level by level.
    pub fn resolve_text(&self, text: &str, issues: &mut Vec<PlaceIssue>) -> Option<Area> {
        self.resolve_text_within(text, None, &[], issues)
    }

    /// [`Self::resolve_text`]; when the text alone places nothing (`西湖区文三路` could be
    /// Hangzhou's or Nanchang's), it is read again inside `context` (what the adcode or
    /// the structured names placed), and what that finds below `context` is kept.
    fn resolve_text_within(
        &self,
        text: &str,
        context: Option<Area>,
        candidates: &[Area],
        issues: &mut Vec<PlaceIssue>,
    ) -> Option<Area> {
        let simplified = self.simplified(text);
        let parts = text_parts(&simplified, &|name| self.reads_as_places(name));
        let mut read = self.read_parts(&parts, None);
        if let (Some(context), Some(area)) = (context, read.area)
            && read.weak
            && !context.contains(area)
            && !area.contains(context)
        {
            // A short or generic name alone at the start of the address, elsewhere than the
            // structured names or the adcode place it (`{"city": "杭州市", "address":
            // "湖滨"}`, `{"district": "西湖区", "address": "东区3幢"}`): street text
            // inside the place named, not another place.
            read = TextReading::default();
        }
        if !candidates.is_empty()
            && let Some(area) = read.area
        {
            if read.weak {
                // A short or generic name alone, beside an ambiguous structured name
                // (`{"district": "西湖区", "address": "黄龙"}`): street text, as inside a
                // place the names give.
                read = TextReading::default();
            } else if read.others.is_empty()
                && !candidates
                    .iter()
                    .any(|c| c.contains(area) || area.contains(*c))
            {
                // The address agrees with no place the structured name could be
                // (`{"district": "西湖区", "address": "温州市鹿城区"}`): a contradiction.
                read.others = candidates.to_vec();
            }
        }
        if let Some(context @ Area::City(city)) = context
            && self.without_districts.contains(&city)
            && read.area.is_some_and(|a| !context.contains(a))
            && parts.first().is_some_and(|p| {
                [Level::Province, Level::City]
                    .into_iter()
                    .all(|l| matches!(self.take(p, l, None), Take::Nothing))
            })
        {
            // A district's name starting the address inside a city without districts
            // (`{"city": "东莞市", "address": "东城区主山社区"}`): one of its towns.
            read = TextReading::default();
        }
        if read.area.is_none()
            && read.others.is_empty()
            && let Some(context) = context
        {
            let again = self.read_parts(&parts, Some(context));
            if let Some(area) = again.area
                && again.ambiguous.is_empty()
                && again.others.is_empty()
                && (area != context || !read.ambiguous.is_empty())
            {
                // Below the context, or the one reading of an ambiguous name the context
                // leaves (`{"district": "西湖区", "city": "杭州市", "address": "西湖区文三路"}`).
                return Some(area);
            }
        }
        let text = simplified.into_owned();
        if !read.others.is_empty() {
            let mut readings: Vec<Area> = read.area.into_iter().collect();
            readings.extend(read.others);
            issues.push(self.conflict(text, &readings));
            return self.common(&readings).or(read.kept);
        }
        if !read.ambiguous.is_empty() {
            issues.push(self.ambiguous(text, &read.ambiguous));
        } else if read.area.is_none()
            && !text.is_empty()
            && !context.is_some_and(|c| c.level() == Level::District)
        {
            // After a district placed by the structured names or the adcode, the
            // address is its street: nothing more to read, nothing to warn about.
            issues.push(PlaceIssue::Unresolved { text });
        }
        read.area
    }

    /// Reads the parts of a text (see [`text_parts`]) one after the other, from `start`:
    /// each part is read inside what the parts before it placed (`杭州市 13812345678
    /// 西湖区文三路`), else on its own, and must then agree with them — with at least one
    /// reading of each when a part is ambiguous (`西湖区 13812345678 杭州市` agrees,
    /// `鼓楼区 13812345678 杭州市` does not). A later part that is a short or generic name
    /// alone (`(鼓楼)`, `(东区)`) is street text unless it is a place inside what was read
    /// (`浙江省宁波市(象山)`). Reading stops at the first contradiction.
    fn read_parts(&self, parts: &[&str], start: Option<Area>) -> TextReading {
        let mut read = TextReading {
            area: start,
            ..TextReading::default()
        };
        for part in parts {
            if !read.others.is_empty() {
                break;
            }
            if let Some(a) = read.area {
                let again = self.read_levels(part, Some(a), true);
                if again.area != Some(a) && again.ambiguous.is_empty() {
                    read = TextReading {
                        others: [read.others, again.others].concat(),
                        weak: false,
                        ..again
                    };
                    continue;
                }
            }
            let next = self.read_levels(part, None, true);
            let firsts: Vec<Area> = read
                .area
                .map_or_else(|| read.ambiguous.clone(), |a| vec![a]);
            if firsts.is_empty() {
                read = next;
                continue;
            }
            let nexts: Vec<Area> = next
                .area
                .map_or_else(|| next.ambiguous.clone(), |a| vec![a]);
            if nexts.is_empty() {
                continue;
            }
            let mut agreeing: Vec<Area> = Vec::new();
            for f in &firsts {
                for n in &nexts {
                    let finer = if f.contains(*n) {
                        *n
                    } else if n.contains(*f) {
                        *f
                    } else {
                        continue;
                    };
                    if !agreeing.contains(&finer) {
                        agreeing.push(finer);
                    }
                }
            }
            if next.weak && agreeing.is_empty() {
                // A short or generic name alone, elsewhere (`杭州市上城区(鼓楼)`): street
                // text; inside what was read (`浙江省宁波市(象山)`), that place.
                continue;
            }
            if agreeing.is_empty()
                && read.area.is_some_and(|a| a.level() == Level::District)
                && !self.is_full_address(part, &next)
            {
                // After a district, a later part is street text (`(江苏省驻杭办)`,
                // `(温州市)`) unless it is a full address of its own.
                continue;
            }
            read = match agreeing.as_slice() {
                [] => TextReading {
                    area: None,
                    ambiguous: Vec::new(),
                    others: [firsts, nexts, next.others].concat(),
                    weak: false,
                    kept: None,
                },
                [one] => TextReading {
                    area: Some(*one),
                    others: next.others,
                    kept: next.kept.filter(|k| k.contains(*one)),
                    ..TextReading::default()
                },
                many => TextReading {
                    ambiguous: many.to_vec(),
                    others: next.others,
                    ..TextReading::default()
                },
            };
        }
        read
    }

    /// A part that is an address of its own, not a note beside one: it reads down to a
    /// district (`温州市鹿城区`, `鹿城区`), or starts with a province's full name and
    /// reads down to a city at least (`江苏省南京市`; not `江苏省驻杭办`, `上海市`).
    fn is_full_address(&self, part: &str, reading: &TextReading) -> bool {
        let levels: Vec<Level> = reading
            .area
            .map_or_else(|| reading.ambiguous.clone(), |a| vec![a])
            .into_iter()
            .chain(reading.others.iter().copied())
            .map(Area::level)
            .collect();
        if levels.contains(&Level::District) {
            return true;
        }
        let province_written = matches!(
            self.take_in(part, Level::Province, None, true),
            Take::Found(_, len, false) if part[..len].ends_with('省') || part[..len].ends_with("自治区")
        );
        province_written && levels.contains(&Level::City)
    }

    /// Reads `rest` level by level below `start` (from the province without one). With
    /// `check`, what follows the last name read is looked at once more: a name there
    /// that places the destination elsewhere (`江西省杭州市`, `杭州市鹿城区`) is another
    /// reading, read on its own (without this check again: one level of it, so the
    /// reading stays linear in the text). Only a full name with its suffix, after a
    /// province or a city, is such a name (`杭州市鹿城区`, not `杭州市湖滨`, a street, nor
    /// `杭州市城区`): once a district is read, what follows is its streets and towns.
    ///
    /// Read below a `start` (the place the structured names or the adcode give), only
    /// full names are read: `金东方小区` inside 金华市 is an estate, not 金东区.
    fn read_levels(&self, mut rest: &str, start: Option<Area>, check: bool) -> TextReading {
        let mut out = TextReading {
            area: start,
            ..TextReading::default()
        };
        let full_only = start.is_some();
        let province_written =
            start.is_none() && matches!(self.take(rest, Level::Province, None), Take::Found(..));
        let levels = [Level::Province, Level::City, Level::District];
        let below = start.map_or(0, |a| a.rank() as usize + 1);
        for &level in levels.iter().skip(below) {
            match self.take_in(rest, level, out.area, full_only) {
                Take::Found(a, len, short) => {
                    let name = &rest[..len];
                    out.weak = out.area == start && (short || is_generic(name));
                    rest = &rest[len..];
                    if out.area.is_none() && rest.is_empty() && level != Level::Province {
                        // A bare name (`朝阳`) that is also a district's elsewhere
                        // (Beijing's and Changchun's 朝阳区) could be any of them.
                        let mut many = vec![a];
                        many.extend(
                            self.names
                                .get(name)
                                .into_iter()
                                .flatten()
                                .map(|r| r.area)
                                .filter(|o| o.level() == Level::District && !a.contains(*o)),
                        );
                        if many.len() > 1 {
                            out.ambiguous = many;
                            return out;
                        }
                    }
                    out.area = Some(a);
                    // The same name twice (`杭州市杭州市西湖区`), unless it begins a
                    // district's name (`怀化市怀化市洪江管理区`, `嘉峪关市嘉峪关市`).
                    if self.units.get(&a.code()).is_some_and(|u| u.name == name)
                        && !(a.level() == Level::City
                            && matches!(
                                self.take_in(rest, Level::District, Some(a), true),
                                Take::Found(_, l, _) if l >= len
                            ))
                    {
                        rest = rest.strip_prefix(name).unwrap_or(rest);
                    }
                    // 市辖区 (the table's grouping of a city's districts) written out:
                    // `杭州市市辖区西湖区`, or `杭州 市辖区 西湖区` with its spaces gone,
                    // where the 市 read with 杭州市 is the one of 市辖区.
                    if a.level() != Level::District {
                        if let Some(r) = rest.strip_prefix("市辖区") {
                            rest = r;
                        } else if name.ends_with('市')
                            && let Some(r) = rest.strip_prefix("辖区")
                        {
                            rest = r;
                        }
                    }
                    if let Area::Province(p) = a {
                        rest = self.skip_city_alias(p, rest);
                    }
                }
                Take::Ambiguous(many) => {
                    // Of short names only (`鼓楼`: Nanjing's, Fuzhou's…), a weak reading.
                    out.weak = out.area == start
                        && matches!(self.take_in(rest, level, out.area, true), Take::Nothing);
                    out.ambiguous = many;
                    return out;
                }
                Take::Nothing => {}
            }
        }
        if let Some(area) = out.area
            && check
            && out.area != start
            && area.level() != Level::District
            && !rest.is_empty()
            && !self.parts.contains_key(&(area.code() / 10_000 * 10_000))
            && !GENERIC_DISTRICTS.iter().any(|g| rest.starts_with(g))
        {
            // A province's full name after a city is checked too (`杭州市江西省`), unless it
            // is the city's own (`南昌市江西省`); after a city without districts (东莞市),
            // a district's name is one of its towns, and a development area is street text
            // after any city.
            for &level in &levels {
                if level == Level::District && self.without_districts.contains(&area.code()) {
                    continue;
                }
                let development = |many: &[Area]| {
                    many.iter().any(|a| {
                        self.units.get(&a.code()).is_some_and(|u| {
                            rest.starts_with(&u.name) && self.is_street_area(&u.name)
                        })
                    })
                };
                let elsewhere = match self.take_in(rest, level, None, true) {
                    Take::Found(b, len, _)
                        if !area.contains(b)
                            && !b.contains(area)
                            && !self.is_street_area(&rest[..len]) =>
                    {
                        let other = self.read_levels(rest, None, false);
                        vec![other.area.unwrap_or(b)]
                    }
                    Take::Ambiguous(many) if !development(&many) => {
                        if province_written {
                            out.kept = Some(Area::Province(area.code() / 10_000 * 10_000));
                        }
                        many
                    }
                    _ => continue,
                };
                out.others = elsewhere;
                break;
            }
        }
        out
    }

    /// `name` is two places' short names and nothing else, one inside the other
    /// (`温州鹿城`, `浙江杭州`): a place, not a person's name, before a phone.
    fn reads_as_places(&self, name: &str) -> bool {
        [
            (Level::Province, Level::City),
            (Level::Province, Level::District),
            (Level::City, Level::District),
        ]
        .into_iter()
        .any(|(upper, lower)| match self.take(name, upper, None) {
            Take::Found(a, len, _) => matches!(
                self.take(&name[len..], lower, Some(a)),
                Take::Found(_, l, _) if len + l == name.len()
            ),
            _ => false,
        })
    }

    /// A development area's name that does not begin with a city's or a province's
    /// (`滨海新区`, `高新区`, not `宿州经济技术开发区`): after a city, street text.
    fn is_street_area(&self, name: &str) -> bool {
        let mut chars = name.chars();
        let begins_with_a_city = match (chars.next(), chars.next()) {
            (Some(a), Some(b)) => self.by_start.get(&[a, b]).is_some_and(|starting| {
                starting.iter().any(|(n, refs)| {
                    n.len() < name.len()
                        && name.starts_with(n.as_str())
                        && refs.iter().any(|r| r.area.level() != Level::District)
                })
            }),
            _ => false,
        };
        is_development_area(name) && !begins_with_a_city
    }

    fn city_aliases(&self, province: u32) -> impl Iterator<Item = &str> {
        self.city_aliases
            .get(&province)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    fn parts(&self, province: u32) -> impl Iterator<Item = &str> {
        self.parts
            .get(&province)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// A city field that names no city: a municipality or Hong Kong, Macao or Taiwan
    /// without its province (`{"city": "北京市", "district": "朝阳区"}`), or, inside a
    /// province, a county it administers directly (`北京市/朝阳区`, `湖北省/仙桃市`).
    fn city_level_stand_in(&self, text: &str, within: Option<Area>) -> Vec<Area> {
        let refs = match within {
            None => self.lookup(text, Level::Province, None),
            Some(w @ Area::Province(_)) => self.lookup(text, Level::District, Some(w)),
            Some(_) => return Vec::new(),
        };
        refs.into_iter()
            .map(|r| r.area)
            .filter(|a| match a {
                Area::Province(p) => self.without_cities.contains(p),
                _ => self
                    .units
                    .get(&a.code())
                    .is_some_and(|u| within.is_some_and(|w| u.parent == w.code())),
            })
            .collect()
    }

    /// `rest` after a city-level alias of the province (`北京市北京市朝阳区`,
    /// `上海市市辖区浦东新区`), when what follows is a district of it or nothing:
    /// `北京市北京路` keeps its `北京路`.
    fn skip_city_alias<'t>(&self, province: u32, rest: &'t str) -> &'t str {
        for alias in self.city_aliases(province) {
            if let Some(after) = rest.strip_prefix(alias)
                && (after.is_empty()
                    || matches!(
                        self.take(after, Level::District, Some(Area::Province(province))),
                        Take::Found(..)
                    ))
            {
                return after;
            }
        }
        rest
    }

    fn ambiguous(&self, text: String, many: &[Area]) -> PlaceIssue {
        let mut candidates: Vec<String> = many.iter().map(|a| self.describe(*a)).collect();
        candidates.sort();
        candidates.dedup();
        PlaceIssue::Ambiguous { text, candidates }
    }

    /// Names equal to `name` at `level`, inside `within` when given.
    fn lookup(&self, name: &str, level: Level, within: Option<Area>) -> Vec<NameRef> {
        self.named(name, level, within).collect()
    }

    /// [`Gazetteer::lookup`] without collecting: a full name beats a short one that
    /// happens to be spelled the same.
    fn named(
        &self,
        name: &str,
        level: Level,
        within: Option<Area>,
    ) -> impl Iterator<Item = NameRef> + '_ {
        let refs = self.names.get(name).map_or(&[][..], Vec::as_slice);
        Self::fitting(refs, level, within)
    }

    /// The places among `refs` (a name's) at `level`, inside `within` when given: a full
    /// name beats a short one spelled the same.
    fn fitting(
        refs: &[NameRef],
        level: Level,
        within: Option<Area>,
    ) -> impl Iterator<Item = NameRef> + '_ {
        let fits = move |r: &&NameRef| {
            r.area.level() == level && within.is_none_or(|w| w.contains(r.area))
        };
        let full_only = refs.iter().filter(fits).any(|r| !r.short);
        refs.iter()
            .filter(fits)
            .filter(move |r| !(full_only && r.short))
            .copied()
    }

    /// The longest name of `level` (inside `within`) that `rest` starts with: of the
    /// names `rest` starts with, longest first, the first with a place that fits.
    fn take(&self, rest: &str, level: Level, within: Option<Area>) -> Take {
        self.take_in(rest, level, within, false)
    }

    /// [`Self::take`]; with `full_only`, of the full names only (`西湖区`, not `西湖`).
    fn take_in(&self, rest: &str, level: Level, within: Option<Area>, full_only: bool) -> Take {
        let mut chars = rest.chars();
        let (Some(a), Some(b)) = (chars.next(), chars.next()) else {
            return Take::Nothing;
        };
        let Some(starting) = self.by_start.get(&[a, b]) else {
            return Take::Nothing;
        };
        for (name, refs) in starting {
            let Some(after) = rest.strip_prefix(name.as_str()) else {
                continue;
            };
            let mut accepted = Self::fitting(refs, level, within)
                .filter(|r| !r.short || !full_only && self.short_name_fits(r.area, after, within))
                .map(|r| (r.area, r.short));
            match (accepted.next(), accepted.next()) {
                (None, _) => {}
                (Some((one, short)), None) => return Take::Found(one, name.len(), short),
                (Some((a, _)), Some((b, _))) => {
                    return Take::Ambiguous(
                        [a, b]
                            .into_iter()
                            .chain(accepted.map(|(area, _)| area))
                            .collect(),
                    );
                }
            }
        }
        Take::Nothing
    }

    /// A short name (`杭州`) stands for the place only when what follows continues the
    /// address inside it (`杭州上城区`) or nothing follows: `杭州湾新区` is not Hangzhou.
    /// A district's short name followed by more text also needs its own city (or, for a
    /// municipality's district, its province) read before it (`温州鹿城五马街`): at the
    /// start of an address, `滨江花园` or `钱塘江花园` is a housing estate that may be in
    /// any city.
    fn short_name_fits(&self, area: Area, after: &str, within: Option<Area>) -> bool {
        if after.is_empty() {
            return true;
        }
        match area {
            Area::District(code) => {
                let parent = self.units.get(&code).map(|u| u.parent);
                within.is_some_and(|w| parent == Some(w.code()))
                    && !after.starts_with(NOT_AFTER_SHORT_NAME)
            }
            Area::City(_) => matches!(
                self.take(after, Level::District, Some(area)),
                Take::Found(..)
            ),
            Area::Province(p) => {
                let after = self.skip_city_alias(p, after);
                after.is_empty()
                    || self.parts(p).any(|part| after.starts_with(part))
                    || [Level::City, Level::District]
                        .into_iter()
                        .any(|l| matches!(self.take(after, l, Some(area)), Take::Found(..)))
            }
        }
    }
}

fn short_name(name: &str) -> Option<String> {
    let mut short = name;
    if let Some(pos) = ETHNIC.iter().filter_map(|e| name.find(e)).min() {
        short = &name[..pos];
    } else if let Some(s) = SUFFIXES.iter().find_map(|s| name.strip_suffix(s)) {
        short = s;
    }
    (short != name && short.chars().count() >= 2).then(|| short.to_owned())
}

/// The rows of a small CSV with quoted names and no embedded commas, header skipped.
fn rows(csv: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    csv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(g: &Gazetteer, s: &str) -> Option<u32> {
        g.resolve_text(s, &mut Vec::new()).map(Area::code)
    }

    #[test]
    fn an_area_is_described_by_its_names_from_the_province_down() {
        let g = gazetteer();
        assert_eq!(g.describe(Area::District(330102)), "浙江省杭州市上城区");
        assert_eq!(g.describe(Area::City(330100)), "浙江省杭州市");
        assert_eq!(g.describe(Area::Province(330000)), "浙江省");
        // A municipality's district hangs from the province (its city is a grouping).
        assert_eq!(g.describe(Area::District(110105)), "北京市朝阳区");
        assert_eq!(g.describe(Area::District(990101)), "990101");
    }

    #[test]
    fn a_label_is_the_description_shared_with_the_table() {
        let g = gazetteer();
        let shangcheng = Area::District(330102);
        assert_eq!(&*g.label(shangcheng), "浙江省杭州市上城区");
        assert!(Arc::ptr_eq(&g.label(shangcheng), &g.label(shangcheng)));
        assert_eq!(&*g.label(Area::District(990101)), "990101");
    }

    #[test]
    fn the_simplified_table_s_bits_agree_with_its_map() {
        let g = gazetteer();
        assert!(g.simplified.map.len() > 400);
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            let want = g.simplified.map.get(&c).copied().unwrap_or(c);
            assert_eq!(g.simplified.get(c), want, "{c:?}");
        }
        assert_eq!(g.simplify("溫州市 甌海區, 𠀀"), "温州市瓯海区𠀀");
    }

    #[test]
    fn a_text_is_simplified_as_each_of_its_characters_says() {
        let g = gazetteer();
        // The slow definition, character by character, for every character.
        let slow = |text: &str| -> String {
            text.chars()
                .filter(|c| !c.is_whitespace() && !is_separator(*c))
                .map(|c| g.simplified.map.get(&c).copied().unwrap_or(c))
                .collect()
        };
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            let text = format!("浙江{c}杭州");
            assert_eq!(g.simplified(&text), slow(&text), "{c:?}");
            assert_eq!(
                g.simplified.touches(c),
                slow(&c.to_string()) != c.to_string(),
                "{c:?}"
            );
        }
        // Nothing to do: the text itself, not a copy.
        assert!(matches!(
            g.simplified("浙江省杭州市上城区解放路100号"),
            Cow::Borrowed(_)
        ));
        assert_eq!(g.simplified("溫州 甌海區"), "温州瓯海区");
    }

    #[test]
    fn the_names_by_their_start_are_the_names_longest_first() {
        let g = gazetteer();
        let mut count = 0;
        for ([a, b], starting) in &g.by_start {
            for pair in starting.windows(2) {
                assert!(pair[0].0.len() >= pair[1].0.len(), "{a}{b}");
            }
            for (name, refs) in starting {
                assert!(name.starts_with([*a, *b].iter().collect::<String>().as_str()));
                let places =
                    |refs: &[NameRef]| refs.iter().map(|r| (r.area, r.short)).collect::<Vec<_>>();
                assert_eq!(
                    g.names.get(name).map(|r| places(r)),
                    Some(places(refs)),
                    "{name}"
                );
            }
            count += starting.len();
        }
        let long_enough = g.names.keys().filter(|n| n.chars().nth(1).is_some());
        assert_eq!(count, long_enough.count());
    }

    #[test]
    fn free_text_is_read_province_city_district() {
        let g = Gazetteer::embedded();
        assert_eq!(text(&g, "浙江省杭州市上城区解放路100号"), Some(330102));
        assert_eq!(text(&g, "浙江 杭州 上城区"), Some(330102));
        assert_eq!(text(&g, "杭州市滨江区"), Some(330108));
        assert_eq!(text(&g, "浙江省德清县武康街道"), Some(330521));
        assert_eq!(text(&g, "北京市朝阳区建国路"), Some(110105));
        assert_eq!(text(&g, "江苏省南京市鼓楼区中山路1号"), Some(320106));
        assert_eq!(text(&g, "广东省东莞市南城街道"), Some(441900));
    }

    #[test]
    fn a_place_named_after_a_city_is_not_that_city() {
        let g = Gazetteer::embedded();
        // Hangzhou Bay New Area is in Ningbo.
        assert_eq!(text(&g, "浙江省宁波市杭州湾新区滨海二路"), Some(330200));
        assert_eq!(text(&g, "浙江省杭州湾新区"), Some(330000));
        // A street named after Hangzhou, in Shanghai.
        assert_eq!(text(&g, "上海市杭州路100号"), Some(310000));
        // A company name somewhere in the string changes nothing.
        assert_eq!(
            text(&g, "江苏省苏州市工业园区杭州科技有限公司"),
            Some(320500)
        );
    }

    #[test]
    fn traditional_characters_read_as_simplified() {
        let g = Gazetteer::embedded();
        assert_eq!(text(&g, "浙江省溫州市甌海區"), Some(330304));
        assert_eq!(text(&g, "溫州市 甌海區 娄桥街道"), Some(330304));
    }

    #[test]
    fn abolished_hangzhou_districts_still_resolve() {
        let g = Gazetteer::embedded();
        assert_eq!(text(&g, "浙江省杭州市下城区"), Some(330103));
        assert_eq!(text(&g, "杭州市江干区"), Some(330104));
    }

    #[test]
    fn a_district_name_shared_by_several_cities_is_ambiguous_without_its_city() {
        let g = Gazetteer::embedded();
        let mut issues = Vec::new();
        assert_eq!(g.resolve_text("鼓楼区中山路", &mut issues), None);
        assert!(
            matches!(&issues[..], [PlaceIssue::Ambiguous { candidates, .. }] if candidates.len() == 4)
        );
    }

    #[test]
    fn adcode_wins_over_disagreeing_names_with_an_issue() {
        let g = Gazetteer::embedded();
        let r = g.resolve(&DestinationInput {
            adcode: Some("330108".into()),
            province: Some("浙江省".into()),
            city: Some("杭州市".into()),
            district: Some("西湖区".into()),
            ..Default::default()
        });
        assert_eq!(r.area, Some(Area::District(330108)));
        assert!(matches!(&r.issues[..], [PlaceIssue::Mismatch { .. }]));
    }

    #[test]
    fn consistent_names_refine_a_coarse_adcode() {
        let g = Gazetteer::embedded();
        let r = g.resolve(&DestinationInput {
            adcode: Some("330100".into()),
            district: Some("上城区".into()),
            ..Default::default()
        });
        assert_eq!(r.area, Some(Area::District(330102)));
        assert!(r.issues.is_empty());
    }

    #[test]
    fn contradicting_names_are_a_conflict_placed_where_the_readings_agree() {
        let g = gazetteer();
        let mut issues = Vec::new();
        assert_eq!(
            g.resolve_text("江西省杭州市西湖区文三路", &mut issues),
            None
        );
        assert_eq!(
            issues,
            [PlaceIssue::Conflict {
                text: "江西省杭州市西湖区文三路".into(),
                readings: vec!["江西省".into(), "浙江省杭州市西湖区".into()],
            }]
        );
        let mut issues = Vec::new();
        assert_eq!(
            g.resolve_text("杭州市鹿城区五马街", &mut issues),
            Some(Area::Province(330000))
        );
        assert!(
            matches!(&issues[..], [PlaceIssue::Conflict { readings, .. }]
            if readings == &["浙江省杭州市", "浙江省温州市鹿城区"])
        );
        // Structured names: the conflict, not "cannot place 杭州市".
        let r = g.resolve(&DestinationInput {
            province: Some("浙江省".into()),
            city: Some("杭州市".into()),
            district: Some("鹿城区".into()),
            ..Default::default()
        });
        assert_eq!(r.area, Some(Area::Province(330000)));
        assert!(matches!(&r.issues[..], [PlaceIssue::Conflict { .. }]));
    }

    #[test]
    fn a_shipping_label_s_prefix_is_skipped_and_the_address_read_in_order() {
        let g = gazetteer();
        for label in [
            "张三\n13812345678\n浙江省杭州市西湖区文三路",
            "收货人:张三 电话:13812345678 地址:浙江省杭州市西湖区文三路100号",
            "张三，13812345678，浙江省杭州市西湖区文三路100号",
            "310012 浙江省杭州市西湖区文三路",
            "(浙江省)杭州市西湖区",
        ] {
            let mut issues = Vec::new();
            assert_eq!(text(g, label), Some(330106), "{label}");
            g.resolve_text(label, &mut issues);
            assert!(issues.is_empty(), "{label}: {issues:?}");
        }
        // Still never a place name found anywhere: a name before a phone is skipped.
        assert_eq!(text(g, "温州 13812345678 浙江省杭州市西湖区"), Some(330106));
        assert_eq!(text(g, "张三 13812345678 杭州银行上海分行"), None);
    }

    #[test]
    fn an_unknown_adcode_stands_for_the_nearest_unit_above_it() {
        let g = gazetteer();
        let r = g.resolve(&DestinationInput {
            adcode: Some("330621".into()),
            ..Default::default()
        });
        assert_eq!(r.area, Some(Area::City(330600)));
        assert!(matches!(&r.issues[..], [PlaceIssue::UnknownAdcode { .. }]));
        let r = g.resolve(&DestinationInput {
            adcode: Some("339999".into()),
            ..Default::default()
        });
        assert_eq!(r.area, Some(Area::Province(330000)));
    }

    #[test]
    fn a_long_run_of_contradicting_names_reads_in_linear_time() {
        // No clock: read in quadratic time, 1 MiB of these would not finish in minutes
        // (a second reading that looked for a third, a label prefix rescanned per name).
        let g = gazetteer();
        let text = "杭州市温州市鹿城区".repeat(40_000);
        let mut issues = Vec::new();
        g.resolve_text(&text, &mut issues);
        assert!(matches!(&issues[..], [PlaceIssue::Conflict { .. }]));
        let label = format!("收货人{}", "张三电话13812345678".repeat(40_000));
        assert_eq!(g.resolve_text(&label, &mut Vec::new()), None);
        // A place before a phone: two parts, each read once.
        let parts = "杭州市13812345678".repeat(40_000);
        assert_eq!(
            g.resolve_text(&parts, &mut Vec::new()),
            Some(Area::City(330100))
        );
        let parts = "杭州市电话".repeat(40_000);
        assert_eq!(
            g.resolve_text(&parts, &mut Vec::new()),
            Some(Area::City(330100))
        );
        // Bracketed parts, each compared with what the ones before it placed: agreeing
        // (read to the end), ambiguous (鼓楼区), and contradicting (reading stops).
        let parts = "(杭州市)".repeat(100_000);
        assert_eq!(
            g.resolve_text(&parts, &mut Vec::new()),
            Some(Area::City(330100))
        );
        let parts = "(鼓楼区)".repeat(100_000);
        assert_eq!(g.resolve_text(&parts, &mut Vec::new()), None);
        let parts = format!("{}(温州市)", "(杭州市)".repeat(100_000));
        let mut issues = Vec::new();
        assert_eq!(
            g.resolve_text(&parts, &mut issues),
            Some(Area::Province(330000))
        );
        assert!(matches!(&issues[..], [PlaceIssue::Conflict { .. }]));
        let parts = "浙江省杭州市西湖区文三路13812345678".repeat(40_000);
        assert_eq!(
            g.resolve_text(&parts, &mut Vec::new()),
            Some(Area::District(330106))
        );
        // Sender's labels and destination labels, each looked at once.
        let parts = "退货地址：杭州市收件地址：杭州市西湖区".repeat(30_000);
        assert_eq!(
            g.resolve_text(&parts, &mut Vec::new()),
            Some(Area::District(330106))
        );
        let parts = "寄件地址：杭州市西湖区".repeat(60_000);
        let mut issues = Vec::new();
        assert_eq!(g.resolve_text(&parts, &mut issues), None);
        assert!(matches!(&issues[..], [PlaceIssue::Unresolved { .. }]));
    }

    /// Every name that is only a district's short name elsewhere (湖滨, 鼓楼, 五常, …),
    /// without a full name in it (`南阳市城乡一体化示范` begins with 南阳市).
    fn short_district_names(g: &Gazetteer) -> Vec<&str> {
        let mut names: Vec<&str> = g
            .names
            .iter()
            .filter(|(n, refs)| {
                !n.contains(PLACE_MARKS)
                    && refs.iter().all(|r| r.short)
                    && refs.iter().any(|r| r.area.level() == Level::District)
            })
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn after_a_district_every_name_is_street_text() {
        let g = gazetteer();
        let names = short_district_names(g);
        assert!(names.len() > 2_000, "{}", names.len());
        let full = g
            .names
            .keys()
            .filter(|n| !g.names[*n].iter().all(|r| r.short));
        for name in names.iter().copied().chain(full.map(String::as_str)) {
            let mut issues = Vec::new();
            let at = format!("杭州市上城区{name}");
            assert_eq!(
                g.resolve_text(&at, &mut issues),
                Some(Area::District(330102)),
                "{at}"
            );
            assert!(issues.is_empty(), "{at}: {issues:?}");
        }
    }

    #[test]
    fn after_a_city_a_short_name_is_a_street_and_a_full_name_elsewhere_a_conflict() {
        let g = gazetteer();
        for name in short_district_names(g) {
            let mut issues = Vec::new();
            let at = format!("杭州市{name}");
            let area = g.resolve_text(&at, &mut issues);
            assert!(
                area.is_some_and(|a| Area::City(330100).contains(a)),
                "{at}: {area:?}"
            );
            assert!(
                !issues
                    .iter()
                    .any(|i| matches!(i, PlaceIssue::Conflict { .. })),
                "{at}: {issues:?}"
            );
        }
        // A development area's name (`沈北新区`) is street text after a city, unless it
        // begins with a city's (`宿州经济技术开发区`).
        let elsewhere = g.names.iter().filter(|(n, refs)| {
            !is_generic(n)
                && !g.is_street_area(n)
                && refs.iter().all(|r| {
                    !r.short && r.area.level() == Level::District && r.area.code() / 10_000 != 33
                })
        });
        let mut count = 0;
        for (name, _) in elsewhere {
            let mut issues = Vec::new();
            let at = format!("杭州市{name}");
            g.resolve_text(&at, &mut issues);
            assert!(
                matches!(&issues[..], [PlaceIssue::Conflict { .. }]),
                "{at}: {issues:?}"
            );
            count += 1;
        }
        assert!(count > 2_000, "{count}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Fragments that make the alias and part rules work hardest, in any order.
        #[test]
        fn any_run_of_place_fragments_reads_without_panicking(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "北京", "北京市", "市", "市辖区", "县", "省直辖县级行政区划", "重庆", "重慶市",
                "巫山县", "朝阳区", "朝阳", "香港", "香港特別行政區", "九龙", "九龍", "新界",
                "台湾", "臺灣省", "台北市", "澳门", "氹仔", "路", "街", "湖北省", "仙桃市",
                "浙江", "杭州", "上城区", "杭州湾", " ", "/", "é", "🙂",
            ]), 0..8),
            field in 0..4usize,
        ) {
            let g = gazetteer();
            let text = parts.concat();
            let _ = g.resolve_text(&text, &mut Vec::new());
            let mut input = DestinationInput::default();
            let slot = [&mut input.province, &mut input.city, &mut input.district, &mut input.address];
            for (i, s) in slot.into_iter().enumerate() {
                *s = Some(parts.get(i + field).copied().unwrap_or_default().to_owned());
            }
            let r = g.resolve(&input);
            if let Some(a) = r.area {
                proptest::prop_assert!(!g.describe(a).is_empty());
            }
        }
    }

    fn gazetteer() -> &'static Gazetteer {
        static G: std::sync::OnceLock<Gazetteer> = std::sync::OnceLock::new();
        G.get_or_init(Gazetteer::embedded)
    }

    #[test]
    fn short_names_of_autonomous_units_drop_the_ethnic_tail() {
        assert_eq!(
            short_name("黔东南苗族侗族自治州").as_deref(),
            Some("黔东南")
        );
        assert_eq!(short_name("浙江省").as_deref(), Some("浙江"));
        assert_eq!(short_name("广西壮族自治区").as_deref(), Some("广西"));
        assert_eq!(short_name("郊区"), None);
    }
}
