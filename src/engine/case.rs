//! A case as the engine sees it: times resolved, statuses normalized, destinations
//! placed. Built by `request::parse`; the engine never re-checks strings.

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
}

/// A destination, placed as far as it could be, with what the caller should know.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub area: Option<Area>,
    /// The place in words, for messages (`浙江省杭州市上城区`).
    pub label: Option<String>,
    pub notes: Vec<Warning>,
}

/// A carrier event.
#[derive(Debug, Clone)]
pub struct Event {
    pub at: Instant,
    pub status: Status,
    /// Where the event sits in the request (`/logistics_trace/1`), for messages.
    pub pointer: String,
    /// What the caller sent when it was not a normalized status: a provider code with
    /// its meaning, or the carrier's text.
    pub raw: Option<String>,
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
