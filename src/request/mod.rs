//! From a request's JSON to a typed [`Case`], in one place ("parse, don't validate").
//! Every problem is reported at once, each with a JSON pointer and words a support
//! person understands; nothing here can panic on any input.

use serde_json::{Map, Value};

use crate::codes::{RefundType, Status, WarningCode};
use crate::engine::{Arg, Case, Event, Order, Place, Return, Warning};
use crate::geo::{DestinationInput, Gazetteer, PlaceIssue};
use crate::rules::Rules;
use crate::time::{self, Instant};

/// One problem with a request: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) into the request, e.g. `/logistics_trace/2/at`.
    pub pointer: String,
    pub message: String,
}

/// What parsing needs besides the request: where local times are, and the map.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    /// Local times are read in its time zone; carrier text with its phrase table.
    pub rules: &'a Rules,
    pub gazetteer: &'a Gazetteer,
}

/// A parsed request: the case, and the decision instant if the caller fixed one.
#[derive(Debug, Clone)]
pub struct ParsedRequest {
    pub case: Case,
    pub as_of: Option<Instant>,
}

/// Parses one decision request.
pub fn parse(value: &Value, ctx: ParseContext<'_>) -> Result<ParsedRequest, Vec<FieldError>> {
    let mut p = Parser {
        ctx,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    let parsed = p.request(value);
    match parsed {
        Some(r) if p.errors.is_empty() => Ok(r),
        _ => Err(p.errors),
    }
}

struct Parser<'a> {
    ctx: ParseContext<'a>,
    errors: Vec<FieldError>,
    /// Warnings about the input that do not stop the decision.
    notes: Vec<Warning>,
}

/// Reads `null` as absent, so callers may send explicit nulls for optional fields.
fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Parser<'_> {
    fn error(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    fn missing(&mut self, ptr: String, what: &str) {
        self.error(ptr, format!("is required: {what}"));
    }

    fn object<'v>(&mut self, v: &'v Value, ptr: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            other => {
                self.error(ptr, format!("must be an object, not {}", kind(other)));
                None
            }
        }
    }

    /// An optional string; `null` reads as absent.
    fn string(&mut self, obj: &Map<String, Value>, key: &str, ptr: &str) -> Option<String> {
        self.string_value(field(obj, key)?, &format!("{ptr}/{key}"))
    }

    /// An optional string that may not be `null` (its presence means something).
    fn present_string(&mut self, obj: &Map<String, Value>, key: &str, ptr: &str) -> Option<String> {
        self.string_value(obj.get(key)?, &format!("{ptr}/{key}"))
    }

    fn string_value(&mut self, v: &Value, pointer: &str) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                self.error(pointer, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    fn time(&mut self, obj: &Map<String, Value>, key: &str, ptr: &str) -> Option<Instant> {
        let pointer = format!("{ptr}/{key}");
        let parsed = match field(obj, key)? {
            Value::String(s) => {
                time::parse(s, self.ctx.rules.time_zone).map_err(|e| format!("`{s}` {e}"))
            }
            Value::Number(n) => match whole_number(n) {
                Some(ms) => time::from_epoch_millis(ms).map_err(|e| format!("{n} {e}")),
                None => Err(format!("{n} is not whole epoch milliseconds")),
            },
            other => Err(format!(
                "must be a time (RFC 3339 string, local time string or epoch milliseconds), not {}",
                kind(other)
            )),
        };
        parsed.map_err(|m| self.error(pointer, m)).ok()
    }

    fn request(&mut self, v: &Value) -> Option<ParsedRequest> {
        let obj = self.object(v, "")?;
        let case_id = self.string(obj, "case_id", "");
        let refund_type = match field(obj, "refund_type") {
            None => {
                self.missing("/refund_type".into(), "refund_only (仅退款) or return_and_refund (退货退款)");
                None
            }
            Some(Value::String(s)) => RefundType::parse(s).or_else(|| {
                self.error("/refund_type", format!("`{s}` is not a refund type: use refund_only (仅退款) or return_and_refund (退货退款)"));
                None
            }),
            Some(other) => {
                self.error("/refund_type", format!("must be a string, not {}", kind(other)));
                None
            }
        };
        let requested_at = self.time(obj, "requested_at", "");
        if requested_at.is_none() && field(obj, "requested_at").is_none() {
            self.missing(
                "/requested_at".into(),
                "when the buyer filed the after-sales request",
            );
        }
        let as_of = self.time(obj, "as_of", "");
        let order = match field(obj, "order") {
            Some(o) => self.order(o),
            None => {
                self.missing("/order".into(), "the order, with at least its order_id");
                None
            }
        };
        let destination = match field(obj, "destination") {
            Some(d) => self.place(d, "/destination"),
            None => {
                self.missing(
                    "/destination".into(),
                    "the buyer's address (adcode, province/city/district or address)",
                );
                None
            }
        };
        let trace = self.trace(obj, "logistics_trace", "");
        let return_ = match (refund_type, field(obj, "return")) {
            (_, Some(r)) => self.return_(r),
            (Some(RefundType::ReturnAndRefund), None) => {
                self.missing(
                    "/return".into(),
                    "a return_and_refund case needs the return parcel (its trace and countdown)",
                );
                None
            }
            _ => None,
        };
        let open_refund_requests = self.shop(obj);
        Some(ParsedRequest {
            case: Case {
                case_id,
                refund_type: refund_type?,
                requested_at: requested_at?,
                order: order?,
                destination: destination?,
                trace: trace.unwrap_or_default(),
                return_,
                open_refund_requests,
                notes: std::mem::take(&mut self.notes),
            },
            as_of,
        })
    }

    fn order(&mut self, v: &Value) -> Option<Order> {
        let obj = self.object(v, "/order")?;
        let order_id = self.string(obj, "order_id", "/order");
        match &order_id {
            None if field(obj, "order_id").is_none() => {
                self.missing("/order/order_id".into(), "the shop's order id")
            }
            Some(id) if id.is_empty() => self.error("/order/order_id", "must not be empty"),
            _ => {}
        }
        let placed_at = self.time(obj, "placed_at", "/order");
        let shipped_at = self.time(obj, "shipped_at", "/order");
        Some(Order {
            order_id: order_id?,
            placed_at,
            shipped_at,
        })
    }

    fn place(&mut self, v: &Value, ptr: &str) -> Option<Place> {
        let obj = self.object(v, ptr)?;
        let errors_before = self.errors.len();
        let adcode = match obj.get("adcode") {
            None => None,
            Some(Value::String(s)) if is_adcode(s) => Some(s.clone()),
            Some(Value::Number(n))
                if whole_number(n).is_some_and(|c| (100_000..=999_999).contains(&c)) =>
            {
                whole_number(n).map(|c| c.to_string())
            }
            Some(other) => {
                let shown = match other {
                    Value::String(s) => format!("`{s}`"),
                    v => v.to_string(),
                };
                self.error(format!("{ptr}/adcode"), format!("{shown} is not an adcode: use the 6-digit GB/T 2260 code, like 330108 for 杭州市滨江区"));
                None
            }
        };
        let input = DestinationInput {
            adcode,
            province: self.present_string(obj, "province", ptr),
            city: self.present_string(obj, "city", ptr),
            district: self.present_string(obj, "district", ptr),
            address: self.present_string(obj, "address", ptr),
        };
        if self.errors.len() > errors_before {
            return None;
        }
        if !DESTINATION_FIELDS.iter().any(|f| obj.contains_key(*f)) {
            self.error(
                ptr,
                "needs at least one of adcode, province, city, district or address",
            );
            return None;
        }
        let resolution = self.ctx.gazetteer.resolve(&input);
        let notes = resolution.issues.into_iter().map(place_warning).collect();
        Some(Place {
            area: resolution.area,
            label: resolution.area.map(|a| self.ctx.gazetteer.describe(a)),
            notes,
        })
    }

    fn trace(&mut self, obj: &Map<String, Value>, key: &str, ptr: &str) -> Option<Vec<Event>> {
        let pointer = format!("{ptr}/{key}");
        let items = match field(obj, key)? {
            Value::Array(items) => items,
            other => {
                self.error(
                    pointer,
                    format!("must be an array of carrier events, not {}", kind(other)),
                );
                return None;
            }
        };
        let mut events = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Some(e) = self.event(item, &format!("{pointer}/{i}")) {
                events.push(e);
            }
        }
        Some(events)
    }

    fn event(&mut self, v: &Value, ptr: &str) -> Option<Event> {
        let obj = self.object(v, ptr)?;
        let at = self.time(obj, "at", ptr);
        if at.is_none() && field(obj, "at").is_none() {
            self.missing(format!("{ptr}/at"), "when the carrier recorded the event");
        }
        let description = self.present_string(obj, "description", ptr);
        // `location` is accepted and kept out of the decision.
        let _ = self.string(obj, "location", ptr);
        // A status wins over the description; a provider code is read from its table,
        // carrier text from the rules' phrase table. The raw value is kept for the
        // explanation.
        let (status, raw) = match obj.get("status") {
            Some(Value::String(s)) => self.status(s, &format!("{ptr}/status"))?,
            Some(other) => {
                self.error(
                    format!("{ptr}/status"),
                    format!("must be a string, not {}", kind(other)),
                );
                return None;
            }
            None => match &description {
                Some(text) => match self.ctx.rules.read_description(text) {
                    Some(status) => (status, Some(text.clone())),
                    None => {
                        self.notes.push(Warning {
                            code: WarningCode::UnrecognizedDescription,
                            args: vec![
                                ("pointer", Arg::Text(ptr.to_owned())),
                                ("description", Arg::Text(text.clone())),
                            ],
                        });
                        (Status::InTransit, Some(text.clone()))
                    }
                },
                None if obj.contains_key("description") => return None,
                None => {
                    self.error(ptr, "needs a status (like in_transit or kuaidi100:3) or the carrier's description to read one from");
                    return None;
                }
            },
        };
        Some(Event {
            at: at?,
            status,
            pointer: ptr.to_owned(),
            raw,
        })
    }

    /// A normalized status (`in_transit`) or a provider's code (`kuaidi100:14`).
    fn status(&mut self, s: &str, pointer: &str) -> Option<(Status, Option<String>)> {
        if let Some(st) = Status::parse(s) {
            return Some((st, None));
        }
        if let Some((scheme, code)) = s.split_once(':') {
            return match crate::carriers::lookup(scheme, code) {
                Ok(p) => Some((p.status, Some(format!("{s} {}", p.meaning)))),
                Err(e) => {
                    self.error(pointer, e.to_string());
                    None
                }
            };
        }
        let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        self.error(
            pointer,
            format!(
                "`{s}` is not a carrier status: use one of {}, or a provider code like kuaidi100:3",
                known.join(", ")
            ),
        );
        None
    }

    fn return_(&mut self, v: &Value) -> Option<Return> {
        let obj = self.object(v, "/return")?;
        let destination = match field(obj, "destination") {
            Some(d) => Some(self.place(d, "/return/destination")?),
            None => None,
        };
        let trace = self.trace(obj, "trace", "/return").unwrap_or_default();
        let countdown_started_at = self.time(obj, "countdown_started_at", "/return");
        let countdown_ends_at = self.time(obj, "countdown_ends_at", "/return");
        if let (Some(s), Some(e)) = (countdown_started_at, countdown_ends_at)
            && e <= s
        {
            // The platform's end time is what binds; the caller hears of the clash.
            self.notes.push(Warning {
                code: WarningCode::CountdownInconsistent,
                args: vec![("started_at", Arg::Time(s)), ("ends_at", Arg::Time(e))],
            });
        }
        Some(Return {
            destination,
            trace,
            countdown_started_at,
            countdown_ends_at,
        })
    }

    fn shop(&mut self, obj: &Map<String, Value>) -> Option<u64> {
        let shop = self.object(field(obj, "shop")?, "/shop")?;
        let v = field(shop, "open_refund_requests")?;
        let n = match v {
            Value::Number(n) => whole_number(n)
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| *n <= MAX_OPEN_REQUESTS),
            _ => None,
        };
        if n.is_none() {
            self.error(
                "/shop/open_refund_requests",
                format!("must be a whole number from 0 to {MAX_OPEN_REQUESTS}, not {v}"),
            );
        }
        n
    }
}

/// The largest backlog accepted for the surge hint.
pub const MAX_OPEN_REQUESTS: u64 = 1_000_000_000;

const DESTINATION_FIELDS: [&str; 5] = ["adcode", "province", "city", "district", "address"];

/// `^[1-9][0-9]{5}$`, exactly (the schema's pattern).
pub(crate) fn is_adcode(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0')
}

/// An integer, also when written with a zero fraction (`1.0`), as JSON Schema counts it.
pub(crate) fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // The cast is exact: `f` is whole and inside i64's range.
        (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
    })
}

/// A destination issue as the warning the caller sees.
pub fn place_warning(issue: PlaceIssue) -> Warning {
    match issue {
        PlaceIssue::Mismatch {
            adcode,
            adcode_place,
            named_place,
        } => Warning {
            code: WarningCode::DestinationMismatch,
            args: vec![
                ("adcode", Arg::Text(adcode)),
                ("adcode_place", Arg::Text(adcode_place)),
                ("named_place", Arg::Text(named_place)),
            ],
        },
        PlaceIssue::Unresolved { text } => Warning {
            code: WarningCode::DestinationUnresolved,
            args: vec![("text", Arg::Text(text))],
        },
        PlaceIssue::Ambiguous { text, candidates } => Warning {
            code: WarningCode::DestinationAmbiguous,
            args: vec![
                ("text", Arg::Text(text)),
                ("candidates", Arg::Text(candidates.join("、"))),
            ],
        },
        PlaceIssue::UnknownAdcode { adcode } => Warning {
            code: WarningCode::UnknownAdcode,
            args: vec![("adcode", Arg::Text(adcode))],
        },
    }
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
            "description": "An instant: RFC 3339 with an offset or Z (2023-10-11T09:00:00+08:00); a local time without offset (2023-10-11 09:00:00 or 2023-10-11T09:00), read in the policy's time zone; or Unix epoch milliseconds.",
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
        "Order": {
            "type": "object",
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
            "properties": {
                "destination": {"anyOf": [{"$ref": "#/components/schemas/Destination"}, {"type": "null"}], "description": "The merchant's return address: the returned parcel meets the checks there."},
                "trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}},
                "countdown_started_at": nullable("Time"),
                "countdown_ends_at": nullable("Time")
            }
        },
        "Shop": {
            "type": "object",
            "properties": {
                "open_refund_requests": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_OPEN_REQUESTS, "description": "The shop's open refund requests, for the ATOM surge hint."}
            }
        },
        "DecisionRequest": {
            "description": "One after-sales case.",
            "type": "object",
            "required": ["refund_type", "requested_at", "order", "destination"],
            "properties": {
                "case_id": {"type": ["string", "null"], "description": "The shop's case id, echoed back."},
                "refund_type": {"type": "string", "enum": ["refund_only", "return_and_refund"], "description": "仅退款 or 退货退款."},
                "requested_at": {"$ref": "#/components/schemas/Time"},
                "as_of": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}], "description": "The instant to decide at; default: the server's clock."},
                "order": {"$ref": "#/components/schemas/Order"},
                "destination": {"$ref": "#/components/schemas/Destination"},
                "logistics_trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}, "description": "The forward shipment's events."},
                "return": nullable("Return"),
                "shop": nullable("Shop")
            },
            "not": {"required": ["kuaishou_refund"]},
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
