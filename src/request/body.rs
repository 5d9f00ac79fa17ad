//! The request body as the contract defines it, each object with its keys (read by
//! `request::json`); a Kuaishou body is this top level with `kuaishou_refund`.

use super::json::{Json, Shaped, json_object};
use crate::kuaishou;

json_object! {
    /// A decision request (the contract's top level), or a Kuaishou body.
    pub struct Request<'de> {
        case_id: Json<'de> = "case_id",
        refund_type: Json<'de> = "refund_type",
        requested_at: Json<'de> = "requested_at",
        as_of: Json<'de> = "as_of",
        order: Shaped<'de, Order<'de>> = "order",
        destination: Shaped<'de, Place<'de>> = "destination",
        logistics_trace: Shaped<'de, Events<'de>> = "logistics_trace",
        /// The trace as a person copies it from a tracking page.
        logistics_text: Json<'de> = "logistics_text",
        // The larger objects a typical request leaves out, boxed: the struct is moved
        // several times as it is read, and its size is what each move copies.
        return_: Box<Shaped<'de, Return<'de>>> = "return",
        shop: Shaped<'de, Shop<'de>> = "shop",
        kuaishou_refund: Box<Shaped<'de, kuaishou::RefundDetail<'de>>> = "kuaishou_refund",
        kuaishou_order: Box<Shaped<'de, kuaishou::OrderDetail<'de>>> = "kuaishou_order",
    }
}

json_object! {
    /// The order.
    pub struct Order<'de> {
        order_id: Json<'de> = "order_id",
        placed_at: Json<'de> = "placed_at",
        shipped_at: Json<'de> = "shipped_at",
    }
}

json_object! {
    /// An address: the buyer's, or the merchant's return address.
    pub struct Place<'de> {
        adcode: Json<'de> = "adcode",
        province: Json<'de> = "province",
        city: Json<'de> = "city",
        district: Json<'de> = "district",
        address: Json<'de> = "address",
    }
}

/// A carrier's trace: events, each expected to be an object.
pub type Events<'de> = Vec<Shaped<'de, Event<'de>>>;

json_object! {
    /// One carrier event.
    pub struct Event<'de> {
        at: Json<'de> = "at",
        status: Json<'de> = "status",
        description: Json<'de> = "description",
        location: Json<'de> = "location",
    }
}

json_object! {
    /// The buyer's return parcel.
    pub struct Return<'de> {
        destination: Shaped<'de, Place<'de>> = "destination",
        trace: Shaped<'de, Events<'de>> = "trace",
        trace_text: Json<'de> = "trace_text",
        countdown_started_at: Json<'de> = "countdown_started_at",
        countdown_ends_at: Json<'de> = "countdown_ends_at",
    }
}

json_object! {
    /// The shop.
    pub struct Shop<'de> {
        open_refund_requests: Json<'de> = "open_refund_requests",
    }
}
