//! The Kuaishou open platform's refund detail (快手开放平台 售后单详情,
//! `open.seller.order.refund.detail`) as an alternative request body:
//! `{"kuaishou_refund": {...}, "destination": {...}, ...}`, with the order detail
//! (`open.order.detail`) beside it as `kuaishou_order` if the caller has it. Its values
//! stand for the contract's fields (read by `request::parse` with the rest of the body),
//! and its state becomes the case's [`PlatformRefund`] (policy.md §9). Both details mirror
//! the platform: fields not read here are accepted and ignored. `docs/kuaishou-refund.md`
//! has every field, with its sources.
//!
//! | platform field | becomes |
//! | --- | --- |
//! | `refundId` | `case_id` |
//! | `oid`, or `orderId` (push messages) | `order.order_id` (one of them, not both) |
//! | `status` (10 … 70) | `PlatformRefund::status` (required; an undocumented one is a 422) |
//! | `handlingWay` 1 退货退款, 10 仅退款 | `refund_type` `return_and_refund`, `refund_only`; of the status's type ([`PlatformStatus::refund_type`]), else a 422 at both |
//! | `handlingWay` 3 换货, 4 补寄, 5 维修 | not covered (`standard_process`); `refund_type` `return_and_refund`, `refund_only`, `return_and_refund` |
//! | `specialRefundType` 1 价保, `refundType` 2 卖家主动退款 | not covered (`standard_process`) |
//! | `submitTime` (epoch ms) | `requested_at` |
//! | `expireTime` (epoch ms; 0: none) | `PlatformRefund::deadline`; at `status` 40 also `return.countdown_ends_at`, unless the body gives an earlier one |
//! | `negotiateStatus` 3 | `PlatformRefund::merchant_rejected` |
//! | `receiptStatus` 2 | `PlatformRefund::buyer_claims_receipt` (the engine reads the claim) |
//! | `address` (the merchant's return address) | `return.destination`, unless the body gives one |
//! | `logisticsInfo.expressNo`, or a top-level `expressNo` | the return waybill, for a warning when its trace is missing (both given: the same) |
//! | `kuaishou_order.orderBaseInfo` | required when `kuaishou_order` is given (else nothing would be read) |
//! | `kuaishou_order.orderBaseInfo.sendTime` | `order.shipped_at`, unless the body gives one |
//! | `kuaishou_order.orderBaseInfo.recvTime` | a `delivered` event at that time in the forward trace (before `sendTime`: a `received_before_shipped` warning) |
//!
//! `case_id`, `refund_type`, `requested_at` and `order.order_id` come from the detail
//! only: sent beside it they are refused (two values for one thing). The body's own
//! `return.destination` and `order.shipped_at` win over the platform's (they are what
//! the caller knows better, or later); so does `return.countdown_ends_at` when it is
//! earlier than `expireTime` at status 40 (a later one would advise answering after the
//! platform has refunded by itself).

use serde_json::{Value, json};

use crate::codes::{RefundType, WarningCode};
use crate::engine::{Arg, NotCovered, PlatformRefund, PlatformStatus, Warning};
use crate::request::FieldError;
use crate::request::json::{Json, Shaped, json_object};
use crate::time::{self, Instant};

/// The key that marks a Kuaishou body.
pub const KEY: &str = "kuaishou_refund";

/// The key of the order detail beside it.
pub const ORDER_KEY: &str = "kuaishou_order";

json_object! {
    /// The refund detail (`open.seller.order.refund.detail`) as the platform returns it.
    /// It mirrors the platform, so fields it does not read are accepted and ignored
    /// (a duplicated key is still refused). To read another field, add it here and map
    /// it in [`read`].
    pub struct RefundDetail<'de> {
        refund_id: Json<'de> = "refundId",
        oid: Json<'de> = "oid",
        /// What push messages call `oid`.
        order_id: Json<'de> = "orderId",
        status: Json<'de> = "status",
        handling_way: Json<'de> = "handlingWay",
        refund_type: Json<'de> = "refundType",
        special_refund_type: Json<'de> = "specialRefundType",
        negotiate_status: Json<'de> = "negotiateStatus",
        submit_time: Json<'de> = "submitTime",
        expire_time: Json<'de> = "expireTime",
        receipt_status: Json<'de> = "receiptStatus",
        address: Json<'de> = "address",
        logistics_info: Shaped<'de, LogisticsInfo<'de>> = "logisticsInfo",
        /// The return waybill as flattened bodies carry it (the detail nests it).
        express_no: Json<'de> = "expressNo",
    }
}

json_object! {
    /// The return parcel (`MerchantLogisticsInfoView`): its waybill, and the carrier's
    /// number (`expressCode`, accepted and not read).
    pub struct LogisticsInfo<'de> {
        express_no: Json<'de> = "expressNo",
    }
}

json_object! {
    /// The order detail (`kuaishou_order`: the `data` of `open.order.detail`), as the
    /// platform returns it. Only `orderBaseInfo` is read; `sendTime` and `recvTime` at
    /// its top are refused, because there they mean the caller sent `orderBaseInfo`
    /// alone, or a flattened copy, whose other fields would go unread.
    pub struct OrderDetail<'de> {
        base_info: Shaped<'de, OrderBaseInfo<'de>> = "orderBaseInfo",
        send_time: Json<'de> = "sendTime",
        recv_time: Json<'de> = "recvTime",
    }
}

json_object! {
    /// The order's base information (`OrderDetailBaseInfo`).
    pub struct OrderBaseInfo<'de> {
        oid: Json<'de> = "oid",
        send_time: Json<'de> = "sendTime",
        recv_time: Json<'de> = "recvTime",
    }
}

/// `handlingWay` (退款方式): the refund type it is decided as, and whether the notice
/// covers it. An exchange and a repair bring the goods back (a return); a re-send only
/// sends again (the forward parcel). Not-covered ways are decided as `standard_process`
/// whatever their type; the type only classifies the scenario shown beside it.
pub const HANDLING_WAYS: [(i64, &str, RefundType, Option<NotCovered>); 5] = [
    (
        1,
        "退货退款, return and refund",
        RefundType::ReturnAndRefund,
        None,
    ),
    (10, "仅退款, refund only", RefundType::RefundOnly, None),
    (
        3,
        "换货, exchange",
        RefundType::ReturnAndRefund,
        Some(NotCovered::Exchange),
    ),
    (
        4,
        "补寄, re-send",
        RefundType::RefundOnly,
        Some(NotCovered::Resend),
    ),
    (
        5,
        "维修, repair",
        RefundType::ReturnAndRefund,
        Some(NotCovered::Repair),
    ),
];

/// `status` (退款状态) and its words.
pub const STATUSES: [(i64, &str); 11] = [
    (10, "买家仅退款申请, the buyer applied for a refund only"),
    (
        11,
        "买家退货退款申请, the buyer applied to return the goods",
    ),
    (
        20,
        "平台介入-买家仅退款申请, the platform stepped in (refund only)",
    ),
    (
        21,
        "平台介入-买家退货退款申请, the platform stepped in (return)",
    ),
    (
        22,
        "平台介入-已确认退货退款, the platform confirmed the return",
    ),
    (
        30,
        "商品回寄信息待买家更新, waiting for the buyer to send the return",
    ),
    (
        40,
        "商品回寄信息待卖家确认, the return is sent, waiting for the merchant",
    ),
    (
        45,
        "待买家确认收货, waiting for the buyer to confirm receipt",
    ),
    (50, "退款执行中, the refund is being paid"),
    (60, "退款成功, refunded"),
    (70, "退款失败, the refund failed"),
];

/// `negotiateStatus` (协商状态).
pub const NEGOTIATE_STATUSES: [(i64, &str); 4] = [
    (0, "未知状态, unknown"),
    (1, "待商家处理, waiting for the merchant"),
    (2, "商家同意, the merchant agreed"),
    (
        3,
        "商家驳回，等待买家修改, the merchant rejected; the buyer may modify",
    ),
];

/// `receiptStatus` (货物状态): the buyer's answer on applying.
pub const RECEIPT_STATUSES: [(i64, &str); 3] = [
    (0, "未知, unknown"),
    (1, "未收到货, not received"),
    (2, "已收到货, received (the buyer's claim)"),
];

/// `refundType` (退款类型).
pub const REFUND_TYPES: [(i64, &str); 3] = [
    (0, "未知, unknown"),
    (1, "买家申请退款, the buyer applied"),
    (2, "卖家主动退款, the seller started it"),
];

/// `specialRefundType` (特殊退款类型).
pub const SPECIAL_REFUND_TYPES: [(i64, &str); 2] = [
    (0, "非特殊退款, an ordinary refund"),
    (1, "价保, price protection"),
];

/// The contract's values the platform's details give.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// `refundId`: the case id (none without it, whatever the body says).
    pub case_id: Option<String>,
    /// `oid` (or `orderId`).
    pub order_id: String,
    /// From `handlingWay`.
    pub refund_type: RefundType,
    /// `submitTime`: the request's time.
    pub submitted_at: Instant,
    /// The platform's state of the refund.
    pub platform: PlatformRefund,
    /// `expireTime` at `status` 40: the return countdown's end, unless the body gives an
    /// earlier one.
    pub countdown_ends_at: Option<Instant>,
    /// `address`: the merchant's return address, unless the body gives one.
    pub return_address: Option<String>,
    /// `logisticsInfo.expressNo` (or `expressNo`): the return waybill.
    pub waybill: Option<String>,
    /// `kuaishou_order.orderBaseInfo.sendTime`: the order's `shipped_at`, unless the
    /// body gives one.
    pub shipped_at: Option<Instant>,
    /// `kuaishou_order.orderBaseInfo.recvTime`: the platform's record of the signature,
    /// a `delivered` event of the forward trace.
    pub received_at: Option<Instant>,
    /// What the caller should know about the details (a signature before the shipment).
    pub notes: Vec<Warning>,
}

/// The pointer of the order detail's `recvTime`, where its `delivered` event comes from.
pub const RECEIVED_POINTER: &str = "/kuaishou_order/orderBaseInfo/recvTime";

/// A value given, `null` read as absent.
fn given<'v, 'de>(v: &'v Option<Json<'de>>) -> Option<&'v Json<'de>> {
    v.as_ref().filter(|v| !v.is_null())
}

/// A whole JSON number (`2` or `2.0`, as JSON Schema counts integers).
fn whole(v: &Json<'_>) -> Option<i64> {
    match v {
        Json::Number(n) => crate::request::whole_number(n),
        _ => None,
    }
}

/// Digits without a leading zero (or `0` itself), at most `max` of them: a number
/// written as a string, exactly as the number's JSON would be.
fn digits(s: &str, max: usize) -> bool {
    s == "0"
        || ((1..=max).contains(&s.len())
            && !s.starts_with('0')
            && s.bytes().all(|b| b.is_ascii_digit()))
}

/// A platform code: a whole number, or its digits as a string (`40` or `"40"`).
fn code_value(v: &Json<'_>) -> Option<i64> {
    match v {
        Json::String(s) if digits(s, 4) => s.parse().ok(),
        Json::Number(_) => whole(v),
        _ => None,
    }
}

/// Floats from here up (2^53) no longer hold every integer: `9007199254740993.0` reads
/// as `…992`.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// An id: a whole number of at least 0, or a string that is not blank (white space alone,
/// U+3000 included, is no id).
fn id_text(v: &Json<'_>) -> Option<String> {
    match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.as_ref().to_owned()),
        Json::Number(n) => n.as_u64().map(|n| n.to_string()).or_else(|| {
            let f = n.as_f64()?;
            // A whole float is that integer, as JSON Schema reads it, while floats still
            // hold every integer; past 2^53 its digits may not be the ones sent, and a
            // wrong order id is worse than a refusal (integers are read exactly).
            (f.fract() == 0.0 && (0.0..EXACT_FLOAT_LIMIT).contains(&f))
                .then(|| format!("{}", f as u64))
        }),
        _ => None,
    }
}

/// Epoch milliseconds: a whole number, or a string of digits without leading zeros.
fn millis(v: &Json<'_>) -> Result<Instant, String> {
    let ms = match v {
        Json::String(s) if digits(s, 14) => s.parse().ok(),
        Json::Number(_) => whole(v),
        _ => None,
    };
    match ms.map(time::from_epoch_millis) {
        Some(Ok(t)) => Ok(t),
        Some(Err(e @ (time::TimeError::EpochSeconds | time::TimeError::CompactDate))) => {
            Err(format!("{v} {e}"))
        }
        _ => Err(format!(
            "{v} is not epoch milliseconds between 1973-03-03 and 9996-12-31"
        )),
    }
}

/// `(1, "words")` as `1 (words)`, joined.
fn listed(codes: &[(i64, &str)]) -> String {
    codes
        .iter()
        .map(|(n, words)| format!("{n} ({words})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the fields of one platform object, each problem with its pointer.
struct Fields<'e> {
    errors: &'e mut Vec<FieldError>,
    /// The object's pointer.
    at: &'static str,
}

impl Fields<'_> {
    fn err(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}/{field}", self.at), message));
    }

    /// An optional id; `null` reads as absent.
    fn id(&mut self, v: &Option<Json<'_>>, field: &str, what: &str) -> Option<String> {
        let v = given(v)?;
        let id = id_text(v);
        if id.is_none() {
            self.err(
                field,
                format!("{v} is not {what}: a whole number or a string that is not blank"),
            );
        }
        id
    }

    /// An optional code of `known`; `null` reads as absent.
    fn code(
        &mut self,
        v: &Option<Json<'_>>,
        field: &str,
        what: &str,
        known: &[(i64, &str)],
    ) -> Option<i64> {
        let v = given(v)?;
        let code = code_value(v).filter(|c| known.iter().any(|(k, _)| k == c));
        if code.is_none() {
            self.err(
                field,
                format!(
                    "{v} is not {what} the platform documents: {} (a number, or its digits as a string)",
                    listed(known)
                ),
            );
        }
        code
    }

    /// A required code: wrong, or missing.
    fn required_code(
        &mut self,
        v: &Option<Json<'_>>,
        field: &str,
        what: &str,
        known: &[(i64, &str)],
    ) -> Option<i64> {
        if given(v).is_none() {
            self.err(
                field,
                format!("is required: {what}, one of {}", listed(known)),
            );
            return None;
        }
        self.code(v, field, what, known)
    }

    /// Optional epoch milliseconds; `null` and `0` (the platform's "none") read as
    /// absent.
    fn time(&mut self, v: &Option<Json<'_>>, field: &str) -> Option<Instant> {
        let v = given(v)?;
        if code_value(v) == Some(0) {
            return None;
        }
        millis(v).map_err(|m| self.err(field, m)).ok()
    }

    /// An optional string; `null` and blank read as absent (the platform sends `""`
    /// for a value it does not have).
    fn text(&mut self, v: &Option<Json<'_>>, field: &str, what: &str) -> Option<String> {
        match given(v)? {
            Json::String(s) => (!s.trim().is_empty()).then(|| s.as_ref().to_owned()),
            other => {
                self.err(
                    field,
                    format!("must be a string ({what}), not {}", other.kind()),
                );
                None
            }
        }
    }
}

/// What the order detail gives.
#[derive(Debug, Default)]
struct OrderFacts {
    oid: Option<String>,
    shipped_at: Option<Instant>,
    received_at: Option<Instant>,
}

/// Reads the order detail beside the refund detail.
fn read_order(order: &Shaped<'_, OrderDetail<'_>>, errors: &mut Vec<FieldError>) -> OrderFacts {
    let o = match order {
        Shaped::Expected(o) => o,
        Shaped::Other(Json::Null) => return OrderFacts::default(),
        Shaped::Other(other) => {
            errors.push(FieldError::new(
                format!("/{ORDER_KEY}"),
                format!(
                    "must be an object: the order detail (the data of open.order.detail) as the Kuaishou open platform returns it, not {}",
                    other.kind()
                ),
            ));
            return OrderFacts::default();
        }
    };
    let mut top = Fields {
        errors: &mut *errors,
        at: "/kuaishou_order",
    };
    let mut flattened = false;
    for (value, field) in [(&o.send_time, "sendTime"), (&o.recv_time, "recvTime")] {
        if value.is_some() {
            flattened = true;
            top.err(
                field,
                "is read inside orderBaseInfo: send the order detail (the data of open.order.detail) as the platform returns it, not its orderBaseInfo alone or a flattened copy",
            );
        }
    }
    let base = match &o.base_info {
        // Without it nothing is read: a shipment would go unseen, and the case become
        // `not_shipped`. The platform always sends it, so it is missing by mistake (the
        // whole response with `data` around it, a misspelt key, or flattened: said above).
        None | Some(Shaped::Other(Json::Null)) if flattened => return OrderFacts::default(),
        None | Some(Shaped::Other(Json::Null)) => {
            top.err(
                "orderBaseInfo",
                "is required: sendTime and recvTime are read from it. Send the data of open.order.detail (not the whole response, with data around it), or leave kuaishou_order out",
            );
            return OrderFacts::default();
        }
        Some(Shaped::Expected(b)) => b,
        Some(Shaped::Other(other)) => {
            top.err(
                "orderBaseInfo",
                format!("must be an object, not {}", other.kind()),
            );
            return OrderFacts::default();
        }
    };
    let mut f = Fields {
        errors,
        at: "/kuaishou_order/orderBaseInfo",
    };
    OrderFacts {
        oid: f.id(&base.oid, "oid", "an order id"),
        shipped_at: f.time(&base.send_time, "sendTime"),
        received_at: f.time(&base.recv_time, "recvTime"),
    }
}

/// Reads the platform's refund detail, and the order detail beside it; every problem
/// goes to `errors`, and `None` means there was one.
pub(crate) fn read(
    detail: &Shaped<'_, RefundDetail<'_>>,
    order: Option<&Shaped<'_, OrderDetail<'_>>>,
    errors: &mut Vec<FieldError>,
) -> Option<Mapped> {
    let errors_before = errors.len();
    let order_facts = order.map(|o| read_order(o, errors)).unwrap_or_default();
    let Shaped::Expected(r) = detail else {
        errors.push(FieldError::new(
            format!("/{KEY}"),
            "must be an object: the refund detail as the Kuaishou open platform returns it",
        ));
        return None;
    };
    let mut f = Fields {
        errors: &mut *errors,
        at: "/kuaishou_refund",
    };

    // The order id: `oid` in the detail, `orderId` in push messages; one of them, once.
    let oid = f.id(&r.oid, "oid", "an order id");
    let pushed = f.id(&r.order_id, "orderId", "an order id");
    let order_id = match (oid, pushed) {
        (Some(oid), Some(pushed)) => {
            let same = if oid == pushed {
                "the same id"
            } else {
                "two different ids"
            };
            f.err(
                "orderId",
                format!("`{pushed}` beside oid `{oid}` ({same}): send the order id once, as oid (the refund detail) or orderId (a push message)"),
            );
            None
        }
        (oid, pushed) => oid.or(pushed),
    };
    if given(&r.oid).is_none() && given(&r.order_id).is_none() {
        f.err(
            "oid",
            "is required: the order id, a number or a string (push messages call it orderId)",
        );
    }
    if let (Some(ours), Some(theirs)) = (&order_id, &order_facts.oid)
        && ours != theirs
    {
        f.errors.push(FieldError::new(
            "/kuaishou_order/orderBaseInfo/oid",
            format!("`{theirs}` is not the refund's order `{ours}`: the order detail must be the refund's own order"),
        ));
    }
    let case_id = f.id(&r.refund_id, "refundId", "a refund id");

    let status = f
        .required_code(&r.status, "status", "a refund status", &STATUSES)
        .and_then(PlatformStatus::from_code);
    let ways: Vec<(i64, &str)> = HANDLING_WAYS.iter().map(|w| (w.0, w.1)).collect();
    let way = f
        .required_code(
            &r.handling_way,
            "handlingWay",
            "a handling way (退款方式)",
            &ways,
        )
        .and_then(|n| HANDLING_WAYS.iter().find(|w| w.0 == n));
    // A status of one refund type with a covered way of the other: the detail
    // contradicts itself, and deciding by either half would be a guess (a return parcel
    // collected, decided as a refund only not shipped). Not-covered ways (3, 4, 5) are
    // not checked: no source says which statuses they pass through.
    if let (Some(status), Some((way_code, way_words, way_type, None))) = (status, way)
        && let Some(status_type) = status.refund_type()
        && status_type != *way_type
    {
        let code = status.code();
        let status_words = STATUSES
            .iter()
            .find(|(n, _)| *n == i64::from(code))
            .map_or("", |(_, words)| words);
        let kind = |t: RefundType| match t {
            RefundType::RefundOnly => "a refund only (仅退款)",
            RefundType::ReturnAndRefund => "a return and refund (退货退款)",
        };
        let why = "the detail contradicts itself, so whether the goods come back cannot be told: check the refund on the platform (statuses 45, 50, 60 and 70 go with either way)";
        f.err(
            "status",
            format!(
                "{code} ({status_words}) belongs to {}, but handlingWay is {way_code} ({way_words}): {why}",
                kind(status_type)
            ),
        );
        f.err(
            "handlingWay",
            format!(
                "{way_code} ({way_words}) is {}, but status is {code} ({status_words}), which belongs to {}: {why}",
                kind(*way_type),
                kind(status_type)
            ),
        );
    }
    let special = f.code(
        &r.special_refund_type,
        "specialRefundType",
        "a special refund type",
        &SPECIAL_REFUND_TYPES,
    );
    let refund_type = f.code(&r.refund_type, "refundType", "a refund type", &REFUND_TYPES);
    let negotiate = f.code(
        &r.negotiate_status,
        "negotiateStatus",
        "a negotiation status",
        &NEGOTIATE_STATUSES,
    );
    let receipt = f.code(
        &r.receipt_status,
        "receiptStatus",
        "a receipt status",
        &RECEIPT_STATUSES,
    );

    let submitted_at = match given(&r.submit_time) {
        None => {
            f.err(
                "submitTime",
                "is required: when the buyer filed the request, in epoch milliseconds",
            );
            None
        }
        Some(v) if code_value(v) == Some(0) => {
            f.err(
                "submitTime",
                "is 0, the platform's \"none\": the request needs when the buyer filed it, in epoch milliseconds",
            );
            None
        }
        Some(_) => f.time(&r.submit_time, "submitTime"),
    };
    let expires_at = f.time(&r.expire_time, "expireTime");
    let return_address = f.text(&r.address, "address", "the merchant's return address");

    // The return waybill: nested in the detail, flattened in some shop systems' copies.
    let nested = match &r.logistics_info {
        None | Some(Shaped::Other(Json::Null)) => None,
        Some(Shaped::Expected(info)) => Fields {
            errors: &mut *f.errors,
            at: "/kuaishou_refund/logisticsInfo",
        }
        .text(&info.express_no, "expressNo", "the return waybill"),
        Some(Shaped::Other(other)) => {
            f.err(
                "logisticsInfo",
                format!(
                    "must be an object (the return parcel: expressNo, expressCode), not {}",
                    other.kind()
                ),
            );
            None
        }
    };
    let flat = f.text(&r.express_no, "expressNo", "the return waybill");
    let waybill_pointer = if nested.is_some() {
        "/kuaishou_refund/logisticsInfo/expressNo"
    } else {
        "/kuaishou_refund/expressNo"
    };
    let waybill = match (nested, flat) {
        (Some(nested), Some(flat)) if nested != flat => {
            f.err(
                "expressNo",
                format!("`{flat}` is not logisticsInfo.expressNo `{nested}`: both name the return parcel, so they must be the same waybill (send one)"),
            );
            None
        }
        (nested, flat) => nested.or(flat),
    };

    if errors.len() > errors_before {
        return None;
    }
    let (status, &(_, _, refund_type_of_way, way_not_covered)) = (status?, way?);
    // recvTime before the shipping time used (sendTime or the body's shipped_at) is
    // warned about where both are known (`request`).
    let mut notes = Vec::new();
    // A refund only (handlingWay 10) has no return parcel: a return waybill on it is not
    // read, and the caller hears of it (a body `return` there is a 422; the detail is the
    // platform's as it comes, so it is not refused for a field it carries).
    if let (Some(waybill), RefundType::RefundOnly, None) =
        (&waybill, refund_type_of_way, way_not_covered)
    {
        notes.push(Warning {
            code: WarningCode::ReturnWaybillIgnored,
            args: vec![
                ("pointer", Arg::Text(waybill_pointer.to_owned())),
                ("waybill", Arg::Text(waybill.clone())),
            ],
        });
    }
    // The first reason that applies: the way, then the special type, then who started it.
    let not_covered = way_not_covered
        .or((special == Some(1)).then_some(NotCovered::PriceProtection))
        .or((refund_type == Some(2)).then_some(NotCovered::SellerInitiated));
    Some(Mapped {
        case_id,
        order_id: order_id?,
        refund_type: refund_type_of_way,
        submitted_at: submitted_at?,
        platform: PlatformRefund {
            status,
            merchant_rejected: negotiate == Some(3),
            deadline: expires_at,
            not_covered,
            buyer_claims_receipt: receipt == Some(2),
        },
        // §9: only while the return is on its way is the platform's deadline also the
        // end of the return countdown.
        countdown_ends_at: expires_at.filter(|_| status == PlatformStatus::ReturnShipped),
        return_address,
        waybill,
        shipped_at: order_facts.shipped_at,
        received_at: order_facts.received_at,
        notes,
    })
}

/// A code's schema: one integer enum and one string enum of the same values (the
/// platform sends numbers; shop systems often hold them as strings).
fn code_schema(codes: &[(i64, &str)], description: &str, nullable: bool) -> Value {
    let numbers: Vec<i64> = codes.iter().map(|(n, _)| *n).collect();
    let strings: Vec<String> = numbers.iter().map(i64::to_string).collect();
    let mut any_of = vec![
        json!({"type": "integer", "enum": numbers}),
        json!({"type": "string", "enum": strings}),
    ];
    if nullable {
        any_of.push(json!({"type": "null"}));
    }
    json!({
        "anyOf": any_of,
        "description": format!("{description} As a number or its digits: {}.", listed(codes))
    })
}

/// One of `codes`, as a number or its digits (for the schemas' cross-field rules).
fn codes_in(codes: &[i64]) -> Value {
    let strings: Vec<String> = codes.iter().map(i64::to_string).collect();
    json!({"anyOf": [
        {"type": "integer", "enum": codes},
        {"type": "string", "enum": strings}
    ]})
}

/// The JSON Schemas of the Kuaishou body. Only the fields the mapping reads are
/// declared (each exactly as [`read`] accepts it); the rest of each platform object is
/// accepted as it comes. Cross-field rules no schema can state (two spellings of one
/// value must agree) are in the descriptions.
pub fn json_schemas() -> Value {
    let id = |description: &str, nullable: bool| {
        let mut any_of = vec![
            json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}),
            json!({"type": "string", "minLength": 1, "pattern": crate::request::NOT_BLANK_PATTERN}),
        ];
        if nullable {
            any_of.push(json!({"type": "null"}));
        }
        json!({"anyOf": any_of, "description": description})
    };
    // Epoch milliseconds from 10^11 (smaller is epoch seconds), with 0 (the platform's
    // "none") and null unless `required`.
    let ms = |description: &str, required: bool| {
        let description = format!(
            "{description} From 100000000000 (1973-03-03): a smaller number is epoch seconds, refused."
        );
        let mut any_of = if required {
            vec![
                json!({"type": "integer", "minimum": time::EPOCH_MS_MIN, "maximum": time::EPOCH_MS_MAX}),
                json!({"type": "string", "pattern": "^[1-9][0-9]{11,13}$"}),
            ]
        } else {
            // One integer schema, 0 or from 10^11 (1 to 10^11 - 1 is epoch seconds): as
            // two integer alternatives, or an anyOf inside one, the generated Python
            // client refuses every time but 0; a `not` it leaves to the server.
            vec![
                json!({
                    "type": "integer", "minimum": 0, "maximum": time::EPOCH_MS_MAX,
                    "not": {"minimum": 1, "maximum": time::EPOCH_MS_MIN - 1}
                }),
                json!({"type": "string", "pattern": "^(?:0|[1-9][0-9]{11,13})$"}),
            ]
        };
        if !required {
            any_of.push(json!({"type": "null"}));
        }
        json!({"anyOf": any_of, "description": description})
    };
    let ways: Vec<(i64, &str)> = HANDLING_WAYS.iter().map(|w| (w.0, w.1)).collect();
    let waybill = json!({"type": ["string", "null"], "description": "The return parcel's waybill (快递单号); blank is none."});
    // A status of `statuses` with the way `way`, as numbers or their digits.
    let contradiction = |statuses: &[i64], way: i64| {
        json!({
            "required": ["status", "handlingWay"],
            "properties": {"status": codes_in(statuses), "handlingWay": codes_in(&[way])}
        })
    };
    let not_null = json!({"not": {"type": "null"}});
    // `key` left out, or null.
    let absent = |key: &str| {
        json!({"anyOf": [
            {"not": {"required": [key], "properties": {key: {}}}},
            {"required": [key], "properties": {key: {"type": "null"}}}
        ]})
    };
    let mut request = crate::request::case_properties();
    for (key, schema) in [
        (
            "kuaishou_refund",
            crate::request::reference(
                "KuaishouRefund",
                "The refund detail, as the platform returns it.",
            ),
        ),
        (
            "kuaishou_order",
            crate::request::nullable("KuaishouOrder", "The order detail, if the caller has it."),
        ),
        (
            "order",
            json!({
                "type": ["object", "null"],
                "additionalProperties": false,
                "description": "The order's times; its id comes from the refund detail (oid).",
                "properties": {
                    "placed_at": crate::request::nullable("Time", "When the order was placed."),
                    "shipped_at": crate::request::nullable("Time", "When it was shipped; wins over the order detail's sendTime.")
                }
            }),
        ),
    ] {
        request.insert(key.to_owned(), schema);
    }
    if let Some(Value::Object(r)) = request.get_mut("return") {
        r.insert("description".into(), json!("The buyer's return parcel. For a return and refund without it, the refund detail stands for it: its address as the destination, its expireTime as the countdown's end at status 40."));
    }
    json!({
        "KuaishouRefund": {
            "description": "The refund detail (open.seller.order.refund.detail, its data) as the Kuaishou open platform returns it. The fields listed are read; every other field of the detail is accepted and ignored (a duplicated key is still refused). The order id is required once: as oid (the detail) or as orderId (push messages: kwaishop_aftersales_addRefund, updateRefund), not both (422 at /kuaishou_refund/orderId; neither is a 422 at /kuaishou_refund/oid). A top-level expressNo (flattened copies of the detail) is read as logisticsInfo.expressNo (a string; blank is none); given beside it, it must be the same waybill, or the request is refused (422 at /kuaishou_refund/expressNo). status must go with handlingWay 1 or 10: a refund-only status (10, 20) with 1, or a return status (11, 21, 22, 30, 40) with 10, is refused (422 at both); 45, 50, 60 and 70 go with either. Numbers may come as their digits in a string; an id written as a float (2.15e15, 2150361234567890.0) is read only below 2^53, where floats hold every integer.",
            "type": "object",
            "additionalProperties": true,
            "required": ["status", "handlingWay", "submitTime"],
            "properties": {
                "refundId": id("售后单id, the after-sales id: the case id echoed back.", true),
                "oid": id("订单id, the order id. One of oid and orderId is required: without either the request is refused (422 at /kuaishou_refund/oid).", true),
                "orderId": id("The order id as push messages (kwaishop_aftersales_addRefund, updateRefund) call it: read as oid, for a body built from a push message. Not beside oid (422 at /kuaishou_refund/orderId).", true),
                "status": code_schema(&STATUSES, "退款状态, the refund's state on the platform, which bounds the advice: closed at 50, 60 and 70 (standard process), the platform has stepped in at 20 to 22.", false),
                "handlingWay": code_schema(&ways, "退款方式: 1 and 10 are the refunds the notice covers; an exchange, a re-send or a repair follows the standard process.", false),
                "refundType": code_schema(&REFUND_TYPES, "退款类型: a refund the seller started follows the standard process.", true),
                "specialRefundType": code_schema(&SPECIAL_REFUND_TYPES, "特殊退款类型: price protection follows the standard process.", true),
                "negotiateStatus": code_schema(&NEGOTIATE_STATUSES, "协商状态: at 3 the merchant has already rejected, and is never advised to reject again.", true),
                "receiptStatus": code_schema(&RECEIPT_STATUSES, "货物状态, the buyer's answer on applying: 2 is their claim to have the goods, counted as a delivery for a refund only whose trace shows none, and explained as their claim.", true),
                "submitTime": ms("退货申请时间, when the buyer applied, in epoch milliseconds: the request's time.", true),
                "expireTime": ms("超期时间, the platform's deadline for the merchant's current step, in epoch milliseconds (0: none): reported as a platform_deadline at every status, and the end of the return countdown at status 40 unless the body gives an earlier one.", false),
                "address": {"type": ["string", "null"], "description": "卖家退货地址, the merchant's return address: the return's destination unless the body gives one; blank is none."},
                "logisticsInfo": crate::request::nullable("KuaishouLogisticsInfo", "退货单物流信息, the return parcel.")
            },
            // The rules across fields, as a schema can state them, so that a body the
            // schema admits is never refused for them: no contradicting status and
            // handlingWay, and the order id given once. (A top-level expressNo, which must
            // equal logisticsInfo.expressNo when both are given, is not declared: no schema
            // states that equality; the description does.)
            "not": {"anyOf": [
                contradiction(&[10, 20], 1),
                contradiction(&[11, 21, 22, 30, 40], 10),
                {"required": ["oid", "orderId"], "properties": {"oid": not_null, "orderId": not_null}},
                {"allOf": [absent("oid"), absent("orderId")]}
            ]}
        },
        "KuaishouLogisticsInfo": {
            "description": "The return parcel in the refund detail: its waybill is read (a warning names it when the request has no trace for it); expressCode and any other field are accepted and ignored.",
            "type": "object",
            "additionalProperties": true,
            "properties": {"expressNo": waybill}
        },
        "KuaishouOrder": {
            "description": "The order detail (open.order.detail, its data) as the Kuaishou open platform returns it. Only orderBaseInfo is read, and it is required (without it a shipment would go unseen); every other field is accepted and ignored (a duplicated key is still refused). sendTime and recvTime belong in orderBaseInfo: at this object's top they are refused, because there they mean orderBaseInfo was sent alone, or flattened.",
            "type": "object",
            "additionalProperties": true,
            "required": ["orderBaseInfo"],
            "properties": {
                "orderBaseInfo": crate::request::reference("KuaishouOrderBaseInfo", "订单基础信息, the order's base information.")
            },
            "not": {"anyOf": [
                {"required": ["sendTime"], "properties": {"sendTime": {}}},
                {"required": ["recvTime"], "properties": {"recvTime": {}}}
            ]}
        },
        "KuaishouOrderBaseInfo": {
            "description": "The order's base information. sendTime and recvTime are read; its oid, when given, must be the refund's order (its oid or orderId), or the request is refused (422 at /kuaishou_order/orderBaseInfo/oid: no schema states that equality, so oid is not declared); every other field is accepted and ignored.",
            "type": "object",
            "additionalProperties": true,
            "properties": {
                "sendTime": ms("发货时间, when the order was shipped, in epoch milliseconds (0: not yet): the order's shipped_at unless the body gives one.", false),
                "recvTime": ms("收货时间, when the platform recorded the signature, in epoch milliseconds (0: none yet): a delivered event of the forward trace. Earlier than sendTime, both are used as given, with a received_before_shipped warning.", false)
            }
        },
        "KuaishouRefundRequest": {
            "description": "A case as the Kuaishou open platform describes it, with the buyer's address and the traces the refund detail lacks. case_id, refund_type, requested_at and order.order_id come from the detail and are refused beside it; other unknown fields are refused too (422).",
            "type": "object",
            "additionalProperties": false,
            "required": ["kuaishou_refund", "destination"],
            "properties": request,
            // Refused, so not admitted: both traces; a return beside a refund only the
            // notice covers (handlingWay 10, neither price protection nor seller-started).
            "not": {"anyOf": [
                crate::request::not_both("logistics_trace", "logistics_text"),
                {
                    "required": ["kuaishou_refund", "return"],
                    "properties": {
                        "return": {"not": {"type": "null"}},
                        "kuaishou_refund": {
                            "required": ["handlingWay"],
                            "properties": {
                                "handlingWay": codes_in(&[10]),
                                "specialRefundType": {"not": codes_in(&[1])},
                                "refundType": {"not": codes_in(&[2])}
                            }
                        }
                    }
                }
            ]}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table_is_the_engines_statuses() {
        let ours: Vec<i64> = STATUSES.iter().map(|(n, _)| *n).collect();
        let engine: Vec<i64> = PlatformStatus::ALL
            .iter()
            .map(|s| i64::from(s.code()))
            .collect();
        assert_eq!(ours, engine);
    }

    #[test]
    fn the_schemas_declare_every_field_the_mapping_reads_and_require_no_order_id_spelling() {
        let schemas = json_schemas();
        // Two fields are read but not declared, as their rule is an equality with
        // another field no schema can state (a body the schema admits would be refused):
        // their objects' descriptions name them.
        let undeclared = [
            ("KuaishouRefund", "expressNo"),
            ("KuaishouOrderBaseInfo", "oid"),
        ];
        for (name, keys) in [
            ("KuaishouRefund", RefundDetail::KEYS),
            ("KuaishouLogisticsInfo", LogisticsInfo::KEYS),
            ("KuaishouOrderBaseInfo", OrderBaseInfo::KEYS),
        ] {
            for key in keys {
                let declared = schemas[name]["properties"].get(*key).is_some();
                if undeclared.contains(&(name, *key)) {
                    let described = schemas[name]["description"].as_str().unwrap_or_default();
                    assert!(!declared && described.contains(key), "{name}.{key}");
                } else {
                    assert!(declared, "{name}.{key} is read but not declared");
                }
            }
        }
        // Refused at the order detail's top: declared as a `not`, and nothing else read.
        let order: Vec<&str> = OrderDetail::KEYS
            .iter()
            .copied()
            .filter(|k| schemas["KuaishouOrder"]["properties"].get(*k).is_none())
            .collect();
        assert_eq!(order, ["sendTime", "recvTime"]);
        // `oid` or `orderId`: neither is in `required` (a generated client would refuse a
        // push message's orderId alone); the `not` refuses neither and both.
        let required = &schemas["KuaishouRefund"]["required"];
        assert_eq!(*required, json!(["status", "handlingWay", "submitTime"]));
        for key in ["oid", "orderId"] {
            let described = schemas["KuaishouRefund"]["properties"][key]["description"]
                .as_str()
                .unwrap_or_default();
            assert!(
                described.contains("oid") && described.contains("orderId"),
                "{key}"
            );
        }
    }

    #[test]
    fn codes_are_numbers_or_exactly_their_digits() {
        let read = |text: &str| {
            let v: Json<'_> = serde_json::from_str(text).unwrap_or(Json::Array);
            code_value(&v)
        };
        for (text, want) in [
            ("40", Some(40)),
            ("40.0", Some(40)),
            ("4e1", Some(40)),
            ("\"40\"", Some(40)),
            ("\"0\"", Some(0)),
            ("-40", Some(-40)),
            ("\"-40\"", None),
            ("\"040\"", None),
            ("\" 40\"", None),
            ("\"40000\"", None),
            ("40.5", None),
            ("true", None),
            ("null", None),
        ] {
            assert_eq!(read(text), want, "{text}");
        }
    }
}
