//! The JSON Schemas of a request, kept beside the parser because they must say exactly
//! what it accepts.
//!
//! They are written for the generators shop backends use as well as for validators, so:
//! every schema has a `type` (a code that mixes integers and strings is an `anyOf` of one
//! integer enum and one string enum); a `required` inside `anyOf`, `oneOf` or `not` has
//! its properties beside it (`{}`, not `true`); every schema and property has a
//! description, in the caller's words (no internal names).

use serde_json::{Map, Value, json};

use super::{MAX_OPEN_REQUESTS, TRACE_TEXT_PATTERN};
use crate::codes::Status;
use crate::time;

/// The schema of an object where `a` and `b` are not both given (non-null).
pub(crate) fn not_both(a: &str, b: &str) -> Value {
    json!({
        "required": [a, b],
        "properties": {a: {"not": {"type": "null"}}, b: {"not": {"type": "null"}}}
    })
}

/// A reference to a component, described where it is used.
pub(crate) fn reference(name: &str, description: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}"), "description": description})
}

/// A component or `null` (the same as leaving the field out), described where it is used.
pub(crate) fn nullable(name: &str, description: &str) -> Value {
    json!({
        "anyOf": [{"$ref": format!("#/components/schemas/{name}")}, {"type": "null"}],
        "description": description
    })
}

/// The fields a clean request and a Kuaishou body share: the decision instant, the
/// buyer's address, the traces, the return and the shop.
pub(crate) fn case_properties() -> Map<String, Value> {
    let Value::Object(m) = json!({
        "as_of": nullable("Time", "The instant to decide at; default: the server's clock."),
        "destination": reference("Destination", "The buyer's address: the relevant destination of a refund only."),
        "logistics_trace": {
            "type": ["array", "null"],
            "items": {"$ref": "#/components/schemas/CarrierEvent"},
            "description": "The forward shipment's carrier events, in any order (oldest or newest first: of events at one instant that contradict each other, the last given in the trace's own direction decides)."
        },
        "logistics_text": nullable("TraceText", "Instead of logistics_trace: the forward shipment's trace as copied from a tracking page."),
        "return": nullable("Return", "The buyer's return parcel: required for return_and_refund; with refund_only it is refused (422 at /return) unless null."),
        "shop": nullable("Shop", "The shop's own state, for the ATOM surge hint.")
    }) else {
        return Map::new();
    };
    m
}

/// A string with a character that is not white space (Rust's `char::is_whitespace`, the
/// set `str::trim` removes): a blank id is refused. The set is written out, since `\s`
/// differs between regex dialects (Python's, ECMAScript's, Rust's).
pub const NOT_BLANK_PATTERN: &str =
    "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// The JSON Schemas (2020-12) of a request, keyed by component name. Written beside the
/// parser because they must say exactly what it accepts: schemathesis checks both
/// directions in CI (schema-valid input is decided, schema-invalid input is refused).
pub fn json_schemas() -> Value {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let time = |description: &str| nullable("Time", description);
    let mut decision_request = case_properties();
    for (key, schema) in [
        (
            "case_id",
            json!({"type": ["string", "null"], "description": "The shop's after-sales case id, echoed back."}),
        ),
        (
            "refund_type",
            json!({"type": "string", "enum": ["refund_only", "return_and_refund"], "description": "refund_only (仅退款) or return_and_refund (退货退款)."}),
        ),
        (
            "requested_at",
            reference("Time", "When the buyer filed the after-sales request."),
        ),
        (
            "order",
            reference("Order", "The order the request is about."),
        ),
    ] {
        decision_request.insert(key.to_owned(), schema);
    }
    json!({
        "Time": {
            "description": "An instant from 1970-01-01T00:00:00Z to 9996-12-31T23:59:59.999Z: RFC 3339 with an offset or Z (2023-10-11T09:00:00+08:00; T and Z in either case); a local time without offset (2023-10-11 09:00:00 or 2023-10-11T09:00), read in the policy's time zone; or Unix epoch milliseconds, from 100000000000 (1973-03-03T09:46:40Z; a smaller integer is epoch seconds sent by mistake, refused). On 1970-01-01 and 9996-12-31 only UTC strings (Z or +00:00) are accepted. The range ends two years before 9999 so that every deadline counted from an accepted time (at most two thresholds of at most 366 days) is still in the year 9999 in any time zone.",
            "anyOf": [
                {"type": "string", "pattern": time::TIME_PATTERN},
                {"type": "integer", "minimum": time::EPOCH_MS_MIN, "maximum": time::EPOCH_MS_MAX}
            ],
            "examples": ["2023-10-11T09:00:00+08:00", "2023-10-11 09:00:00", 1696986000000i64]
        },
        "CarrierStatus": {
            "description": "A normalized carrier status, or a tracking provider's code written `scheme:code` (kuaidi100, cainiao and taobao codes, each standing for one normalized status).",
            "type": "string",
            "enum": statuses.iter().map(|s| s.to_string()).chain(crate::carriers::all_codes().iter().cloned()).collect::<Vec<_>>()
        },
        "CarrierEvent": {
            "description": "One event of a carrier's trace. Needs a status, or the carrier's description to read one from.",
            "type": "object",
            "additionalProperties": false,
            "required": ["at"],
            "properties": {
                "at": reference("Time", "When the carrier recorded the event."),
                "status": reference("CarrierStatus", "The event's status; wins over `description`."),
                "description": {"type": "string", "description": "The carrier's raw trace text, read with the rules' phrase table when there is no `status`."},
                "location": {"type": ["string", "null"], "description": "Where it happened; kept out of the decision."}
            },
            // Without a status, the description is required.
            "if": {"properties": {"status": false}},
            "then": {"required": ["description"], "properties": {"description": {"type": "string"}}}
        },
        "Destination": {
            "description": "An address, as at least one of: an adcode, structured names, or free text (read province → city → district). When the adcode and the names disagree, the adcode wins and the response warns.",
            "type": "object",
            "additionalProperties": false,
            "minProperties": 1,
            "properties": {
                "adcode": {
                    "description": "The 6-digit GB/T 2260 code, e.g. 330108 (杭州市滨江区), as a string or a number.",
                    "anyOf": [
                        {"type": "string", "pattern": "^[1-9][0-9]{5}$"},
                        {"type": "integer", "minimum": 100_000, "maximum": 999_999}
                    ]
                },
                "province": {"type": "string", "description": "The province, with or without its suffix (浙江省, 浙江).", "examples": ["浙江省"]},
                "city": {"type": "string", "description": "The city, with or without its suffix.", "examples": ["杭州市"]},
                "district": {"type": "string", "description": "The district or county.", "examples": ["上城区"]},
                "address": {"type": "string", "description": "A free-text address, read from its start.", "examples": ["浙江省杭州市上城区解放路100号"]}
            }
        },
        "TraceText": {
            "description": "A carrier's trace as a person copies it from a tracking page: one event a line, its time first, then the carrier's text, read as an event's description is. The pattern is the canonical form, which the service always reads as Beijing time and the text: a local time `2023-10-10 14:00[:00]`, spaces, and a text that starts with neither a letter, a digit, a sign, a bracket, 北京时间, 上午/下午 nor a weekday (those can be read as part of the time: an offset, AM/PM, a second time), but for an English word of five letters or more. Beyond it the service also reads what people paste, which no pattern can state (a weekday must be its date's). The time: a date with its year (2023-10-10, 2023/10/10, 2023.10.10, 2023年10月10日, Oct 10, 2023; a weekday beside it must be the date's), a time of day (14:00, 9:05, 14:00:00, 14:00:00.123, 14时00分), in either order; in the policy's time zone unless an offset stands alone after it (+08:00, +0800, -05:00, Z, UTC, GMT+8; +08 only straight after the time): Z字楼, UTC大厦, -10月11日 after a space are the carrier's text; in brackets or not; full-width digits too. An event may also take two lines (its time alone, then its text), though not mixed with one-line events, and a date alone on a line dates the times under it until a line with its own date. Lines with no time and nothing like a date (digits, 昨日/下午, 十月十二日) before the first event or after the last (a page's heading or footer) are left out with the warning trace_line_skipped. Newest or oldest first; blank lines anywhere, but at least one event (with no trace, leave the field out). Anything ambiguous is refused with the line's number, never guessed: a date without its year, AM/PM or 上午/下午, a zone abbreviation, +10 after a space, two offsets, a time range (09:00-11:00), an offset written against the text (14:00Z字楼), a date after the time under a date heading.",
            "type": "string",
            "pattern": TRACE_TEXT_PATTERN,
            "examples": ["2023-10-10 14:00:00 【杭州市】快件已到达 杭州转运中心\n2023-10-09 20:00:00 【义乌市】圆通速递 已揽收"]
        },
        "Order": {
            "description": "The order the request is about.",
            "type": "object",
            "additionalProperties": false,
            "required": ["order_id"],
            "properties": {
                "order_id": {"type": "string", "minLength": 1, "pattern": NOT_BLANK_PATTERN, "description": "The shop's order id: not blank (spaces alone, U+3000 included, are refused)."},
                "placed_at": time("When the order was placed."),
                "shipped_at": time("When it was shipped; without carrier events, the parcel counts as collected then.")
            }
        },
        "Return": {
            "description": "The buyer's return parcel (退货退款).",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "destination": nullable("Destination", "The merchant's return address: the returned parcel meets the checks there."),
                "trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}, "description": "The return parcel's carrier events, in any order (oldest or newest first: of events at one instant that contradict each other, the last given in the trace's own direction decides)."},
                "trace_text": nullable("TraceText", "Instead of trace: the return parcel's trace as copied from a tracking page."),
                "countdown_started_at": time("When the platform's refund countdown started."),
                "countdown_ends_at": time("When the refund countdown ends; default: its start plus the rules' countdown.")
            },
            "not": not_both("trace", "trace_text")
        },
        "Shop": {
            "description": "The shop's own state.",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "open_refund_requests": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_OPEN_REQUESTS, "description": "The shop's open refund requests, for the ATOM surge hint."}
            }
        },
        "DecisionRequest": {
            "description": "One after-sales case. Unknown fields are refused (422), so that a misspelt field is never silently ignored.",
            "type": "object",
            "additionalProperties": false,
            "required": ["refund_type", "requested_at", "order", "destination"],
            "properties": decision_request,
            // Refused, so not admitted: both traces; a return on a refund-only case.
            "not": {"anyOf": [
                not_both("logistics_trace", "logistics_text"),
                {
                    "required": ["refund_type", "return"],
                    "properties": {"refund_type": {"const": "refund_only"}, "return": {"not": {"type": "null"}}}
                }
            ]},
            "if": {"properties": {"refund_type": {"const": "return_and_refund"}}, "required": ["refund_type"]},
            "then": {"required": ["return"], "properties": {"return": {"$ref": "#/components/schemas/Return"}}},
            "example": {
                "case_id": "AS-1003",
                "refund_type": "refund_only",
                "requested_at": "2023-10-11T09:00:00+08:00",
                "as_of": "2023-10-14T09:00:00+08:00",
                "order": {"order_id": "KS-1003"},
                "destination": {"address": "浙江省杭州市上城区解放路100号"},
                "logistics_trace": [
                    {"at": "2023-10-09T20:00:00+08:00", "status": "collected"},
                    {"at": "2023-10-10T14:00:00+08:00", "status": "in_transit"}
                ]
            }
        },
        "BatchRequest": {
            "description": "Many cases to decide in one call. Only `items` is taken.",
            "type": "object",
            "additionalProperties": false,
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "array",
                    "maxItems": 5000,
                    "description": "The requests, each as `POST /v1/decisions` takes it (up to the batch limit, default 5000). An invalid item gets its own problem in the results and never fails the others.",
                    "items": {"oneOf": [
                        {"$ref": "#/components/schemas/DecisionRequest"},
                        {"$ref": "#/components/schemas/KuaishouRefundRequest"}
                    ]}
                }
            }
        }
    })
}
