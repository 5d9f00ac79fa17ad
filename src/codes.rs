//! The closed vocabularies of the policy: statuses, scenarios, decisions, actions,
//! evidence, explanations and warnings. Each is an enum whose wire name is fixed here
//! once; `ALL` lets the rules loader check that a rules file names only known codes and
//! translates every one of them.

/// Declares a code enum with its wire names, `ALL`, `as_str`, `parse`, serde and an
/// OpenAPI string-enum schema.
macro_rules! codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
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
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|c| c.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

codes! {
    /// A carrier event's normalized status (policy.md §8).
    pub enum Status {
        Collected = "collected",
        InTransit = "in_transit",
        SecurityCheck = "security_check",
        OutForDelivery = "out_for_delivery",
        Delivered = "delivered",
        Rejected = "rejected",
        Returning = "returning",
        Returned = "returned",
        Exception = "exception",
        InterceptRequested = "intercept_requested",
        Intercepted = "intercepted",
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
        RefundOnly = "refund_only",
        ReturnAndRefund = "return_and_refund",
    }
}

codes! {
    /// Which row of policy.md §5 or §6 matched.
    pub enum Scenario {
        NotShipped = "not_shipped",
        RejectedOrReturned = "rejected_or_returned",
        Delivered = "delivered",
        Stalled = "stalled",
        InTransit = "in_transit",
        ReturnNotShipped = "return_not_shipped",
        ReturnReceived = "return_received",
        ReturnFailed = "return_failed",
        ReturnCountdownExpired = "return_countdown_expired",
        ReturnUndeliveredInCountdown = "return_undelivered_in_countdown",
        ReturnInTransit = "return_in_transit",
    }
}

codes! {
    /// What the merchant should do with the request.
    pub enum Outcome {
        ApproveRefund = "approve_refund",
        InterceptAndRefund = "intercept_and_refund",
        RefundAfterRejection = "refund_after_rejection",
        AwaitReturn = "await_return",
        RejectWithEvidence = "reject_with_evidence",
        StandardProcess = "standard_process",
    }
}

codes! {
    /// The kinds of deadline a decision can carry.
    pub enum DeadlineKind {
        /// Stalled parcel: intercept and refund within the window (3.1.3).
        InterceptAndRefundBy = "intercept_and_refund_by",
        /// In transit: when the case turns stalled if nothing new is reported (3.1.3).
        StalledAfter = "stalled_after",
        /// Return: answer before the refund countdown ends (3.2).
        RespondBy = "respond_by",
        /// The platform's own deadline for the merchant's current step (Kuaishou
        /// `expireTime`, policy.md §9), whatever the status.
        PlatformDeadline = "platform_deadline",
    }
}

codes! {
    /// Evidence the merchant keeps or uploads.
    pub enum Evidence {
        CourierSiteScreenshot = "courier_site_screenshot",
        LogisticsRedStampCertificate = "logistics_red_stamp_certificate",
        ReturnTrackingRecord = "return_tracking_record",
    }
}

codes! {
    /// A step to take; its words live in the rules file.
    pub enum Action {
        ContactBuyerSecurityChecks = "contact_buyer_security_checks",
        ContactBuyerEventDelay = "contact_buyer_event_delay",
        ApproveRefundNow = "approve_refund_now",
        EnableAtomPreShipmentRefund = "enable_atom_pre_shipment_refund",
        InterceptAndRefund = "intercept_and_refund",
        InterceptAndRefundWithinWindow = "intercept_and_refund_within_window",
        ApproveRefundWithInterceptFailureProof = "approve_refund_with_intercept_failure_proof",
        GuideBuyerToReject = "guide_buyer_to_reject",
        RefundAfterRejection = "refund_after_rejection",
        ApproveRefundOnReceipt = "approve_refund_on_receipt",
        ReassureBuyerReturnDelayed = "reassure_buyer_return_delayed",
        GuideBuyerContactCourier = "guide_buyer_contact_courier",
        PromiseProcessingOnReceipt = "promise_processing_on_receipt",
        ContactBuyerReturnNotArrived = "contact_buyer_return_not_arrived",
        RejectBeforeCountdownEnds = "reject_before_countdown_ends",
        UploadReturnTrackingEvidence = "upload_return_tracking_evidence",
        FollowStandardProcess = "follow_standard_process",
        AnswerPlatformWithSameEvidence = "answer_platform_with_same_evidence",
        DoNotRejectAgain = "do_not_reject_again",
        WatchReturnAfterRejection = "watch_return_after_rejection",
    }
}

codes! {
    /// A finding that explains the decision; its words and section live in the rules file.
    pub enum Finding {
        InImpactPeriod = "in_impact_period",
        OutsideImpactPeriod = "outside_impact_period",
        InPhase = "in_phase",
        ZoneControlled = "zone_controlled",
        ZoneNotControlled = "zone_not_controlled",
        NoZone = "no_zone",
        NotApplicable = "not_applicable",
        NotShipped = "not_shipped",
        Surge = "surge",
        RejectedOrReturned = "rejected_or_returned",
        Delivered = "delivered",
        Stalled = "stalled",
        InterceptWindow = "intercept_window",
        InterceptFailedStalled = "intercept_failed_stalled",
        InTransit = "in_transit",
        InterceptFailedInTransit = "intercept_failed_in_transit",
        ReturnNotShipped = "return_not_shipped",
        ReturnReceived = "return_received",
        ReturnFailed = "return_failed",
        ReturnCountdownExpired = "return_countdown_expired",
        ReturnUndeliveredInCountdown = "return_undelivered_in_countdown",
        ReturnInTransit = "return_in_transit",
        NeverRejectStraightAway = "never_reject_straight_away",
        StatusRead = "status_read",
        RefundClosed = "refund_closed",
        PlatformIntervened = "platform_intervened",
        AlreadyRejected = "already_rejected",
        RefundNotCovered = "refund_not_covered",
        PlatformDeadline = "platform_deadline",
        BuyerClaimedReceipt = "buyer_claimed_receipt",
        /// A `scope = "zones"` notice, and the destination is in none of its zones.
        OutsideScope = "outside_scope",
    }
}

codes! {
    /// Something the caller should know about their input or the case.
    pub enum WarningCode {
        DestinationMismatch = "destination_mismatch",
        DestinationUnresolved = "destination_unresolved",
        DestinationAmbiguous = "destination_ambiguous",
        DestinationTooCoarse = "destination_too_coarse",
        UnknownAdcode = "unknown_adcode",
        ReturnDestinationMissing = "return_destination_missing",
        ReturnCountdownExpired = "return_countdown_expired",
        EventAfterAsOf = "event_after_as_of",
        RequestedAfterAsOf = "requested_after_as_of",
        UnrecognizedDescription = "unrecognized_description",
        CountdownInconsistent = "countdown_inconsistent",
        ReturnTraceMissing = "return_trace_missing",
        RefundClosed = "refund_closed",
        PlatformIntervened = "platform_intervened",
        AlreadyRejected = "already_rejected",
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
