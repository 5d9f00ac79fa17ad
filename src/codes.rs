//! The closed vocabularies of the policy: statuses, scenarios, decisions, actions,
//! evidence, explanations and warnings. Each is an enum whose wire name is fixed here
//! once; `ALL` lets the rules loader check that a rules file names only known codes and
//! translates every one of them.

/// Declares a code enum with its wire names, `ALL`, `as_str`, `parse`, serde and an
/// OpenAPI string-enum schema.
macro_rules! codes {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $( $(#[doc = $vdoc:literal])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[doc = $vdoc])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Position in `ALL`, for tables indexed by code.
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value with this wire name, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// What the value means (its doc comment, as one paragraph); the API
            /// description shows it beside the value.
            pub fn description(self) -> String {
                let lines: &[&str] = match self {
                    $($name::$variant => &[$($vdoc),*],)+
                };
                paragraph(lines)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                enum_schema(
                    &paragraph(&[$($doc),*]),
                    Self::ALL.iter().map(|c| (c.as_str(), c.description())),
                )
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Doc-comment lines (`#[doc]` values) as one paragraph.
fn paragraph(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A string enum whose every value is described twice over: in the description as a
/// Markdown list (every generator and viewer shows it) and in `x-enumDescriptions`, the
/// value-to-text map Redocly's tools render as a table.
pub fn enum_schema<'a>(
    description: &str,
    values: impl Iterator<Item = (&'a str, String)>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let values: Vec<(&str, String)> = values.collect();
    let mut text = description.to_owned();
    text.push('\n');
    for (wire, meaning) in &values {
        text.push_str(&format!("\n- `{wire}`: {meaning}"));
    }
    let map: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(wire, meaning)| ((*wire).to_owned(), meaning.clone().into()))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(text))
        .enum_values(Some(values.iter().map(|(wire, _)| *wire)))
        .extensions(Some(
            ExtensionsBuilder::new()
                .add("x-enumDescriptions", serde_json::Value::Object(map))
                .build(),
        ))
        .into()
}

codes! {
    /// A carrier event's normalized status.
    pub enum Status {
        /// The carrier has picked the parcel up (揽收).
        Collected = "collected",
        /// Moving between the carrier's sites (运输中).
        InTransit = "in_transit",
        /// Held for a security check (安检), as parcels to a control zone are.
        SecurityCheck = "security_check",
        /// With the courier for delivery (派送中).
        OutForDelivery = "out_for_delivery",
        /// Signed for (签收).
        Delivered = "delivered",
        /// Refused by the recipient (拒收/拒签).
        Rejected = "rejected",
        /// On its way back to the sender (退回中).
        Returning = "returning",
        /// Back with the sender (已退回/退签).
        Returned = "returned",
        /// A problem parcel (疑难/问题件): held, damaged, wrong address.
        Exception = "exception",
        /// The merchant asked the carrier to intercept the parcel (拦截中): a step the
        /// merchant took, not a movement of the parcel.
        InterceptRequested = "intercept_requested",
        /// The interception succeeded (拦截成功): the parcel goes back.
        Intercepted = "intercepted",
        /// The interception failed (拦截失败): a step the merchant took, not a movement of
        /// the parcel.
        InterceptFailed = "intercept_failed",
    }
}

impl Status {
    /// Interception events record what the merchant did; every other status is a
    /// movement of the parcel (policy.md §5).
    pub const fn is_interception(self) -> bool {
        matches!(self, Status::InterceptRequested | Status::InterceptFailed)
    }
}

codes! {
    /// 仅退款 or 退货退款.
    pub enum RefundType {
        /// 仅退款: the buyer wants the money back and keeps or never gets the goods; the
        /// forward shipment decides.
        RefundOnly = "refund_only",
        /// 退货退款: the buyer sends the goods back for the refund; the return parcel decides.
        ReturnAndRefund = "return_and_refund",
    }
}

codes! {
    /// Which situation of the notice the case is in: the first five are refund-only
    /// (仅退款, notice 3.1), the others return-and-refund (退货退款, notice 3.2).
    pub enum Scenario {
        /// Refund only: no carrier movement and no shipping time, so the order has not
        /// shipped (3.1.1).
        NotShipped = "not_shipped",
        /// Refund only: the latest movement is a rejection, a return or a successful
        /// interception (3.1.4).
        RejectedOrReturned = "rejected_or_returned",
        /// Refund only: the parcel has been signed for, which the notice does not cover.
        Delivered = "delivered",
        /// Refund only: no new carrier movement for longer than the stall threshold (72
        /// hours in the 2023 notice) (3.1.3).
        Stalled = "stalled",
        /// Refund only: shipped and still moving (3.1.2).
        InTransit = "in_transit",
        /// Return: the return parcel has no carrier movement yet.
        ReturnNotShipped = "return_not_shipped",
        /// Return: the merchant has signed for the return.
        ReturnReceived = "return_received",
        /// Return: the return was rejected or went back to the buyer.
        ReturnFailed = "return_failed",
        /// Return: the platform's refund countdown has already ended.
        ReturnCountdownExpired = "return_countdown_expired",
        /// Return: the countdown is running and the return is not out for delivery yet
        /// (3.2).
        ReturnUndeliveredInCountdown = "return_undelivered_in_countdown",
        /// Return: on its way, with no countdown yet or already out for delivery.
        ReturnInTransit = "return_in_transit",
    }
}

codes! {
    /// What the merchant should do with the request.
    pub enum Outcome {
        /// Approve the refund now.
        ApproveRefund = "approve_refund",
        /// Have the courier intercept the parcel and approve the refund (by the
        /// `intercept_and_refund_by` deadline when the parcel is stalled).
        InterceptAndRefund = "intercept_and_refund",
        /// The interception failed: use refund after rejection (同意拒收后退款); the buyer
        /// refuses the parcel and the refund follows.
        RefundAfterRejection = "refund_after_rejection",
        /// Wait for the return: reassure the buyer, refund as soon as it is signed for.
        AwaitReturn = "await_return",
        /// Contact the buyer first, then reject before the countdown ends (`respond_by`),
        /// uploading the return's tracking record as evidence.
        RejectWithEvidence = "reject_with_evidence",
        /// The notice does not change this case: the platform's standard after-sales
        /// process applies.
        StandardProcess = "standard_process",
    }
}

codes! {
    /// What a deadline is for. Each is an instant in `due_at`, with the time left.
    pub enum DeadlineKind {
        /// Stalled parcel: have it intercepted and approve the refund by then (notice
        /// 3.1.3: within 48 hours of the later of the request and the moment the parcel
        /// had been stalled for 72 hours).
        InterceptAndRefundBy = "intercept_and_refund_by",
        /// Parcel in transit: not something to do, but when the case turns `stalled` (and
        /// the intercept window starts) if the carrier reports nothing new by then.
        StalledAfter = "stalled_after",
        /// Return: answer (reject with evidence) before the platform's refund countdown
        /// ends (notice 3.2).
        RespondBy = "respond_by",
        /// The platform's own deadline for the merchant's current step (Kuaishou
        /// `expireTime`), whatever the refund's status; the explanation says what the
        /// platform does by itself then, when known.
        PlatformDeadline = "platform_deadline",
    }
}

codes! {
    /// Evidence the merchant keeps or uploads.
    pub enum Evidence {
        /// A screenshot of the courier's official site (快递官网截图), e.g. showing the failed
        /// interception.
        CourierSiteScreenshot = "courier_site_screenshot",
        /// A certificate with the logistics company's red stamp (物流红章证明).
        LogisticsRedStampCertificate = "logistics_red_stamp_certificate",
        /// The return parcel's tracking record, uploaded to the refund's detail page.
        ReturnTrackingRecord = "return_tracking_record",
    }
}

codes! {
    /// A step to take; its words live in the rules file.
    pub enum Action {
        /// Tell the buyer that parcels to the place go through security checks and are
        /// delayed, and reassure them.
        ContactBuyerSecurityChecks = "contact_buyer_security_checks",
        /// Tell the buyer that the event is slowing deliveries, and reassure them.
        ContactBuyerEventDelay = "contact_buyer_event_delay",
        /// Approve the refund promptly.
        ApproveRefundNow = "approve_refund_now",
        /// Refund requests are surging: consider the ATOM pre-shipment automatic
        /// refund-only strategy (发货前自动仅退款).
        EnableAtomPreShipmentRefund = "enable_atom_pre_shipment_refund",
        /// Ask the courier to intercept the parcel and approve the refund.
        InterceptAndRefund = "intercept_and_refund",
        /// Within the intercept window, have the parcel intercepted and approve the refund;
        /// keep proof if the interception fails.
        InterceptAndRefundWithinWindow = "intercept_and_refund_within_window",
        /// The interception failed: approve the refund with the proof of the failure.
        ApproveRefundWithInterceptFailureProof = "approve_refund_with_intercept_failure_proof",
        /// The interception failed: turn on refund after rejection and ask the buyer to
        /// refuse the parcel.
        GuideBuyerToReject = "guide_buyer_to_reject",
        /// Refund once the buyer's rejection has gone through.
        RefundAfterRejection = "refund_after_rejection",
        /// The return has been signed for: approve the refund at once.
        ApproveRefundOnReceipt = "approve_refund_on_receipt",
        /// Reassure the buyer that the controls may delay the return.
        ReassureBuyerReturnDelayed = "reassure_buyer_return_delayed",
        /// Guide the buyer to ask the courier about the return parcel.
        GuideBuyerContactCourier = "guide_buyer_contact_courier",
        /// Promise the refund as soon as the return is signed for.
        PromiseProcessingOnReceipt = "promise_processing_on_receipt",
        /// Tell the buyer first that the return has not arrived and what happens next;
        /// never reject straight away.
        ContactBuyerReturnNotArrived = "contact_buyer_return_not_arrived",
        /// After talking with the buyer, reject before the refund countdown ends.
        RejectBeforeCountdownEnds = "reject_before_countdown_ends",
        /// When rejecting, upload the return's tracking record to the refund's detail page.
        UploadReturnTrackingEvidence = "upload_return_tracking_evidence",
        /// Handle the request through the platform's standard after-sales process.
        FollowStandardProcess = "follow_standard_process",
        /// The platform has stepped in: answer it with the same advice and evidence.
        AnswerPlatformWithSameEvidence = "answer_platform_with_same_evidence",
        /// The merchant has already rejected once: do not reject again; keep talking to the
        /// buyer.
        DoNotRejectAgain = "do_not_reject_again",
        /// Watch the return and the buyer's modified request; refund as soon as the return
        /// is signed for.
        WatchReturnAfterRejection = "watch_return_after_rejection",
    }
}

codes! {
    /// A reason behind the decision; the explanation gives the notice's section with it,
    /// and the words (from the rules file).
    pub enum Finding {
        /// The request was filed in the notice's impact period.
        InImpactPeriod = "in_impact_period",
        /// The request was filed outside the notice's impact period.
        OutsideImpactPeriod = "outside_impact_period",
        /// The request falls in one of the notice's phases (e.g. the Asian Games).
        InPhase = "in_phase",
        /// The destination is in a control zone and the request or a carrier event falls in
        /// its control window.
        ZoneControlled = "zone_controlled",
        /// The destination is in a control zone, but nothing falls in its control window.
        ZoneNotControlled = "zone_not_controlled",
        /// The destination is in no control zone.
        NoZone = "no_zone",
        /// The notice does not apply to the case.
        NotApplicable = "not_applicable",
        /// No carrier movement and no shipping time: the order has not shipped.
        NotShipped = "not_shipped",
        /// The shop's open refund requests reach the surge level.
        Surge = "surge",
        /// The trace shows a rejection or a return.
        RejectedOrReturned = "rejected_or_returned",
        /// The parcel has been signed for.
        Delivered = "delivered",
        /// No new carrier movement for longer than the stall threshold.
        Stalled = "stalled",
        /// How the intercept-and-refund deadline was computed.
        InterceptWindow = "intercept_window",
        /// A stalled parcel's interception failed.
        InterceptFailedStalled = "intercept_failed_stalled",
        /// The parcel is on its way, and when it would count as stalled.
        InTransit = "in_transit",
        /// A moving parcel's interception failed.
        InterceptFailedInTransit = "intercept_failed_in_transit",
        /// The return parcel has no carrier movement yet.
        ReturnNotShipped = "return_not_shipped",
        /// The return has been signed for.
        ReturnReceived = "return_received",
        /// The return did not reach the merchant.
        ReturnFailed = "return_failed",
        /// The refund countdown has already ended.
        ReturnCountdownExpired = "return_countdown_expired",
        /// The countdown is running and the return is not out for delivery.
        ReturnUndeliveredInCountdown = "return_undelivered_in_countdown",
        /// The return is on its way.
        ReturnInTransit = "return_in_transit",
        /// The rule for every rejection: contact the buyer first and upload evidence.
        NeverRejectStraightAway = "never_reject_straight_away",
        /// How the latest carrier event's raw text or provider code was read.
        StatusRead = "status_read",
        /// The platform's refund is being paid or is over.
        RefundClosed = "refund_closed",
        /// The platform has stepped into the refund (平台介入).
        PlatformIntervened = "platform_intervened",
        /// The merchant has already rejected the request once.
        AlreadyRejected = "already_rejected",
        /// The platform's request is not a refund the notice covers (exchange, re-send,
        /// repair, price protection, seller-initiated).
        RefundNotCovered = "refund_not_covered",
        /// The platform's deadline for the merchant's current step, and what happens then.
        PlatformDeadline = "platform_deadline",
        /// The buyer said on applying that they have the goods; treated as delivered.
        BuyerClaimedReceipt = "buyer_claimed_receipt",
        /// A `scope = "zones"` notice, and the destination is in none of its zones.
        OutsideScope = "outside_scope",
    }
}

codes! {
    /// Something the caller should know about their input or the case.
    pub enum WarningCode {
        /// The adcode and the place names disagree; the adcode decided.
        DestinationMismatch = "destination_mismatch",
        /// The address could not be placed in a province, city and district.
        DestinationUnresolved = "destination_unresolved",
        /// A name could be several places, so no zone was inferred from it.
        DestinationAmbiguous = "destination_ambiguous",
        /// The address stops at a level where only part of the place is in a control zone.
        DestinationTooCoarse = "destination_too_coarse",
        /// The adcode is not in the division table; only its prefix was used.
        UnknownAdcode = "unknown_adcode",
        /// The place names contradict each other (a city, then another city's district);
        /// the destination was placed only as far as every reading agrees.
        DestinationConflict = "destination_conflict",
        /// A return-and-refund case without the merchant's return address.
        ReturnDestinationMissing = "return_destination_missing",
        /// The refund countdown has already ended.
        ReturnCountdownExpired = "return_countdown_expired",
        /// A deadline the advice depends on had passed by the decision time.
        DeadlinePassed = "deadline_passed",
        /// A carrier event is later than the decision time.
        EventAfterAsOf = "event_after_as_of",
        /// The request time is later than the decision time.
        RequestedAfterAsOf = "requested_after_as_of",
        /// The return countdown starts after the decision time: it had not started then.
        CountdownAfterAsOf = "countdown_after_as_of",
        /// Carrier events at the latest instant have statuses that contradict each other
        /// (signed for and refused); the last of them in the trace read oldest first decided.
        SimultaneousEventsConflict = "simultaneous_events_conflict",
        /// A carrier text could not be read and was taken as in transit.
        UnrecognizedDescription = "unrecognized_description",
        /// A carrier event records no movement of the parcel (a waybill created, not yet
        /// collected) and was left out of the trace.
        EventWithoutMovement = "event_without_movement",
        /// A line of a pasted trace with no time and nothing like a date in it, before the
        /// first event or after the last (a tracking page's heading or footer), was left out.
        TraceLineSkipped = "trace_line_skipped",
        /// An event's status and the status its description reads as disagree; the status
        /// was used.
        StatusDescriptionConflict = "status_description_conflict",
        /// The countdown ends no later than it starts; the end time was used.
        CountdownInconsistent = "countdown_inconsistent",
        /// The return waybill is known but its trace was not sent.
        ReturnTraceMissing = "return_trace_missing",
        /// Kuaishou status 40 says the return is sent, but the request has neither its
        /// waybill nor its trace.
        ReturnSentWithoutTrace = "return_sent_without_trace",
        /// Kuaishou status 50, 60 or 70: the refund is being paid or is over; do not approve
        /// or reject it again.
        RefundClosed = "refund_closed",
        /// Kuaishou status 20, 21 or 22: the platform has stepped in (平台介入); answer it
        /// with the same evidence.
        PlatformIntervened = "platform_intervened",
        /// Kuaishou negotiateStatus 3: the merchant has already rejected and the buyer may
        /// modify the request; do not reject again.
        AlreadyRejected = "already_rejected",
        /// The Kuaishou order detail's signature time (`recvTime`) is earlier than the
        /// shipping time used (`order.shipped_at`, else `sendTime`); both were used as given.
        ReceivedBeforeShipped = "received_before_shipped",
        /// A Kuaishou refund only (handlingWay 10) names a return waybill; a refund only
        /// has no return parcel, so it was not read.
        ReturnWaybillIgnored = "return_waybill_ignored",
    }
}

codes! {
    /// Words the explanations and warnings put into their texts (besides statuses,
    /// which are labelled by their own codes).
    pub enum Label {
        BuyerAddress = "buyer_address",
        ReturnAddress = "return_address",
        Request = "request",
        CarrierEvent = "carrier_event",
        KuaishouStatus10 = "kuaishou_status_10",
        KuaishouStatus11 = "kuaishou_status_11",
        KuaishouStatus20 = "kuaishou_status_20",
        KuaishouStatus21 = "kuaishou_status_21",
        KuaishouStatus22 = "kuaishou_status_22",
        KuaishouStatus30 = "kuaishou_status_30",
        KuaishouStatus40 = "kuaishou_status_40",
        KuaishouStatus45 = "kuaishou_status_45",
        KuaishouStatus50 = "kuaishou_status_50",
        KuaishouStatus60 = "kuaishou_status_60",
        KuaishouStatus70 = "kuaishou_status_70",
        ExchangeRequest = "exchange_request",
        ResendRequest = "resend_request",
        RepairRequest = "repair_request",
        PriceProtectionRefund = "price_protection_refund",
        SellerInitiatedRefund = "seller_initiated_refund",
        PlatformAutoRefunds = "platform_auto_refunds",
        PlatformActionUnknown = "platform_action_unknown",
        /// The end of a window without `until` (另行通知).
        FurtherNotice = "further_notice",
        /// A waybill created, not collected (待揽收): a carrier reading that is no status.
        NoMovement = "no_movement",
    }
}

codes! {
    /// How precisely a resolved place is known.
    pub enum AreaLevel {
        /// A province-level division (省, 自治区, 直辖市, 特别行政区).
        Province = "province",
        /// A city-level division (地级市, 自治州, 盟; a municipality's 市辖区 or 县).
        City = "city",
        /// A district or county (区, 县, 县级市, 旗).
        District = "district",
    }
}

codes! {
    /// Where the rules in force came from.
    pub enum RulesSource {
        /// The rules built into the binary (the 2023 Hangzhou notice).
        Embedded = "embedded",
        /// A rules file given with `--rules`.
        File = "file",
    }
}

codes! {
    /// Which destinations a notice applies to.
    pub enum NoticeScope {
        /// Every destination: the impact period alone can make it apply.
        Nationwide = "nationwide",
        /// Only destinations in its zones.
        Zones = "zones",
    }
}

codes! {
    /// What a probe says.
    pub enum HealthStatus {
        /// `/healthz`: the process answers.
        Ok = "ok",
        /// `/readyz`: the rules are loaded and the server is not draining.
        Ready = "ready",
    }
}

codes! {
    /// How a rules reload went.
    pub enum ReloadResult {
        /// The new rules are in force.
        Ok = "ok",
        /// The file was refused; the last good rules keep serving.
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_parse() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
        assert_eq!(Scenario::parse("stalled"), Some(Scenario::Stalled));
        assert_eq!(Scenario::parse("Stalled"), None);
    }

    #[test]
    fn only_intercept_requested_and_failed_are_interception_events() {
        let interception: Vec<_> = Status::ALL.iter().filter(|s| s.is_interception()).collect();
        assert_eq!(
            interception,
            [&Status::InterceptRequested, &Status::InterceptFailed]
        );
    }
}

codes! {
    /// A threshold of a notice, as its texts show it (a whole number): each is a
    /// placeholder every text of the notice may use, written in when the rules load.
    pub enum Threshold {
        /// `stall_after`, in whole hours.
        StallAfterHours = "stall_after_hours",
        /// `intercept_window`, in whole hours.
        InterceptWindowHours = "intercept_window_hours",
        /// `return_countdown`, in whole hours.
        ReturnCountdownHours = "return_countdown_hours",
        /// `surge_open_refund_requests`.
        SurgeOpenRefundRequests = "surge_open_refund_requests",
    }
}

codes! {
    /// One entry of `[text_view]`. Most are a whole line (or the part of a line) with the
    /// decision's values as placeholders, so each language puts them in its own order.
    pub enum TextWord {
        /// The first line when the request names its case.
        Case = "case",
        /// The notice that decided, whether it applies, and the decision time.
        Notice = "notice",
        Applies = "applies",
        DoesNotApply = "does_not_apply",
        /// The other notices that apply too.
        AlsoApplies = "also_applies",
        /// The control zone of the destination.
        Zone = "zone",
        Controlled = "controlled",
        NotControlled = "not_controlled",
        /// A control window with an end.
        Window = "window",
        /// A control window until further notice.
        WindowOpen = "window_open",
        /// The heading above the deadlines.
        Deadlines = "deadlines",
        /// One deadline.
        Deadline = "deadline",
        /// The time left before a deadline.
        Left = "left",
        /// The time since a passed deadline.
        Overdue = "overdue",
        /// The heading above the numbered actions.
        Actions = "actions",
        /// The heading above the evidence to keep.
        Evidence = "evidence",
        /// Between the alternatives of one piece of evidence.
        Or = "or",
        /// The heading above the explanation.
        Why = "why",
        /// The heading above the warnings.
        Warnings = "warnings",
        /// The last line.
        DecisionId = "decision_id",
        /// A duration of a day or more.
        Days = "days",
        /// A duration of an hour or more.
        Hours = "hours",
        /// A duration under an hour.
        Minutes = "minutes",
    }
}
