//! The Kuaishou open platform's refund detail (快手开放平台 售后单详情) as an alternative
//! request body: `{"kuaishou_refund": {...}, "destination": {...}, ...}`, with the
//! order detail beside it as `kuaishou_order` if the caller has it. Its values stand for
//! the contract's fields (read by `request::parse` with the rest of the body), so it
//! decides exactly as its clean equivalent. The platform's values win over `case_id`,
//! `refund_type`, `requested_at` and `order.order_id` sent beside them. Both details
//! mirror the platform: fields not read here are accepted and ignored.
//!
//! | platform field | contract field |
//! | --- | --- |
//! | `refundId` | `case_id` |
//! | `oid` | `order.order_id` |
//! | `handlingWay`: 1 退货退款, 10 仅退款 | `refund_type`: `return_and_refund`, `refund_only` |
//! | `submitTime` (epoch ms) | `requested_at` |
//! | `expireTime` (epoch ms, the refund timeout) | `return.countdown_ends_at`, unless the body gives one |
//! | `receiptStatus`: 2 (buyer has the goods) | a `delivered` event at `submitTime`, unless the trace already shows one |
//! | `expressNo` (the return waybill) | a warning when `return.trace` is missing |

use serde_json::{Value, json};

use crate::codes::{RefundType, Status};
use crate::engine::Event;
use crate::request::FieldError;
use crate::request::json::{Json, Shaped, json_object};
use crate::time::{self, Instant};

/// The key that marks a Kuaishou body.
pub const KEY: &str = "kuaishou_refund";

json_object! {
    /// The refund detail (`open.seller.order.refund.detail`) as the platform returns it.
    /// It mirrors the platform, so fields it does not read are accepted and ignored
    /// (a duplicated key is still refused). To read another field, add it here and map
    /// it in [`read`].
    pub struct RefundDetail<'de> {
        refund_id: Json<'de> = "refundId",
        oid: Json<'de> = "oid",
        handling_way: Json<'de> = "handlingWay",
        submit_time: Json<'de> = "submitTime",
        expire_time: Json<'de> = "expireTime",
        receipt_status: Json<'de> = "receiptStatus",
        express_no: Json<'de> = "expressNo",
    }
}

json_object! {
    /// The order detail (`kuaishou_order`), as the platform returns it: accepted beside
    /// the refund detail, none of its fields read yet (all are ignored, as in
    /// [`RefundDetail`]).
    pub struct OrderDetail<'de> {}
}

/// `handlingWay` values and the refund types they are.
const HANDLING_WAYS: [(i64, RefundType); 2] = [
    (1, RefundType::ReturnAndRefund),
    (10, RefundType::RefundOnly),
];

/// The contract's values the platform's detail gives.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// `refundId`: the case id (none without it, whatever the body says).
    pub case_id: Option<String>,
    pub order_id: String,
    pub refund_type: RefundType,
    /// `submitTime`: the request's time.
    pub submitted_at: Instant,
    /// `expireTime`: the return countdown's end, unless the body gives one.
    pub expires_at: Option<Instant>,
    /// `receiptStatus` 2: the buyer has the goods.
    pub received: bool,
    /// `expressNo`: the return waybill.
    pub waybill: Option<String>,
}

/// A whole JSON number (`2` or `2.0`, as JSON Schema counts integers).
fn whole(v: &Json<'_>) -> Option<i64> {
    match v {
        Json::Number(n) => crate::request::whole_number(n),
        _ => None,
    }
}

/// An id: a whole number of at least 0, or a non-empty string.
fn id_text(v: &Json<'_>) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s.as_ref().to_owned()),
        Json::Number(n) => n.as_u64().map(|n| n.to_string()).or_else(|| {
            let f = n.as_f64()?;
            // A whole float inside u64's range is that integer, as JSON Schema reads it.
            (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_615.0).contains(&f))
                .then(|| format!("{}", f as u64))
        }),
        _ => None,
    }
}

/// Epoch milliseconds: a whole number, or a string of digits without leading zeros.
fn millis(v: &Json<'_>) -> Option<Instant> {
    let ms = match v {
        Json::String(s)
            if s == "0"
                || (s.len() <= 14
                    && !s.starts_with('0')
                    && s.bytes().all(|b| b.is_ascii_digit())) =>
        {
            s.parse().ok()
        }
        Json::Number(_) => whole(v),
        _ => None,
    }?;
    time::from_epoch_millis(ms).ok()
}

/// Reads the platform's detail (and checks the order detail beside it); every problem
/// goes to `errors`, and `None` means there was one.
pub(crate) fn read(
    detail: &Shaped<'_, RefundDetail<'_>>,
    order: &Option<Shaped<'_, OrderDetail<'_>>>,
    errors: &mut Vec<FieldError>,
) -> Option<Mapped> {
    let errors_before = errors.len();
    if let Some(Shaped::Other(other)) = order
        && !other.is_null()
    {
        errors.push(FieldError::new(
            "/kuaishou_order",
            format!(
                "must be an object: the order detail as the Kuaishou open platform returns it, not {}",
                other.kind()
            ),
        ));
    }
    let Shaped::Expected(r) = detail else {
        errors.push(FieldError::new(
            format!("/{KEY}"),
            "must be an object: the refund detail as the Kuaishou open platform returns it",
        ));
        return None;
    };
    let mut err = |field: &str, message: String| {
        errors.push(FieldError::new(format!("/{KEY}/{field}"), message))
    };

    let order_id = match &r.oid {
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
    let case_id = match &r.refund_id {
        None => None,
        Some(v) => id_text(v).or_else(|| {
            err(
                "refundId",
                format!("{v} is not a refund id: a whole number or a non-empty string"),
            );
            None
        }),
    };
    let refund_type = match &r.handling_way {
        None => {
            err(
                "handlingWay",
                "is required: 1 (退货退款, return and refund) or 10 (仅退款, refund only)".into(),
            );
            None
        }
        Some(v) => {
            let way = match v {
                Json::String(s) if s == "1" || s == "10" => s.parse().ok(),
                Json::Number(_) => whole(v),
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
    let submitted_at = match &r.submit_time {
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
                format!("{v} is not epoch milliseconds between 1970 and 9999-12-30"),
            );
            None
        }),
    };
    let expires_at = match &r.expire_time {
        None | Some(Json::Null) => None,
        Some(v) => millis(v).or_else(|| {
            err(
                "expireTime",
                format!("{v} is not epoch milliseconds between 1970 and 9999-12-30"),
            );
            None
        }),
    };
    let received = match &r.receipt_status {
        None | Some(Json::Null) => false,
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
    let waybill = match &r.express_no {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.as_ref().to_owned()),
        Some(other) => {
            err(
                "expressNo",
                format!("must be a string (the return waybill), not {other}"),
            );
            None
        }
    };
    if errors.len() > errors_before {
        return None;
    }
    Some(Mapped {
        case_id,
        order_id: order_id?,
        refund_type: refund_type?,
        submitted_at: submitted_at?,
        expires_at,
        received,
        waybill,
    })
}

/// `receiptStatus` 2: a `delivered` event at `submitTime`, unless the trace already has
/// an event whose status is `delivered` (as written, not read from text or a provider
/// code). `from_text`: the trace came as `logistics_text`.
pub(crate) fn add_receipt(mapped: &Mapped, events: &mut Vec<Event>, from_text: bool) {
    let has_delivered = events
        .iter()
        .any(|e| e.status == Status::Delivered && e.raw.is_none());
    if !mapped.received || has_delivered {
        return;
    }
    let pointer = if from_text {
        format!("/{KEY}/receiptStatus")
    } else {
        // Where it would sit in the body's array.
        format!("/logistics_trace/{}", events.len())
    };
    events.push(Event {
        at: mapped.submitted_at,
        status: Status::Delivered,
        pointer,
        raw: None,
    });
}

/// The JSON Schemas of the Kuaishou body.
pub fn json_schemas() -> Value {
    let id = json!({"anyOf": [{"type": "integer", "minimum": 0, "maximum": u64::MAX}, {"type": "string", "minLength": 1}]});
    let ms = json!({"anyOf": [
        {"type": "integer", "minimum": crate::time::EPOCH_MS_MIN, "maximum": crate::time::EPOCH_MS_MAX},
        {"type": "string", "pattern": "^(?:0|[1-9][0-9]{0,13})$"}
    ]});
    let ignored = json!({"description": "Ignored: the platform's value wins."});
    json!({
        "KuaishouRefund": {
            "description": "The refund detail as the Kuaishou open platform returns it (camelCase); other fields are accepted and ignored (a duplicated key is still refused).",
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
        "KuaishouOrder": {
            "description": "The order detail as the Kuaishou open platform returns it (camelCase), accepted beside kuaishou_refund; none of its fields is read yet, all are accepted (a duplicated key is still refused).",
            "type": "object"
        },
        "KuaishouRefundRequest": {
            "description": "A case as the Kuaishou open platform describes it, with the destination and traces the platform's refund detail lacks. The platform's values win over case_id, refund_type, requested_at and order.order_id sent beside them; expireTime fills return.countdown_ends_at unless the body gives one. Other unknown fields are refused (422).",
            "type": "object",
            "additionalProperties": false,
            "required": ["kuaishou_refund", "destination"],
            "properties": {
                "kuaishou_refund": {"$ref": "#/components/schemas/KuaishouRefund"},
                "kuaishou_order": {"anyOf": [{"$ref": "#/components/schemas/KuaishouOrder"}, {"type": "null"}]},
                "case_id": ignored,
                "refund_type": ignored,
                "requested_at": ignored,
                "as_of": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]},
                "order": {"type": ["object", "null"], "additionalProperties": false, "properties": {
                    "order_id": ignored,
                    "placed_at": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]},
                    "shipped_at": {"anyOf": [{"$ref": "#/components/schemas/Time"}, {"type": "null"}]}
                }},
                "destination": {"$ref": "#/components/schemas/Destination"},
                "logistics_trace": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CarrierEvent"}},
                "logistics_text": {"anyOf": [{"$ref": "#/components/schemas/TraceText"}, {"type": "null"}]},
                "return": {"anyOf": [{"$ref": "#/components/schemas/Return"}, {"type": "null"}]},
                "shop": {"anyOf": [{"$ref": "#/components/schemas/Shop"}, {"type": "null"}]}
            },
            "not": crate::request::not_both("logistics_trace", "logistics_text")
        }
    })
}
