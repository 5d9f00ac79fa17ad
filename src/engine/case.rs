//! A case as the engine sees it: times resolved, statuses normalized, destinations
//! placed. Built by `request::parse`; the engine never re-checks strings.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::codes::{RefundType, Status};
use crate::geo::Area;
use crate::time::Instant;

use super::Warning;

/// One after-sales case.
#[derive(Debug, Clone)]
pub struct Case {
    pub case_id: Option<String>,
    pub refund_type: RefundType,
    pub requested_at: Instant,
    pub order: Order,
    /// The buyer's address.
    pub destination: Place,
    /// The forward shipment's events, in the order given.
    pub trace: Vec<Event>,
    /// Present for `return_and_refund`.
    pub return_: Option<Return>,
    /// The shop's open refund requests, for the surge hint.
    pub open_refund_requests: Option<u64>,
    /// Warnings about the input found while parsing it.
    pub notes: Vec<Warning>,
    /// The platform's own state of the refund (policy.md §9), when the request came as
    /// the platform's refund object.
    pub platform: Option<super::PlatformRefund>,
}

/// The order.
#[derive(Debug, Clone)]
pub struct Order {
    pub order_id: String,
    pub placed_at: Option<Instant>,
    pub shipped_at: Option<Instant>,
    /// Where `shipped_at` came from, for messages: [`SHIPPED_AT`] or the Kuaishou order
    /// detail's `sendTime`.
    pub shipped_at_pointer: &'static str,
}

/// The pointer of the body's `order.shipped_at`.
pub const SHIPPED_AT: &str = "/order/shipped_at";

/// A destination, placed as far as it could be, with what the caller should know.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub area: Option<Area>,
    /// The place in words, for messages (`浙江省杭州市上城区`), shared with the map.
    pub label: Option<Arc<str>>,
    pub notes: Vec<Warning>,
}

/// A carrier event.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: Instant,
    pub status: Status,
    /// Where the event sits in the request (`/logistics_trace/1`), for messages.
    pub pointer: EventPointer,
    /// What the caller sent when it was not a normalized status: a provider code with
    /// its meaning, or the carrier's text.
    pub raw: Option<String>,
}

/// Where an event sits in the request, written out only when a message names it: most
/// events are never named, and an item's pointer built for each cost an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPointer {
    /// Item `index` of the array at `key` of the object at `object`
    /// (`/logistics_trace/1`: `""`, `logistics_trace`, 1).
    Item {
        object: &'static str,
        key: &'static str,
        index: usize,
    },
    /// Any other place: a line of a pasted trace, the platform's record of a delivery.
    Other(Cow<'static, str>),
}

impl From<&'static str> for EventPointer {
    fn from(pointer: &'static str) -> EventPointer {
        EventPointer::Other(Cow::Borrowed(pointer))
    }
}

impl From<String> for EventPointer {
    fn from(pointer: String) -> EventPointer {
        EventPointer::Other(Cow::Owned(pointer))
    }
}

impl fmt::Display for EventPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventPointer::Item { object, key, index } => write!(f, "{object}/{key}/{index}"),
            EventPointer::Other(pointer) => f.write_str(pointer),
        }
    }
}

/// The buyer's return parcel.
#[derive(Debug, Clone, Default)]
pub struct Return {
    /// The merchant's return address.
    pub destination: Option<Place>,
    pub trace: Vec<Event>,
    pub countdown_started_at: Option<Instant>,
    pub countdown_ends_at: Option<Instant>,
}
