//! The JSON Schemas of a request, kept beside the parser because they must say exactly
//! what it accepts.

use serde_json::Value;

use super::{MAX_OPEN_REQUESTS, TRACE_TEXT_PATTERN};
use crate::codes::Status;
use crate::time;

/// The schema of an object where `a` and `b` are not both given (non-null).
pub(crate) fn not_both(a: &str, b: &str) -> Value {
    serde_json::json!({
        "required": [a, b],
        "properties": {a: {"not": {"type": "null"}}, b: {"not": {"type": "null"}}}
    })
}

/// The JSON Schemas (2020-12) of a request, keyed by component name. Written beside the
/// parser because they must say exactly what it accepts: schemathesis checks both
/// directions in CI (schema-valid input is decided, schema-invalid input is refused).
pub fn json_schemas() -> Value {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let nullable = |r: &str| serde_json::json!({"anyOf": [{"$ref": format!("#/components/schemas/{r}")}, {"type": "null"}]});
    let place_fields = ["adcode", "province", "city", "district", "address"];
    serde_json::json!({
        "Time": {
            "description": "An instant from 1970-01-01T00:00:00Z to 9999-12-30T23:59:59.999Z: RFC 3339 with an offset or Z (2023-10-11T09:00:00+08:00; T and Z in either case); a local time without offset (2023-10-11 09:00:00 or 2023-10-11T09:00), read in the policy's time zone; or Unix epoch milliseconds. On 1970-01-01 and 9999-12-30 only UTC strings (Z or +00:00) are accepted.",
            "anyOf": [
                {"type": "string", "pattern": time::TIME_PATTERN},
                {"type": "integer", "minimum": time::EPOCH_MS_MIN, "maximum": time::EPOCH_MS_MAX}
            ],
            "examples": ["2023-10-11T09:00:00+08:00", "2023-10-11 09:00:00", 1696986000000i64]
        },
        "CarrierStatus": {
            "description": "A normalized carrier status (policy.md §8), or a tracking provider's code written `scheme:code` (kuaidi100, cainiao, taobao; data/carriers/codes.csv).",
            "type": "string",
            "enum": statuses.iter().map(|s| s.to_string()).chain(crate::carriers::all_codes().iter().cloned()).collect::<Vec<_>>()
        },
        "CarrierEvent": {
            "description": "One event of a carrier's trace. Needs a status, or the carrier's description to read one from.",
            "type": "object",
            "additionalProperties": false,
            "required": ["at"],
            "properties": {
                "at": {"$ref": "#/components/schemas/Time"},
                "status": {"$ref": "#/components/schemas/CarrierStatus"},
                "description": {"type": "string", "description": "The carrier's raw trace text."},
                "location": {"type": ["string", "null"]}
            },
            "anyOf": [{"required": ["status"]}, {"required": ["description"]}]
        },
        "Destination": {
            "description": "An address: any of an adcode, structured names, or free text (read province → city → district). When the adcode and the names disagree, the adcode wins and the response warns.",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "adcode": {
                    "description": "6-digit GB/T 2260 code, e.g. 330108 (杭州市滨江区).",
                    "anyOf": [
                        {"type": "string", "pattern": "^[1-9][0-9]{5}$"},
                        {"type": "integer", "minimum": 100_000, "maximum": 999_999}
                    ]
                },
                "province": {"type": "string", "examples": ["浙江省"]},
                "city": {"type": "string", "examples": ["杭州市"]},
                "district": {"type": "string", "examples": ["上城区"]},
                "address": {"type": "string", "examples": ["浙江省杭州市上城区解放路100号"]}
            },
            "anyOf": place_fields.iter().map(|f| serde_json::json!({"required": [f]})).collect::<Vec<_>>()
        },
        "TraceText": {
            "description": "A carrier's trace as a person copies it from a tracking page: one event a line, its local time first (in the policy's time zone, with or without seconds; a date from 1970-01-02 to 9999-12-29), then spaces or a tab and the carrier's text, read as an event's description is. Newest or oldest first; blank lines anywhere.",
            "type": "string",
            "pattern": TRACE_TEXT_PATTERN,
            "examples": ["2023-10-10 14:00:00 【杭州市】快件已到达 杭州转运中心\n2023-10-09 20:00:00 【义乌市】圆通速递 已揽收"]
        },
        "Order": {
            "type": "object",
            "additionalProperties": false,
            "required": ["order_id"],
            "properties": {
                "order_id": {"type": "string", "minLength": 1},
                "placed_at": nullable("Time"),
                "shipped_at": nullable("Time")
            }
        },
        "Return": {
            "description": "The buyer's return parcel (退货退款).",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "destination": {"anyOf": [{"$ref": "#/components/schemas/Destination"}, {"type": "null"}], "description": "The merchant's return address: the returned parcel meets the checks there."},
                "trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}},
                "trace_text": {"anyOf": [{"$ref": "#/components/schemas/TraceText"}, {"type": "null"}], "description": "Instead of trace: the return parcel's trace as copied from a tracking page."},
                "countdown_started_at": nullable("Time"),
                "countdown_ends_at": nullable("Time")
            },
            "not": not_both("trace", "trace_text")
        },
        "Shop": {
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
            "properties": {
                "case_id": {"type": ["string", "null"], "description": "The shop's case id, echoed back."},
                "refund_type": {"type": "string", "enum": ["refund_only", "return_and_refund"], "description": "仅退款 or 退货退款."},
                "requested_at": {"$ref": "#/components/schemas/Time"},
                "as_of": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}], "description": "The instant to decide at; default: the server's clock."},
                "order": {"$ref": "#/components/schemas/Order"},
                "destination": {"$ref": "#/components/schemas/Destination"},
                "logistics_trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}, "description": "The forward shipment's events."},
                "logistics_text": {"anyOf": [{"$ref": "#/components/schemas/TraceText"}, {"type": "null"}], "description": "Instead of logistics_trace: the forward shipment's trace as copied from a tracking page."},
                "return": nullable("Return"),
                "shop": nullable("Shop")
            },
            "not": not_both("logistics_trace", "logistics_text"),
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
            "type": "object",
            "required": ["items"],
            "properties": {
                "items": {
                    "type": "array",
                    "maxItems": 5000,
                    "description": "Decision requests (see DecisionRequest). An invalid item gets its own problem in the results and never fails the others.",
                    "items": {}
                }
            }
        }
    })
}
