//! From a request body's bytes to a typed [`Case`], in one place ("parse, don't
//! validate"), in two steps:
//!
//! 1. `json` reads the bytes straight into the contract's typed structs (`body`),
//!    with no `serde_json::Value` tree: a field of the wrong kind is kept as what it was,
//!    a key an object has no field for is kept by name. Only broken JSON, trailing
//!    characters or a duplicated key (anywhere) stop it: 400 ([`RequestErrorKind::Malformed`]).
//! 2. `Parser` turns those structs into a case and reports every problem at once, each
//!    with a JSON pointer and words a support person understands: 422
//!    ([`RequestErrorKind::Invalid`]). Unknown keys of the contract's objects are problems;
//!    the objects that mirror the Kuaishou platform ([`crate::kuaishou`]) ignore theirs.
//!
//! Nothing here can panic on any input.

use std::fmt::Display;

pub(crate) mod body;
pub(crate) mod json;
mod schema;
mod text;

use crate::carriers::Reading;
use crate::codes::{Label, RefundType, Status, WarningCode};
use crate::engine::{
    Arg, Case, Event, EventPointer, Order, Place, PlatformStatus, Return, SHIPPED_AT, Warning,
};
use crate::geo::{DestinationRef, Gazetteer, PlaceIssue};
use crate::kuaishou;
use crate::rules::Rules;
use crate::time::{self, Instant};
use crate::{RequestError, RequestErrorKind};
use json::{Json, Keys, Shaped};

pub use schema::{NOT_BLANK_PATTERN, json_schemas};
pub(crate) use schema::{case_properties, not_both, nullable, reference};
pub use text::TRACE_TEXT_PATTERN;

/// One problem with a request: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) into the request, e.g. `/logistics_trace/2/at`; empty
    /// for the request as a whole. In a batch, it starts with the item: `/items/3/…`.
    #[schema(example = "/logistics_trace/2/at")]
    pub pointer: String,
    /// What is wrong there and how to fix it.
    #[schema(example = "is required: when the carrier recorded the event")]
    pub message: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
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

/// Parses one decision request (or a Kuaishou body) from its JSON bytes.
pub fn parse(body: &[u8], ctx: ParseContext<'_>) -> Result<ParsedRequest, RequestError> {
    let (mut decoded, mut request) = (None, None);
    let request = json::read_body::<body::Request>(body, &mut decoded, &mut request)
        .map_err(|e| malformed(body, &e))?;
    let mut p = Parser {
        ctx,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    match p.request(request) {
        Some(r) if p.errors.is_empty() => Ok(r),
        _ => Err(RequestError {
            kind: RequestErrorKind::Invalid,
            errors: p.errors,
        }),
    }
}

/// A body that could not be read: broken JSON (where serde_json stopped) or a
/// duplicated key (its pointer).
fn malformed(body: &[u8], e: &serde_json::Error) -> RequestError {
    let error = match e.is_data().then(|| json::find_duplicate(body)).flatten() {
        Some(pointer) => FieldError::new(
            pointer,
            format!(
                "appears twice in one object (line {}, column {}): each key may appear only once, so that every reader reads the same request",
                e.line(),
                e.column()
            ),
        ),
        None => FieldError::new("", e.to_string()),
    };
    RequestError {
        kind: RequestErrorKind::Malformed,
        errors: vec![error],
    }
}

/// Where a field is: its object's pointer and its key, joined only for a message (most
/// fields have none, so most pointers are never built). The object is a pointer, or an
/// event's [`EventPointer`].
#[derive(Debug, Clone, Copy)]
struct At<'a, P = &'a str>(P, &'a str);

impl At<'_> {
    /// The pointer (the contract's keys need no escaping).
    fn pointer(self) -> String {
        [self.0, "/", self.1].concat()
    }
}

impl<P: std::fmt::Display> std::fmt::Display for At<'_, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// Turns the read body into a case, collecting every problem.
struct Parser<'a> {
    ctx: ParseContext<'a>,
    errors: Vec<FieldError>,
    /// Warnings about the input that do not stop the decision.
    notes: Vec<Warning>,
}

/// A field's value, with `null` read as absent (callers may send explicit nulls for
/// optional fields).
fn given<T>(v: &Option<T>) -> Option<&T>
where
    T: MaybeNull,
{
    v.as_ref().filter(|v| !v.is_null())
}

/// `null`, in both kinds of field.
trait MaybeNull {
    fn is_null(&self) -> bool;
}

impl MaybeNull for Json<'_> {
    fn is_null(&self) -> bool {
        Json::is_null(self)
    }
}

impl<T> MaybeNull for Shaped<'_, T> {
    fn is_null(&self) -> bool {
        Shaped::is_null(self)
    }
}

impl<T: MaybeNull> MaybeNull for Box<T> {
    fn is_null(&self) -> bool {
        T::is_null(self)
    }
}

impl Parser<'_> {
    fn error(&mut self, pointer: impl std::fmt::Display, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(pointer.to_string(), message));
    }

    /// A contract field a Kuaishou body gives through the refund detail's `from`.
    fn given_by_platform(&mut self, pointer: &str, from: &str) {
        self.error(
            pointer,
            format!("is given by kuaishou_refund.{from} in a Kuaishou body: leave it out, so that the case has one value for it"),
        );
    }

    fn missing(&mut self, at: impl std::fmt::Display, what: &str) {
        self.error(at, format!("is required: {what}"));
    }

    /// The expected object (or array), or an error naming what came instead.
    fn shaped<'v, T>(
        &mut self,
        v: &'v Shaped<'_, T>,
        at: impl std::fmt::Display,
        what: &str,
    ) -> Option<&'v T> {
        match v {
            Shaped::Expected(t) => Some(t),
            Shaped::Other(other) => {
                self.error(at, format!("must be {what}, not {}", other.kind()));
                None
            }
        }
    }

    fn object<'v, T>(&mut self, v: &'v Shaped<'_, T>, ptr: impl Display) -> Option<&'v T> {
        self.shaped(v, ptr, "an object")
    }

    /// Keys of a contract object it has no field for: each is a problem, with the
    /// nearest known key when one is close. Past the first few, they are only counted.
    fn unknown(&mut self, keys: &Keys<'_>, ptr: impl Display + Copy, known: &[&str]) {
        const LISTED: usize = 10;
        // The usual case, without setting up an iteration of the set.
        if keys.is_empty() {
            return;
        }
        if keys.len() > LISTED {
            self.error(
                ptr,
                format!("has {} more unknown fields", keys.len() - LISTED),
            );
        }
        for key in keys.iter().take(LISTED) {
            let mut pointer = ptr.to_string();
            json::push_key(&mut pointer, key);
            let message = match nearest(key, known) {
                Some(k) => format!("is an unknown field; did you mean `{k}`?"),
                None => format!(
                    "is an unknown field: this object takes {}",
                    known.join(", ")
                ),
            };
            self.error(pointer, message);
        }
    }

    /// An optional string; `null` reads as absent.
    fn string(&mut self, v: &Option<Json<'_>>, at: At<'_, impl Display + Copy>) -> Option<String> {
        self.string_value(given(v)?, at)
    }

    /// An optional string that may not be `null` (its presence means something).
    fn present_string(
        &mut self,
        v: &Option<Json<'_>>,
        at: At<'_, impl Display + Copy>,
    ) -> Option<String> {
        self.string_value(v.as_ref()?, at)
    }

    fn string_value(&mut self, v: &Json<'_>, at: At<'_, impl Display + Copy>) -> Option<String> {
        self.str_value(v, at).map(str::to_owned)
    }

    /// [`Self::present_string`], borrowed from the request.
    fn present_str<'v>(
        &mut self,
        v: &'v Option<Json<'_>>,
        at: At<'_, impl Display + Copy>,
    ) -> Option<&'v str> {
        self.str_value(v.as_ref()?, at)
    }

    fn str_value<'v>(
        &mut self,
        v: &'v Json<'_>,
        at: At<'_, impl Display + Copy>,
    ) -> Option<&'v str> {
        match v {
            Json::String(s) => Some(s.as_ref()),
            other => {
                self.error(at, format!("must be a string, not {}", other.kind()));
                None
            }
        }
    }

    /// An optional time; `null` reads as absent.
    fn time(&mut self, v: &Option<Json<'_>>, at: At<'_, impl Display + Copy>) -> Option<Instant> {
        let parsed = match given(v)? {
            Json::String(s) => {
                time::parse(s, self.ctx.rules.time_zone).map_err(|e| format!("`{s}` {e}"))
            }
            Json::Number(n) => match whole_number(n) {
                Some(ms) => time::from_epoch_millis(ms).map_err(|e| format!("{n} {e}")),
                None => Err(format!("{n} is not whole epoch milliseconds")),
            },
            other => Err(format!(
                "must be a time (RFC 3339 string, local time string or epoch milliseconds), not {}",
                other.kind()
            )),
        };
        parsed.map_err(|m| self.error(at, m)).ok()
    }

    /// A required time: wrong, or missing.
    fn required_time(
        &mut self,
        v: &Option<Json<'_>>,
        at: At<'_, impl Display + Copy>,
        what: &str,
    ) -> Option<Instant> {
        let t = self.time(v, at);
        if given(v).is_none() {
            self.missing(at, what);
        }
        t
    }

    fn request(&mut self, v: &Shaped<'_, body::Request<'_>>) -> Option<ParsedRequest> {
        let r = self.object(v, "")?;
        self.unknown(&r.unknown, "", body::Request::KEYS);
        // A Kuaishou refund detail gives case_id, refund_type, requested_at and
        // order.order_id itself: sent beside it, they are refused (two values for one
        // thing). `None` inside: it has problems.
        let mut platform = r
            .kuaishou_refund
            .as_ref()
            .map(|detail| kuaishou::read(detail, r.kuaishou_order.as_deref(), &mut self.errors));
        if let Some(Some(mapped)) = &mut platform {
            self.notes.append(&mut mapped.notes);
        }
        // Even `null`: the field exists only in a Kuaishou body.
        if platform.is_none() && r.kuaishou_order.is_some() {
            self.error(
                "/kuaishou_order",
                "is read only beside kuaishou_refund (the Kuaishou refund detail)",
            );
        }
        let (case_id, refund_type, requested_at) = match &platform {
            Some(mapped) => {
                for (value, key, from) in [
                    (&r.case_id, "case_id", "refundId"),
                    (&r.refund_type, "refund_type", "handlingWay"),
                    (&r.requested_at, "requested_at", "submitTime"),
                ] {
                    if value.is_some() {
                        self.given_by_platform(&["/", key].concat(), from);
                    }
                }
                (
                    mapped.as_ref().and_then(|m| m.case_id.clone()),
                    mapped.as_ref().map(|m| m.refund_type),
                    mapped.as_ref().map(|m| m.submitted_at),
                )
            }
            None => (
                self.string(&r.case_id, At("", "case_id")),
                self.refund_type(&r.refund_type),
                self.required_time(
                    &r.requested_at,
                    At("", "requested_at"),
                    "when the buyer filed the after-sales request",
                ),
            ),
        };
        let as_of = self.time(&r.as_of, At("", "as_of"));
        let order = match (given(&r.order), &platform) {
            (Some(o), _) => self.order(o, platform.as_ref()),
            (None, Some(mapped)) => mapped.as_ref().map(|m| Order {
                order_id: m.order_id.clone(),
                placed_at: None,
                shipped_at: m.shipped_at,
                shipped_at_pointer: SENT_POINTER,
            }),
            (None, None) => {
                self.missing("/order", "the order, with at least its order_id");
                None
            }
        };
        // The platform recorded the signature before the shipment the decision uses (the
        // body's shipped_at, else sendTime): one of the two is wrong, and neither can be
        // told as the wrong one. Both are used as given (as a countdown ending before it
        // starts is), and the caller hears of it, with both pointers.
        if let (Some(Some(mapped)), Some(order)) = (&platform, &order)
            && let (Some(received), Some(shipped)) = (mapped.received_at, order.shipped_at)
            && received < shipped
        {
            self.notes.push(Warning {
                code: WarningCode::ReceivedBeforeShipped,
                args: vec![
                    ("pointer", Arg::Text(kuaishou::RECEIVED_POINTER.to_owned())),
                    ("received_at", Arg::Time(received)),
                    ("shipped_at", Arg::Time(shipped)),
                    (
                        "shipped_pointer",
                        Arg::Text(order.shipped_at_pointer.to_owned()),
                    ),
                ],
            });
        }
        let destination = match given(&r.destination) {
            // A blank destination is one that cannot be placed, as `无` is.
            Some(d) => self.place(d, "/destination").map(|p| match p {
                Placed::Place(place) => place,
                Placed::Blank(text) => Place {
                    notes: vec![place_warning(PlaceIssue::Unresolved { text })],
                    ..Place::default()
                },
            }),
            None => {
                self.missing(
                    "/destination",
                    "the buyer's address (adcode, province/city/district or address)",
                );
                None
            }
        };
        let mut trace = self.trace(
            &r.logistics_trace,
            &r.logistics_text,
            "",
            "logistics_trace",
            "logistics_text",
        );
        // The order detail's signature time is the platform's record of the delivery
        // (the buyer's `receiptStatus` claim is the engine's to weigh, not an event).
        if let (Some(Some(mapped)), Some(events)) = (&platform, trace.as_mut())
            && let Some(at) = mapped.received_at
        {
            events.push(Event {
                at,
                status: Status::Delivered,
                pointer: kuaishou::RECEIVED_POINTER.into(),
                raw: Some("orderBaseInfo.recvTime (收货时间)".to_owned()),
            });
        }
        let return_ = match (refund_type, given(&r.return_)) {
            // A refund-only case has no return parcel: its trace would decide nothing,
            // so it is refused rather than left out unread (`null` is fine). A Kuaishou
            // request the notice does not cover (an exchange, a re-send…) is the
            // platform's standard process whatever its parcels did: its return is read.
            (Some(RefundType::RefundOnly), Some(_))
                if platform
                    .as_ref()
                    .and_then(Option::as_ref)
                    .is_none_or(|m| m.platform.not_covered.is_none()) =>
            {
                self.error(
                    "/return",
                    "a return is read only for return_and_refund; refund_type is refund_only: leave it out, or send the case as return_and_refund",
                );
                None
            }
            (_, Some(v)) => self.return_(v, platform.as_ref()),
            (Some(RefundType::ReturnAndRefund), None) => match &platform {
                // The platform's detail stands for the return the body leaves out.
                Some(mapped) => Some(Return {
                    destination: self.return_address(mapped.as_ref()),
                    countdown_ends_at: mapped.as_ref().and_then(|m| m.countdown_ends_at),
                    ..Return::default()
                }),
                None => {
                    self.missing(
                        "/return",
                        "a return_and_refund case needs the return parcel (its trace and countdown)",
                    );
                    None
                }
            },
            _ => None,
        };
        let open_refund_requests = self.shop(&r.shop);
        if let (Some(Some(mapped)), Some(RefundType::ReturnAndRefund)) = (&platform, refund_type)
            && return_.as_ref().is_none_or(|r| r.trace.is_empty())
        {
            // Without its trace the return reads as not shipped: say so when the platform
            // knows better (a waybill, or status 40: the return is sent).
            if let Some(waybill) = &mapped.waybill {
                self.notes.push(Warning {
                    code: WarningCode::ReturnTraceMissing,
                    args: vec![("waybill", Arg::Text(waybill.clone()))],
                });
            } else if mapped.platform.status == PlatformStatus::ReturnShipped {
                self.notes.push(Warning {
                    code: WarningCode::ReturnSentWithoutTrace,
                    args: vec![],
                });
            }
        }
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
                platform: platform.flatten().map(|m| m.platform),
            },
            as_of,
        })
    }

    fn refund_type(&mut self, v: &Option<Json<'_>>) -> Option<RefundType> {
        const TYPES: &str = "refund_only (仅退款) or return_and_refund (退货退款)";
        match given(v) {
            None => {
                self.missing("/refund_type", TYPES);
                None
            }
            Some(Json::String(s)) => RefundType::parse(s).or_else(|| {
                self.error(
                    "/refund_type",
                    format!("`{s}` is not a refund type: use {TYPES}"),
                );
                None
            }),
            Some(other) => {
                self.error(
                    "/refund_type",
                    format!("must be a string, not {}", other.kind()),
                );
                None
            }
        }
    }

    /// The order; with a Kuaishou detail, its id comes from the platform.
    fn order(
        &mut self,
        v: &Shaped<'_, body::Order<'_>>,
        platform: Option<&Option<kuaishou::Mapped>>,
    ) -> Option<Order> {
        let o = self.object(v, "/order")?;
        self.unknown(&o.unknown, "/order", body::Order::KEYS);
        let order_id = match platform {
            Some(mapped) => {
                if o.order_id.is_some() {
                    self.given_by_platform("/order/order_id", "oid");
                }
                mapped.as_ref().map(|m| m.order_id.clone())
            }
            None => {
                let id = self.string(&o.order_id, At("/order", "order_id"));
                match &id {
                    None if given(&o.order_id).is_none() => {
                        self.missing("/order/order_id", "the shop's order id")
                    }
                    Some(id) if id.trim().is_empty() => self.error(
                        "/order/order_id",
                        "must not be blank (the shop's order id; white space alone is none)",
                    ),
                    _ => {}
                }
                id
            }
        };
        let placed_at = self.time(&o.placed_at, At("/order", "placed_at"));
        let (shipped_at, shipped_at_pointer) = match platform {
            // The order detail's sendTime, unless the body gives one.
            Some(Some(mapped)) if given(&o.shipped_at).is_none() => {
                (mapped.shipped_at, SENT_POINTER)
            }
            _ => (
                self.time(&o.shipped_at, At("/order", "shipped_at")),
                SHIPPED_AT,
            ),
        };
        Some(Order {
            order_id: order_id?,
            placed_at,
            shipped_at,
            shipped_at_pointer,
        })
    }

    fn place(&mut self, v: &Shaped<'_, body::Place<'_>>, ptr: &str) -> Option<Placed> {
        let p = self.object(v, ptr)?;
        let errors_before = self.errors.len();
        self.unknown(&p.unknown, ptr, body::Place::KEYS);
        // The digits of an adcode sent as a number.
        let mut digits = itoa::Buffer::new();
        let adcode = match &p.adcode {
            None => None,
            Some(Json::String(s)) if is_adcode(s) => Some(s.as_ref()),
            Some(Json::Number(n))
                if whole_number(n).is_some_and(|c| (100_000..=999_999).contains(&c)) =>
            {
                whole_number(n).map(|c| digits.format(c))
            }
            Some(other) => {
                self.error(
                    At(ptr, "adcode"),
                    format!("{other} is not an adcode: use the 6-digit GB/T 2260 code, like 330108 for 杭州市滨江区"),
                );
                None
            }
        };
        let input = DestinationRef {
            adcode,
            province: self.present_str(&p.province, At(ptr, "province")),
            city: self.present_str(&p.city, At(ptr, "city")),
            district: self.present_str(&p.district, At(ptr, "district")),
            address: self.present_str(&p.address, At(ptr, "address")),
        };
        if self.errors.len() > errors_before {
            return None;
        }
        let given_any = [&p.adcode, &p.province, &p.city, &p.district, &p.address]
            .iter()
            .any(|f| f.is_some());
        if !given_any {
            self.error(
                ptr,
                "needs at least one of adcode, province, city, district or address",
            );
            return None;
        }
        let names = [input.province, input.city, input.district, input.address];
        if input.adcode.is_none() && names.iter().flatten().all(|s| is_blank(s)) {
            let text: Vec<&str> = names.into_iter().flatten().collect();
            return Some(Placed::Blank(text.join(" ")));
        }
        Some(Placed::Place(self.placed(input)))
    }

    /// A destination, placed on the map, with what the caller should know about it.
    fn placed(&self, input: DestinationRef<'_>) -> Place {
        let resolution = self.ctx.gazetteer.resolve_ref(input);
        Place {
            area: resolution.area,
            label: resolution.area.map(|a| self.ctx.gazetteer.label(a)),
            notes: resolution.issues.into_iter().map(place_warning).collect(),
        }
    }

    /// A trace, as an array of events (`array_key`) or as the text a person copied
    /// (`text_key`), not both. `None` when it has problems.
    fn trace(
        &mut self,
        events: &Option<Shaped<'_, body::Events<'_>>>,
        text: &Option<Json<'_>>,
        ptr: &'static str,
        array_key: &'static str,
        text_key: &str,
    ) -> Option<Vec<Event>> {
        let text_at = At(ptr, text_key);
        match (given(events), given(text)) {
            (None, None) => Some(Vec::new()),
            (Some(_), Some(_)) => {
                self.error(
                    text_at,
                    format!("cannot be given with {array_key}: send the trace once, as events or as text"),
                );
                None
            }
            (Some(events), None) => {
                let array_at = At(ptr, array_key);
                let items = self.shaped(events, array_at, "an array of carrier events")?;
                let errors_before = self.errors.len();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let pointer = EventPointer::Item {
                        object: ptr,
                        key: array_key,
                        index: i,
                    };
                    if let Some(e) = self.event(item, pointer) {
                        out.push(e);
                    }
                }
                // Given newest first (as tracking APIs list it: its first event later
                // than its last), the trace is read oldest first, as a pasted text is, so
                // "the last given" of events at one instant is the newest in the trace's
                // own direction whichever way it was sent. Events keep their pointers.
                oldest_first(&mut out, |e| e.at);
                (self.errors.len() == errors_before).then_some(out)
            }
            (None, Some(Json::String(t))) => text::events(
                t,
                &text_at.pointer(),
                self.ctx.rules,
                &mut self.errors,
                &mut self.notes,
            ),
            (None, Some(other)) => {
                self.error(
                    text_at,
                    format!(
                        "must be a string (the trace as copied from a tracking page, one event a line), not {}",
                        other.kind()
                    ),
                );
                None
            }
        }
    }

    /// An event at `pointer` (which it keeps, for messages).
    fn event(&mut self, v: &Shaped<'_, body::Event<'_>>, pointer: EventPointer) -> Option<Event> {
        let ptr = &pointer;
        let e = self.object(v, ptr)?;
        self.unknown(&e.unknown, ptr, body::Event::KEYS);
        let at = self.required_time(&e.at, At(ptr, "at"), "when the carrier recorded the event");
        let description = self.present_string(&e.description, At(ptr, "description"));
        // `location` is accepted and kept out of the decision.
        let _ = self.string(&e.location, At(ptr, "location"));
        // A status wins over the description (with a warning when the description reads
        // as another status); a provider code is read from its table, carrier text from
        // the rules' phrase table. The raw value is kept for the explanation.
        let (reading, raw) = match &e.status {
            Some(Json::String(s)) => self.status(s, At(ptr, "status"))?,
            Some(other) => {
                self.error(
                    At(ptr, "status"),
                    format!("must be a string, not {}", other.kind()),
                );
                return None;
            }
            None => match &description {
                Some(text) => (self.read_description(text, ptr), Some(text.clone())),
                None if e.description.is_some() => return None,
                None => {
                    self.error(ptr, "needs a status (like in_transit or kuaidi100:3) or the carrier's description to read one from");
                    return None;
                }
            },
        };
        let at = at?;
        if let (Some(_), Some(text)) = (&e.status, &description)
            && let Some(read_as) = contradicted(self.ctx.rules, reading, text)
        {
            self.notes.push(Warning {
                code: WarningCode::StatusDescriptionConflict,
                args: vec![
                    ("pointer", Arg::Text(pointer.to_string())),
                    ("status", reading_arg(reading)),
                    ("description", Arg::Text(text.clone())),
                    ("read_as", reading_arg(read_as)),
                ],
            });
        }
        let status = moved(reading, &pointer, raw.as_deref(), &mut self.notes)?;
        Some(Event {
            at,
            status,
            pointer,
            raw,
        })
    }

    /// Carrier text read with the rules' phrase table; text nothing matches is in
    /// transit, with a warning naming the event.
    fn read_description(&mut self, text: &str, pointer: impl Display) -> Reading {
        read_description(self.ctx.rules, text, pointer, &mut self.notes)
    }

    /// A normalized status (`in_transit`) or a provider's code (`kuaidi100:14`).
    fn status(
        &mut self,
        s: &str,
        at: At<'_, impl Display + Copy>,
    ) -> Option<(Reading, Option<String>)> {
        if let Some(st) = Status::parse(s) {
            return Some((Reading::Status(st), None));
        }
        if let Some((scheme, code)) = s.split_once(':') {
            return match crate::carriers::lookup(scheme, code) {
                Ok(p) => Some((p.reading, Some(format!("{s} {}", p.meaning)))),
                Err(e) => {
                    self.error(at, e.to_string());
                    None
                }
            };
        }
        let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        self.error(
            at,
            format!(
                "`{s}` is not a carrier status: use one of {}, or a provider code like kuaidi100:3",
                known.join(", ")
            ),
        );
        None
    }

    /// The return; with a Kuaishou return_and_refund, the platform's deadline is the
    /// countdown's end unless the body gives one.
    fn return_(
        &mut self,
        v: &Shaped<'_, body::Return<'_>>,
        platform: Option<&Option<kuaishou::Mapped>>,
    ) -> Option<Return> {
        let r = self.object(v, "/return")?;
        self.unknown(&r.unknown, "/return", body::Return::KEYS);
        // Read on after a destination with problems, so that all are reported.
        let destination = given(&r.destination).map(|d| self.place(d, "/return/destination"));
        let trace = self
            .trace(&r.trace, &r.trace_text, "/return", "trace", "trace_text")
            .unwrap_or_default();
        let countdown_started_at = self.time(
            &r.countdown_started_at,
            At("/return", "countdown_started_at"),
        );
        let mut countdown_ends_at =
            self.time(&r.countdown_ends_at, At("/return", "countdown_ends_at"));
        if let Some(Some(mapped)) = platform
            && let Some(expires) = mapped.countdown_ends_at
        {
            // policy.md §9: `expireTime` is the countdown's end only at status 40. The
            // body's own end wins when it is earlier; a later one is cut to expireTime,
            // when the platform refunds by itself (a later respond_by would come too late).
            countdown_ends_at = Some(countdown_ends_at.map_or(expires, |own| own.min(expires)));
        }
        if let (Some(s), Some(e)) = (countdown_started_at, countdown_ends_at)
            && e <= s
        {
            // The platform's end time is what binds; the caller hears of the clash.
            self.notes.push(Warning {
                code: WarningCode::CountdownInconsistent,
                args: vec![("started_at", Arg::Time(s)), ("ends_at", Arg::Time(e))],
            });
        }
        let destination = match destination {
            Some(None) => return None,
            Some(Some(Placed::Place(place))) => Some(place),
            // A blank one is as good as none: the return address is missing.
            Some(Some(Placed::Blank(_))) | None => {
                self.return_address(platform.and_then(Option::as_ref))
            }
        };
        Some(Return {
            destination,
            trace,
            countdown_started_at,
            countdown_ends_at,
        })
    }

    /// The platform's return address (`address`), placed, for a return whose body
    /// gives no destination.
    fn return_address(&self, mapped: Option<&kuaishou::Mapped>) -> Option<Place> {
        let address = mapped?.return_address.as_deref()?;
        Some(self.placed(DestinationRef {
            address: Some(address),
            ..DestinationRef::default()
        }))
    }

    fn shop(&mut self, v: &Option<Shaped<'_, body::Shop<'_>>>) -> Option<u64> {
        let shop = self.object(given(v)?, "/shop")?;
        self.unknown(&shop.unknown, "/shop", body::Shop::KEYS);
        let v = given(&shop.open_refund_requests)?;
        let n = match v {
            Json::Number(n) => whole_number(n)
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

/// What `text` reads as, when it contradicts an event's explicit status (or provider
/// code) read as `given`: the text reads as another status, or as no movement, and says
/// nothing of `given` anywhere (so `拦截失败，已签收` does not contradict
/// `intercept_failed`, and `kuaidi100:101` 已下单 beside `已揽收` is contradicted both ways).
/// A provider's `in_transit` on a security check (安检) is no contradiction: the providers
/// have no code for security checks.
fn contradicted(rules: &Rules, given: Reading, text: &str) -> Option<Reading> {
    let (read_as, says_given) = rules.read_description_against(text, given)?;
    let on_the_way = |r| {
        matches!(
            r,
            Reading::Status(Status::InTransit | Status::SecurityCheck)
        )
    };
    let agree = read_as == given || (on_the_way(read_as) && on_the_way(given)) || says_given;
    (!agree).then_some(read_as)
}

/// A reading as a warning's value: a status's words, or no movement's.
fn reading_arg(reading: Reading) -> Arg {
    match reading {
        Reading::Status(s) => Arg::Status(s),
        Reading::NoMovement => Arg::Label(Label::NoMovement),
    }
}

/// The status of an event read as `reading`; `None` for an event that records no
/// movement of the parcel (a waybill created, not yet collected: policy.md §5), which is
/// left out of the trace with a warning naming it.
fn moved(
    reading: Reading,
    pointer: impl Display,
    raw: Option<&str>,
    notes: &mut Vec<Warning>,
) -> Option<Status> {
    if reading == Reading::NoMovement {
        notes.push(Warning {
            code: WarningCode::EventWithoutMovement,
            args: vec![
                ("pointer", Arg::Text(pointer.to_string())),
                ("raw", Arg::Text(raw.unwrap_or_default().to_owned())),
            ],
        });
    }
    reading.status()
}

/// Puts a trace given newest first (its first event later than its last) oldest first,
/// keeping the order given among events at one instant, reversed with the rest.
fn oldest_first<T>(trace: &mut [T], at: impl Fn(&T) -> Instant) {
    if trace.first().map(&at) > trace.last().map(&at) {
        trace.reverse();
    }
}

/// Carrier text read with the rules' phrase table; text nothing matches counts as in
/// transit, with a warning naming where it was.
fn read_description(
    rules: &Rules,
    text: &str,
    pointer: impl Display,
    notes: &mut Vec<Warning>,
) -> Reading {
    rules.read_description(text).unwrap_or_else(|| {
        notes.push(Warning {
            code: WarningCode::UnrecognizedDescription,
            args: vec![
                ("pointer", Arg::Text(pointer.to_string())),
                ("description", Arg::Text(text.to_owned())),
            ],
        });
        Reading::Status(Status::InTransit)
    })
}

/// The known key nearest to an unknown one, when it is close enough to be a slip: the
/// same but for case, `_` or `-` (`refundType`), one or two edits away
/// (`logistics_trase`, `stauts`), or the start of exactly one (`countdown_end`).
pub(crate) fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    // A long key is not a slip of a short one (and comparing it would cost).
    if key.len() > 64 {
        return None;
    }
    let fold = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let key = fold(key);
    let allowed = match key.len() {
        0..=2 => 0,
        3..=7 => 1,
        _ => 2,
    };
    let close = known
        .iter()
        .map(|k| (*k, edit_distance(&key, &fold(k))))
        .filter(|(_, d)| *d <= allowed)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k);
    let mut starting = known
        .iter()
        .filter(|k| key.len() >= 4 && fold(k).starts_with(&key));
    close.or(match (starting.next(), starting.next()) {
        (Some(k), None) => Some(*k),
        _ => None,
    })
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    // Three rows of the optimal-string-alignment table.
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut prev, row);
    }
    prev[b.len()]
}

/// The pointer of the Kuaishou order detail's `sendTime`, where `shipped_at` comes from
/// when the body gives none.
const SENT_POINTER: &str = "/kuaishou_order/orderBaseInfo/sendTime";

/// A destination as read: placed (as far as it goes), or blank: no adcode and nothing
/// but spaces, punctuation or invisible marks in its names and address (`""`, `"　"`,
/// `"-"`), with what was sent.
enum Placed {
    Place(Place),
    Blank(String),
}

/// Nothing a place could be read from: white space (ideographic too), punctuation
/// (ASCII, general, CJK and full-width) and invisible marks (zero-width space, BOM).
fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_whitespace()
            || c.is_ascii_punctuation()
            || matches!(c,
                '\u{2000}'..='\u{206F}' // general punctuation, zero-width marks
                | '\u{3000}'..='\u{303F}' // CJK symbols and punctuation
                | '\u{FE10}'..='\u{FE1F}' // vertical forms
                | '\u{FE30}'..='\u{FE4F}' // CJK compatibility forms
                | '\u{FF01}'..='\u{FF0F}' // full-width punctuation
                | '\u{FF1A}'..='\u{FF20}'
                | '\u{FF3B}'..='\u{FF40}'
                | '\u{FF5B}'..='\u{FF65}'
                | '\u{FEFF}'
                | '\u{00A0}'..='\u{00BF}' // Latin-1 punctuation and signs
                | '\u{00D7}' | '\u{00F7}')
    })
}

/// The largest backlog accepted for the surge hint.
pub const MAX_OPEN_REQUESTS: u64 = 1_000_000_000;

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
        PlaceIssue::Conflict { text, readings } => Warning {
            code: WarningCode::DestinationConflict,
            args: vec![
                ("text", Arg::Text(text)),
                ("readings", Arg::Text(readings.join("、"))),
            ],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::At;
    use crate::engine::EventPointer;

    #[test]
    fn an_item_s_pointer_is_its_array_s_pointer_and_its_index() {
        let item = |object, key, index| EventPointer::Item { object, key, index }.to_string();
        assert_eq!(item("", "logistics_trace", 0), "/logistics_trace/0");
        assert_eq!(item("/return", "trace", 12), "/return/trace/12");
        assert_eq!(
            item("/return", "trace", usize::MAX),
            format!("/return/trace/{}", usize::MAX)
        );
    }

    #[test]
    fn a_field_of_an_event_is_named_after_the_event_s_pointer() {
        let event = EventPointer::Item {
            object: "",
            key: "logistics_trace",
            index: 3,
        };
        assert_eq!(At(&event, "at").to_string(), "/logistics_trace/3/at");
        assert_eq!(At("/order", "order_id").to_string(), "/order/order_id");
        assert_eq!(At("/order", "order_id").pointer(), "/order/order_id");
    }
}
