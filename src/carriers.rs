//! Tracking providers' status codes (`kuaidi100:14`, `cainiao:TMS_SIGN`, `taobao:GOT`),
//! read from `data/carriers/codes.csv` into the normalized statuses.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::codes::Status;

const CODES: &str = include_str!("../data/carriers/codes.csv");

/// One provider code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCode {
    pub status: Status,
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
                && let Some(status) = Status::parse(status)
            {
                all.push(format!("{scheme}:{code}"));
                codes.insert(
                    (scheme.to_owned(), code.to_owned()),
                    ProviderCode {
                        status,
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
        let status = |s: &str, c: &str| lookup(s, c).map(|p| p.status);
        assert_eq!(
            status("kuaidi100", "4"),
            Ok(Status::Returned),
            "退签 is back at the sender"
        );
        assert_eq!(
            status("kuaidi100", "6"),
            Ok(Status::Returning),
            "退回 is on the way back"
        );
        assert_eq!(
            status("kuaidi100", "14"),
            Ok(Status::Rejected),
            "拒签 is a refusal"
        );
        assert_eq!(
            status("cainiao", "TMS_REJECT"),
            Ok(Status::Exception),
            "a failed pickup, not a refusal"
        );
        assert_eq!(status("taobao", "SIGNED"), Ok(Status::Delivered));
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
}
