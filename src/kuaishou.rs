//! The Kuaishou open platform's refund detail (快手开放平台 售后单详情) as an alternative
//! request body: `{"kuaishou_refund": {...}, "destination": {...}, ...}`. It is mapped
//! onto the contract's fields before parsing, so it decides exactly as its clean
//! equivalent. The platform's values win over `case_id`, `refund_type`, `requested_at`
//! and `order.order_id` sent beside them.
//!
//! | platform field | contract field |
//! | --- | --- |
//! | `refundId` | `case_id` |
//! | `oid` (or `orderId`) | `order.order_id` |
//! | `handlingWay`: 1 退货退款, 10 仅退款 | `refund_type`: `return_and_refund`, `refund_only` |
//! | `submitTime` (epoch ms) | `requested_at` |
//! | `expireTime` (epoch ms, the refund timeout) | `return.countdown_ends_at`, unless the body gives one |
//! | `receiptStatus`: 2 (buyer has the goods) | a `delivered` event at `submitTime`, unless the trace already shows one |
//! | `expressNo` (the return waybill) | a warning when `return.trace` is missing |

use serde_json::{Map, Value, json};

use crate::request::FieldError;

/// The key that marks a Kuaishou body.
pub const KEY: &str = "kuaishou_refund";

/// `handlingWay` values and the refund types they are.
const HANDLING_WAYS: [(i64, &str); 2] = [(1, "return_and_refund"), (10, "refund_only")];

/// What the mapping adds besides fields: the return waybill, when its trace is missing.
#[derive(Debug, Default)]
pub struct Mapped {
    pub request: Value,
    pub waybill_without_trace: Option<String>,
}

/// A whole JSON number (`2` or `2.0`, as JSON Schema counts integers).
fn whole(v: &Value) -> Option<i64> {
    v.as_number().and_then(crate::request::whole_number)
}

/// An id: a whole number of at least 0, or a non-empty string.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()).or_else(|| {
            let f = n.as_f64()?;
            // A whole float inside u64's range is that integer, as JSON Schema reads it.
            (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_615.0).contains(&f))
                .then(|| format!("{}", f as u64))
        }),
        _ => None,
    }
}

/// Epoch milliseconds: a whole number, or a string of digits without leading zeros.
fn millis(v: &Value) -> Option<i64> {
    let ms = match v {
        Value::String(s)
            if s == "0"
                || (s.len() <= 14
                    && !s.starts_with('0')
                    && s.bytes().all(|b| b.is_ascii_digit())) =>
        {
            s.parse().ok()
        }
        Value::Number(_) => whole(v),
        _ => None,
    }?;
    crate::time::from_epoch_millis(ms).ok().map(|_| ms)
}

/// Maps a Kuaishou body onto the contract; other bodies pass through untouched.
pub fn map(body: &Value) -> Result<Mapped, Vec<FieldError>> {
    let Some(refund) = body.get(KEY) else {
        return Ok(Mapped {
            request: body.clone(),
            waybill_without_trace: None,
        });
    };
    let Value::Object(r) = refund else {
        return Err(vec![FieldError {
            pointer: format!("/{KEY}"),
            message:
                "must be an object: the refund detail as the Kuaishou open platform returns it"
                    .into(),
        }]);
    };
    let mut errors = Vec::new();
    let mut err = |field: &str, message: String| {
        errors.push(FieldError {
            pointer: format!("/{KEY}/{field}"),
            message,
        })
    };
    let get = |k: &str| r.get(k);

    let order_id = match get("oid") {
        None => {
            err(
                "oid",
                "is required: the order id, a number or a string".into(),
            );
            None
        }
        Some(v) => id_text(v).or_else(|| {
            err(
                "oid",
                format!("{v} is not an order id: a whole number or a non-empty string"),
            );
            None
        }),
    };
    let case_id = match get("refundId") {
        None => None,
        Some(v) => id_text(v).or_else(|| {
            err(
                "refundId",
                format!("{v} is not a refund id: a whole number or a non-empty string"),
            );
            None
        }),
    };
    let refund_type = match get("handlingWay") {
        None => {
            err(
                "handlingWay",
                "is required: 1 (退货退款, return and refund) or 10 (仅退款, refund only)".into(),
            );
            None
        }
        Some(v) => {
            let way = match v {
                Value::String(s) if s == "1" || s == "10" => s.parse().ok(),
                Value::Number(_) => whole(v),
                _ => None,
            };
            match way.and_then(|w| HANDLING_WAYS.iter().find(|(n, _)| *n == w)) {
                Some((_, t)) => Some(*t),
                None => {
                    err(
                        "handlingWay",
                        format!(
                            "{v} is not a refund this service decides: 1 (退货退款) or 10 (仅退款); exchanges and re-sends follow the standard process"
                        ),
                    );
                    None
                }
            }
        }
    };
    let submit = match get("submitTime") {
        None => {
            err(
                "submitTime",
                "is required: when the buyer filed the request, in epoch milliseconds".into(),
            );
            None
        }
        Some(v) => millis(v).or_else(|| {
            err(
                "submitTime",
                format!("{v} is not epoch milliseconds between 1970 and 9999"),
            );
            None
        }),
    };
    let expire = match get("expireTime") {
        None | Some(Value::Null) => None,
        Some(v) => millis(v).or_else(|| {
            err(
                "expireTime",
                format!("{v} is not epoch milliseconds between 1970 and 9999"),
            );
            None
        }),
    };
    let received = match get("receiptStatus") {
        None | Some(Value::Null) => false,
        Some(v) => match whole(v) {
            Some(2) => true,
            Some(0 | 1) => false,
            _ => {
                err(
                    "receiptStatus",
                    format!(
                        "{v} is not a receipt status: 0 (unknown), 1 (not received) or 2 (received)"
                    ),
                );
                false
            }
        },
    };
    let waybill = match get("expressNo") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            err(
                "expressNo",
                format!("must be a string (the return waybill), not {other}"),
            );
            None
        }
    };
    for key in ["order", "return"] {
        if let Some(v) = body.get(key)
            && !(v.is_object() || v.is_null())
        {
            errors.push(FieldError {
                pointer: format!("/{key}"),
                message: format!("must be an object, not {v}"),
            });
        }
    }
    let (Some(order_id), Some(refund_type), Some(submit), true) =
        (order_id, refund_type, submit, errors.is_empty())
    else {
        return Err(errors);
    };

    let mut out: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    out.remove(KEY);
    out.insert("refund_type".into(), json!(refund_type));
    out.insert("requested_at".into(), json!(submit));
    match case_id {
        Some(id) => out.insert("case_id".into(), json!(id)),
        None => out.remove("case_id"),
    };
    let mut order = out
        .get("order")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    order.insert("order_id".into(), json!(order_id));
    out.insert("order".into(), Value::Object(order));
    if received {
        let trace = out.entry("logistics_trace").or_insert_with(|| json!([]));
        if trace.is_null() {
            *trace = json!([]);
        }
        if let Some(events) = trace.as_array_mut()
            && !events
                .iter()
                .any(|e| e.get("status").and_then(Value::as_str) == Some("delivered"))
        {
            events.push(json!({"at": submit, "status": "delivered", "description": "快手售后单：买家已收到货 (receiptStatus 2)"}));
        }
    }
    let mut waybill_without_trace = None;
    if refund_type == "return_and_refund" {
        let mut ret = out
            .get("return")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // A countdown end sent in the body stays (and is validated as any other).
        if let Some(ms) = expire
            && ret.get("countdown_ends_at").is_none_or(Value::is_null)
        {
            ret.insert("countdown_ends_at".into(), json!(ms));
        }
        let has_trace = ret
            .get("trace")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        if !has_trace {
            waybill_without_trace = waybill;
        }
        out.insert("return".into(), Value::Object(ret));
    }
    Ok(Mapped {
        request: Value::Object(out),
        waybill_without_trace,
    })
}

/// The JSON Schemas of the Kuaishou body.
pub fn json_schemas() -> Value {
    let id = json!({"anyOf": [{"type": "integer", "minimum": 0, "maximum": u64::MAX}, {"type": "string", "minLength": 1}]});
    let ms = json!({"anyOf": [
        {"type": "integer", "minimum": crate::time::EPOCH_MS_MIN, "maximum": crate::time::EPOCH_MS_MAX},
        {"type": "string", "pattern": "^(?:0|[1-9][0-9]{0,13})$"}
    ]});
    json!({
        "KuaishouRefund": {
            "description": "The refund detail as the Kuaishou open platform returns it (camelCase); other fields are ignored.",
            "type": "object",
            "required": ["oid", "handlingWay", "submitTime"],
            "properties": {
                "refundId": id,
                "oid": id,
                "handlingWay": {"description": "1 退货退款 (return and refund), 10 仅退款 (refund only).", "enum": [1, 10, "1", "10"]},
                "submitTime": ms,
                "expireTime": {"description": "The refund timeout: the countdown's end.", "anyOf": [ms, {"type": "null"}]},
                "receiptStatus": {"description": "0 unknown, 1 not received, 2 the buyer has the goods.", "enum": [0, 1, 2, null]},
                "expressNo": {"description": "The return waybill.", "type": ["string", "null"]}
            }
        },
        "KuaishouRefundRequest": {
            "description": "A case as the Kuaishou open platform describes it, with the destination and traces the platform's refund detail lacks. The platform's values win over case_id, refund_type, requested_at and order.order_id sent beside them; expireTime fills return.countdown_ends_at unless the body gives one.",
            "type": "object",
            "required": ["kuaishou_refund", "destination"],
            "properties": {
                "kuaishou_refund": {"$ref": "#/components/schemas/KuaishouRefund"},
                "as_of": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]},
                "order": {"type": ["object", "null"], "properties": {
                    "placed_at": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]},
                    "shipped_at": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]}
                }},
                "destination": {"$ref": "#/components/schemas/Destination"},
                "logistics_trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}},
                "return": {"anyOf": [{"$ref": "#/components/schemas/Return"}, {"type": "null"}]},
                "shop": {"anyOf": [{"$ref": "#/components/schemas/Shop"}, {"type": "null"}]}
            }
        }
    })
}
