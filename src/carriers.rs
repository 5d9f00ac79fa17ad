//! Tracking providers' status codes (`kuaidi100:14`, `cainiao:TMS_SIGN`, `taobao:GOT`),
//! read from `data/carriers/codes.csv` into the normalized statuses, and what a carrier's
//! code or text can be read as ([`Reading`]).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::codes::Status;

const CODES: &str = include_str!("../data/carriers/codes.csv");

/// What a carrier's code or trace text says: a status (policy.md §8), or that nothing
/// moved yet (a waybill created, waiting for the courier to pick the parcel up: 已下单,
/// 待揽收). Such an event is no movement of the parcel (policy.md §5): it is left out of the
/// trace, with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Status(Status),
    NoMovement,
}

impl Reading {
    /// How the rules file and `codes.csv` write [`Reading::NoMovement`].
    pub const NO_MOVEMENT: &'static str = "no_movement";

    /// A status's code (`delivered`) or `no_movement`.
    pub fn parse(s: &str) -> Option<Reading> {
        if s == Self::NO_MOVEMENT {
            return Some(Reading::NoMovement);
        }
        Status::parse(s).map(Reading::Status)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reading::Status(s) => s.as_str(),
            Reading::NoMovement => Self::NO_MOVEMENT,
        }
    }

    /// The status, when it is one.
    pub fn status(self) -> Option<Status> {
        match self {
            Reading::Status(s) => Some(s),
            Reading::NoMovement => None,
        }
    }

    /// Every reading's code, for messages: the statuses, then `no_movement`.
    pub fn all_codes() -> Vec<&'static str> {
        Status::ALL
            .iter()
            .map(|s| s.as_str())
            .chain([Self::NO_MOVEMENT])
            .collect()
    }
}

/// One provider code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCode {
    pub reading: Reading,
    /// The provider's own words for it.
    pub meaning: String,
}

struct Table {
    codes: HashMap<(String, String), ProviderCode>,
    /// Every `scheme:code`, in file order (for the OpenAPI schema).
    all: Vec<String>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut codes = HashMap::new();
        let mut all = Vec::new();
        for line in CODES.lines().skip(1) {
            let mut f = line.splitn(4, ',');
            if let (Some(scheme), Some(code), Some(status), Some(meaning)) =
                (f.next(), f.next(), f.next(), f.next())
                && let Some(reading) = Reading::parse(status)
            {
                all.push(format!("{scheme}:{code}"));
                codes.insert(
                    (scheme.to_owned(), code.to_owned()),
                    ProviderCode {
                        reading,
                        meaning: meaning.to_owned(),
                    },
                );
            }
        }
        Table { codes, all }
    })
}

/// Why a `scheme:code` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    UnknownScheme(String),
    UnknownCode { scheme: String, code: String },
}

impl std::fmt::Display for CodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodeError::UnknownScheme(s) => write!(
                f,
                "`{s}` is not a known tracking provider: use kuaidi100, cainiao or taobao codes, or a status like in_transit"
            ),
            CodeError::UnknownCode { scheme, code } => {
                write!(f, "`{code}` is not a known {scheme} status code")
            }
        }
    }
}

/// Reads `scheme:code`.
pub fn lookup(scheme: &str, code: &str) -> Result<&'static ProviderCode, CodeError> {
    let t = table();
    t.codes
        .get(&(scheme.to_owned(), code.to_owned()))
        .ok_or_else(|| {
            if t.codes.keys().any(|(s, _)| s == scheme) {
                CodeError::UnknownCode {
                    scheme: scheme.to_owned(),
                    code: code.to_owned(),
                }
            } else {
                CodeError::UnknownScheme(scheme.to_owned())
            }
        })
}

/// Every known `scheme:code`.
pub fn all_codes() -> &'static [String] {
    &table().all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traps_are_read_as_documented() {
        let status = |s: &str, c: &str| lookup(s, c).map(|p| p.reading.status());
        assert_eq!(
            status("kuaidi100", "4"),
            Ok(Some(Status::Returned)),
            "退签 is back at the sender"
        );
        assert_eq!(
            status("kuaidi100", "6"),
            Ok(Some(Status::Returning)),
            "退回 is on the way back"
        );
        assert_eq!(
            status("kuaidi100", "14"),
            Ok(Some(Status::Rejected)),
            "拒签 is a refusal"
        );
        assert_eq!(
            status("cainiao", "TMS_REJECT"),
            Ok(Some(Status::Exception)),
            "a failed pickup, not a refusal"
        );
        assert_eq!(status("taobao", "SIGNED"), Ok(Some(Status::Delivered)));
        // A waybill created or waiting for the courier has not moved (policy.md §5).
        for (s, c) in [
            ("kuaidi100", "101"),
            ("kuaidi100", "102"),
            ("taobao", "CREATE"),
        ] {
            assert_eq!(status(s, c), Ok(None), "{s}:{c} is no movement");
        }
        assert_eq!(status("kuaidi100", "103"), Ok(Some(Status::Collected)));
        assert_eq!(status("taobao", "GOT"), Ok(Some(Status::Collected)));
        assert_eq!(
            status("kuaidi100", "302"),
            Ok(Some(Status::Delivered)),
            "派件异常后签收 is a delivery"
        );
    }

    #[test]
    fn unknown_schemes_and_codes_are_told_apart() {
        assert!(matches!(
            lookup("kuaidi100", "99"),
            Err(CodeError::UnknownCode { .. })
        ));
        assert!(matches!(
            lookup("ups", "D"),
            Err(CodeError::UnknownScheme(_))
        ));
        assert!(all_codes().len() > 60);
    }

    #[test]
    fn every_row_of_the_table_is_read() {
        let rows = CODES
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(
            all_codes().len(),
            rows,
            "a row with an unknown status is dropped"
        );
    }
}
