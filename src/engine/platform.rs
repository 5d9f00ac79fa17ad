//! policy.md §9: the platform's own state of a refund bounds what the notice can advise.
//!
//! When the request came as the platform's refund object (the Kuaishou refund detail),
//! the case carries a [`PlatformRefund`]. The §5/§6 rows decide first; [`apply`] then
//! bounds their answer, one paragraph of §9 after another:
//!
//! 1. a refund the notice does not cover (exchange, re-send, repair, price protection,
//!    seller-initiated): `standard_process`, with the kind in the explanation;
//! 2. a closed refund (`status` 50, 60, 70): `standard_process` and `refund_closed`;
//! 3. the platform has stepped in (`status` 20, 21, 22): the decision stands,
//!    `platform_intervened`, and the merchant answers the platform with the same evidence;
//! 4. the merchant has already rejected (`negotiateStatus` 3): never `reject_with_evidence`
//!    again, `already_rejected` (see [`after_rejection`] for what the decision becomes);
//! 5. the platform's deadline (`expireTime`) is always reported as `platform_deadline`.
//!
//! The buyer's own claim of receipt (`receiptStatus` 2) is read before the rows, as the
//! delivery it claims ([`claimed_receipt`]), and explained as a claim.

use smallvec::smallvec;

use crate::codes::{
    Action, DeadlineKind, Finding, Label, Outcome, RefundType, Status, WarningCode,
};
use crate::time::Instant;

use super::{Arg, Case, Decision, Event, Explanation, Warning, deadline};

/// The platform's state of the refund, as its refund detail tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRefund {
    pub status: PlatformStatus,
    /// `negotiateStatus` 3: the merchant has already rejected, and the buyer may modify
    /// the request.
    pub merchant_rejected: bool,
    /// `expireTime`: the platform's deadline for the merchant's current step. Whether it
    /// is also the §6 countdown's end (only at `status` 40) is for the request mapping
    /// to say, through `Return::countdown_ends_at`.
    pub deadline: Option<Instant>,
    /// Why the request is not a refund the notice covers, if it is not.
    pub not_covered: Option<NotCovered>,
    /// `receiptStatus` 2: on applying, the buyer said they had received the goods.
    pub buyer_claims_receipt: bool,
}

/// Kuaishou's refund `status` (退款状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformStatus {
    /// 10 买家仅退款申请: the buyer applied for a refund only.
    RefundOnlyApplied,
    /// 11 买家退货退款申请: the buyer applied to return the goods for a refund.
    ReturnApplied,
    /// 20 平台介入-买家仅退款申请.
    IntervenedRefundOnly,
    /// 21 平台介入-买家退货退款申请.
    IntervenedReturn,
    /// 22 平台介入-已确认退货退款: the platform confirmed the return.
    IntervenedReturnConfirmed,
    /// 30 商品回寄信息待买家更新: waiting for the buyer to send the return.
    AwaitingReturnShipment,
    /// 40 商品回寄信息待卖家确认: the return is sent, waiting for the merchant.
    ReturnShipped,
    /// 45 待买家确认收货: waiting for the buyer to confirm receipt.
    AwaitingBuyerReceipt,
    /// 50 退款执行中: the refund is being paid.
    RefundPaying,
    /// 60 退款成功.
    Refunded,
    /// 70 退款失败.
    RefundFailed,
}

impl PlatformStatus {
    /// Every status, in the platform's order.
    pub const ALL: [PlatformStatus; 11] = [
        PlatformStatus::RefundOnlyApplied,
        PlatformStatus::ReturnApplied,
        PlatformStatus::IntervenedRefundOnly,
        PlatformStatus::IntervenedReturn,
        PlatformStatus::IntervenedReturnConfirmed,
        PlatformStatus::AwaitingReturnShipment,
        PlatformStatus::ReturnShipped,
        PlatformStatus::AwaitingBuyerReceipt,
        PlatformStatus::RefundPaying,
        PlatformStatus::Refunded,
        PlatformStatus::RefundFailed,
    ];

    /// The platform's number for it.
    pub const fn code(self) -> u16 {
        match self {
            PlatformStatus::RefundOnlyApplied => 10,
            PlatformStatus::ReturnApplied => 11,
            PlatformStatus::IntervenedRefundOnly => 20,
            PlatformStatus::IntervenedReturn => 21,
            PlatformStatus::IntervenedReturnConfirmed => 22,
            PlatformStatus::AwaitingReturnShipment => 30,
            PlatformStatus::ReturnShipped => 40,
            PlatformStatus::AwaitingBuyerReceipt => 45,
            PlatformStatus::RefundPaying => 50,
            PlatformStatus::Refunded => 60,
            PlatformStatus::RefundFailed => 70,
        }
    }

    /// The status with this number, if the platform documents it.
    pub fn from_code(code: i64) -> Option<PlatformStatus> {
        PlatformStatus::ALL
            .into_iter()
            .find(|s| i64::from(s.code()) == code)
    }

    /// Its words in the rules file.
    pub const fn label(self) -> Label {
        match self {
            PlatformStatus::RefundOnlyApplied => Label::KuaishouStatus10,
            PlatformStatus::ReturnApplied => Label::KuaishouStatus11,
            PlatformStatus::IntervenedRefundOnly => Label::KuaishouStatus20,
            PlatformStatus::IntervenedReturn => Label::KuaishouStatus21,
            PlatformStatus::IntervenedReturnConfirmed => Label::KuaishouStatus22,
            PlatformStatus::AwaitingReturnShipment => Label::KuaishouStatus30,
            PlatformStatus::ReturnShipped => Label::KuaishouStatus40,
            PlatformStatus::AwaitingBuyerReceipt => Label::KuaishouStatus45,
            PlatformStatus::RefundPaying => Label::KuaishouStatus50,
            PlatformStatus::Refunded => Label::KuaishouStatus60,
            PlatformStatus::RefundFailed => Label::KuaishouStatus70,
        }
    }

    /// The refund type the status belongs to, when it belongs to one: 10 and 20 are a
    /// buyer's refund-only application (仅退款申请), 11, 21 and 22 a return application
    /// (退货退款申请), 30 and 40 the return parcel's steps (商品回寄). 45 (S2: the seller
    /// has shipped, as in exchanges and re-sends) and the closed 50, 60 and 70 go with
    /// either. A covered `handlingWay` of the other type contradicts the status.
    pub const fn refund_type(self) -> Option<RefundType> {
        match self {
            PlatformStatus::RefundOnlyApplied | PlatformStatus::IntervenedRefundOnly => {
                Some(RefundType::RefundOnly)
            }
            PlatformStatus::ReturnApplied
            | PlatformStatus::IntervenedReturn
            | PlatformStatus::IntervenedReturnConfirmed
            | PlatformStatus::AwaitingReturnShipment
            | PlatformStatus::ReturnShipped => Some(RefundType::ReturnAndRefund),
            PlatformStatus::AwaitingBuyerReceipt
            | PlatformStatus::RefundPaying
            | PlatformStatus::Refunded
            | PlatformStatus::RefundFailed => None,
        }
    }

    /// Being paid, refunded or failed: nothing left for the merchant to decide.
    pub const fn is_closed(self) -> bool {
        matches!(
            self,
            PlatformStatus::RefundPaying | PlatformStatus::Refunded | PlatformStatus::RefundFailed
        )
    }

    /// The platform has stepped in (平台介入).
    pub const fn is_intervened(self) -> bool {
        matches!(
            self,
            PlatformStatus::IntervenedRefundOnly
                | PlatformStatus::IntervenedReturn
                | PlatformStatus::IntervenedReturnConfirmed
        )
    }

    /// What the platform does by itself when its deadline passes, when we know it: at
    /// 40 the refund goes through unless the merchant has answered (the notice's 3.2:
    /// reject *before* the countdown ends). For the other statuses no public source
    /// we found says, so the text says it is unknown.
    const fn at_expiry(self) -> Label {
        match self {
            PlatformStatus::ReturnShipped => Label::PlatformAutoRefunds,
            _ => Label::PlatformActionUnknown,
        }
    }
}

/// Requests the platform calls after-sales but the notice's refunds are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotCovered {
    /// `handlingWay` 3 换货.
    Exchange,
    /// `handlingWay` 4 补寄.
    Resend,
    /// `handlingWay` 5 维修.
    Repair,
    /// `specialRefundType` 1 价保.
    PriceProtection,
    /// `refundType` 2 卖家主动退款.
    SellerInitiated,
}

impl NotCovered {
    /// Its words in the rules file.
    pub const fn label(self) -> Label {
        match self {
            NotCovered::Exchange => Label::ExchangeRequest,
            NotCovered::Resend => Label::ResendRequest,
            NotCovered::Repair => Label::RepairRequest,
            NotCovered::PriceProtection => Label::PriceProtectionRefund,
            NotCovered::SellerInitiated => Label::SellerInitiatedRefund,
        }
    }
}

/// The delivery the buyer claimed on applying, as an event of the forward trace at the
/// request's time, for refund-only cases whose trace shows no delivery of its own. Its
/// effect is a carrier's `delivered`; [`is_claim`] tells it apart for the explanation.
pub(super) fn claimed_receipt(case: &Case) -> Option<Event> {
    let claims = case.platform.as_ref()?.buyer_claims_receipt;
    let delivered = case.trace.iter().any(|e| e.status == Status::Delivered);
    (claims && case.refund_type == RefundType::RefundOnly && !delivered).then(|| Event {
        at: case.requested_at,
        status: Status::Delivered,
        pointer: "".into(),
        raw: None,
    })
}

/// Whether `event` is the buyer's claim rather than a carrier's record.
pub(super) fn is_claim(event: &Event, claim: Option<&Event>) -> bool {
    claim.is_some_and(|c| std::ptr::eq(c, event))
}

/// policy.md §9, applied to the decision the §5/§6 rows made.
pub(super) fn apply(d: &mut Decision, p: &PlatformRefund) {
    let status = [("status", Arg::Label(p.status.label()))];

    // ¶4 (not a refund the notice covers) and ¶1 (closed: never advise approving, or
    // rejecting, it again) both leave the platform's standard process.
    if p.not_covered.is_some() || p.status.is_closed() {
        super::to_standard_process(d);
    }
    if let Some(kind) = p.not_covered {
        d.explanation.push(Explanation {
            finding: Finding::RefundNotCovered,
            args: smallvec![("kind", Arg::Label(kind.label()))],
        });
    }
    if p.status.is_closed() {
        say(d, Finding::RefundClosed, WarningCode::RefundClosed, &status);
    }

    // ¶2: the platform has stepped in. The decision stands; the merchant now answers
    // the platform, with the same evidence.
    if p.status.is_intervened() {
        d.actions.push(Action::AnswerPlatformWithSameEvidence);
        let warning = WarningCode::PlatformIntervened;
        say(d, Finding::PlatformIntervened, warning, &status);
    }

    // ¶3: already rejected, waiting for the buyer. Closed or not covered, the warning
    // stays but not the explanation, whose advice (refund at once on receipt) is for a
    // request the notice decides.
    if p.merchant_rejected {
        if d.outcome == Outcome::RejectWithEvidence {
            after_rejection(d);
        }
        if p.not_covered.is_some() || p.status.is_closed() {
            d.warnings.push(Warning {
                code: WarningCode::AlreadyRejected,
                args: Vec::new(),
            });
        } else {
            say(
                d,
                Finding::AlreadyRejected,
                WarningCode::AlreadyRejected,
                &[],
            );
        }
    }

    // ¶5: the platform's deadline, at every status (even where the notice does not
    // apply: it is the platform's, not the notice's).
    if let Some(due) = p.deadline {
        d.deadlines
            .push(deadline(DeadlineKind::PlatformDeadline, due, d.as_of));
        d.explanation.push(Explanation {
            finding: Finding::PlatformDeadline,
            args: smallvec![
                ("due_at", Arg::Time(due)),
                ("status", Arg::Label(p.status.label())),
                ("at_expiry", Arg::Label(p.status.at_expiry())),
            ],
        });
    }
}

/// Explains a rule of §9 and warns about it, with the same values.
fn say(d: &mut Decision, finding: Finding, warning: WarningCode, args: &[(&'static str, Arg)]) {
    d.explanation.push(Explanation {
        finding,
        args: args.iter().cloned().collect(),
    });
    d.warnings.push(Warning {
        code: warning,
        args: args.to_vec(),
    });
}

/// What `reject_with_evidence` becomes once the merchant has rejected (`negotiateStatus`
/// 3): `await_return`. The rejection is done and the buyer may now modify the request
/// (or call in the platform), so the merchant does not reject again: they keep talking
/// to the buyer, watch the return and the buyer's modification, refund at once on
/// receipt, and keep the return's tracking record to answer the platform with. The
/// `respond_by` deadline goes (the merchant has answered); the platform's own deadline,
/// when given, stays.
fn after_rejection(d: &mut Decision) {
    d.outcome = Outcome::AwaitReturn;
    d.deadlines.retain(|x| x.kind != DeadlineKind::RespondBy);
    d.actions = smallvec![
        Action::DoNotRejectAgain,
        Action::GuideBuyerContactCourier,
        Action::WatchReturnAfterRejection,
    ];
}
