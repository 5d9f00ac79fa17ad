//! `GET /v1/rules` and `GET /v1/zones/resolve`: what the service decides with.

use axum::extract::{Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::codes::WarningCode;
use crate::engine::{Arg, Warning};
use crate::geo::{Area, DestinationInput, Level};
use crate::http::extract::{OutputParams, negotiate};
use crate::http::problem::Problem;
use crate::http::routes::decisions::json;
use crate::http::state::AppState;
use crate::render::{WarningView, warning_message};
use crate::request::FieldError;
use crate::rules::{Window, ZoneMatch};
use crate::time;

/// The loaded rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// Set by the rules' author.
    pub version: String,
    /// `sha256:` and the digest of the rules file's bytes.
    pub checksum: String,
    /// `embedded` or `file`.
    pub source: String,
    pub loaded_at: String,
    pub time_zone: String,
    pub languages: Vec<String>,
    /// The last reload of the rules file (null before any): when a file fails, the last
    /// good rules keep serving and the error is here.
    pub reload: Option<crate::http::reload::ReloadStatus>,
    pub notices: Vec<NoticeView>,
    /// What the rules file's author should know (`aftersales rules check` prints the
    /// same): literal thresholds in texts, windows until further notice, …
    pub warnings: Vec<RulesWarningView>,
    /// The names of the file's `[[test]]`s, all of which passed when it loaded.
    pub tests: Vec<String>,
}

/// A warning about the rules file (docs/rules.md lists the codes).
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesWarningView {
    #[schema(example = "until_further_notice")]
    pub code: String,
    /// 1-based; 0 when the warning has no place in the file.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One disruption notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub name: String,
    pub source: Option<String>,
    pub time_zone: String,
    /// `nationwide` (applies to every destination) or `zones` (only to destinations in
    /// its zones).
    #[schema(example = "nationwide")]
    pub scope: String,
    /// Of several notices that apply, the higher priority decides (after the
    /// controlled zone, before the later start).
    pub priority: i64,
    pub impact_period: WindowView,
    pub phases: Vec<PhaseView>,
    pub zones: Vec<ZoneRuleView>,
    pub thresholds: ThresholdsView,
}

/// A half-open window: `from` included, `until` not.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    pub from: String,
    /// Null when the window lasts until further notice.
    pub until: Option<String>,
    /// True when the window has no end yet (另行通知).
    pub until_further_notice: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseView {
    pub id: String,
    pub name: String,
    pub window: WindowView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneRuleView {
    pub id: String,
    pub name: String,
    pub adcode_prefixes: Vec<String>,
    pub adcodes: Vec<String>,
    pub control: WindowView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThresholdsView {
    pub stall_after_hours: i64,
    pub intercept_window_hours: i64,
    pub return_countdown_hours: i64,
    pub surge_open_refund_requests: u64,
}

fn window(w: Window, tz: chrono_tz::Tz) -> WindowView {
    WindowView {
        from: time::format(w.from, tz),
        until: w.until.map(|u| time::format(u, tz)),
        until_further_notice: w.until.is_none(),
    }
}

/// The rules in force: version, checksum, when loaded, notices, zones, thresholds.
#[utoipa::path(
    get,
    path = "/v1/rules",
    tag = "rules",
    params(
        ("Accept-Language" = Option<String>, Header, description = "Language of the names: zh-CN (default) or en."),
        OutputParams,
    ),
    responses((status = 200, description = "The loaded rules.", body = RulesView)),
)]
pub async fn get_rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let loaded = state.rules();
    let rules = &loaded.rules;
    let how = negotiate(&headers, query.as_deref(), rules);
    let lang = how.lang;
    let view = RulesView {
        version: rules.version.clone(),
        checksum: rules.checksum.clone(),
        source: if rules.origin == crate::rules::EMBEDDED_NAME {
            "embedded".into()
        } else {
            "file".into()
        },
        loaded_at: time::format(loaded.loaded_at, rules.time_zone),
        time_zone: rules.time_zone.name().to_owned(),
        languages: rules.languages.clone(),
        reload: state.reload_status(),
        notices: rules
            .notices
            .iter()
            .map(|n| NoticeView {
                id: n.id.clone(),
                name: n.name.get(lang).plain(),
                source: n.source.clone(),
                time_zone: n.time_zone.name().to_owned(),
                scope: n.scope.as_str().to_owned(),
                priority: n.priority,
                impact_period: window(n.impact_period, n.time_zone),
                phases: n
                    .phases
                    .iter()
                    .map(|p| PhaseView {
                        id: p.id.clone(),
                        name: p.name.get(lang).plain(),
                        window: window(p.window, n.time_zone),
                    })
                    .collect(),
                zones: n
                    .zones
                    .iter()
                    .map(|z| ZoneRuleView {
                        id: z.id.clone(),
                        name: z.name.get(lang).plain(),
                        adcode_prefixes: z.adcode_prefixes.clone(),
                        adcodes: z.adcodes.clone(),
                        control: window(z.control, n.time_zone),
                    })
                    .collect(),
                thresholds: ThresholdsView {
                    stall_after_hours: n.thresholds.stall_after.num_hours(),
                    intercept_window_hours: n.thresholds.intercept_window.num_hours(),
                    return_countdown_hours: n.thresholds.return_countdown.num_hours(),
                    surge_open_refund_requests: n.thresholds.surge_open_refund_requests,
                },
            })
            .collect(),
        warnings: rules
            .load_warnings
            .iter()
            .map(|w| RulesWarningView {
                code: w.code.as_str().to_owned(),
                line: w.line,
                column: w.column,
                message: w.message.clone(),
            })
            .collect(),
        tests: rules.tests.clone(),
    };
    json(&view, how.pretty)
}

/// Where a destination is, for `GET /v1/zones/resolve`. Give any of the place fields.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveParams {
    /// 6-digit GB/T 2260 code, e.g. 330108.
    #[param(pattern = r"^[1-9][0-9]{5}$")]
    pub adcode: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    /// Free-text address, read province → city → district.
    pub address: Option<String>,
    /// The instant to check the control windows at (RFC 3339, local time, or epoch
    /// milliseconds); default: now. Its pattern is set from `time::TIME_PATTERN`.
    pub at: Option<String>,
    /// Language of the names and warnings.
    pub lang: Option<String>,
    /// Present (and not `false`): indented JSON.
    pub pretty: Option<String>,
}

/// The resolved place and its zones.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveView {
    /// The place, as far as it could be read; null when nothing could.
    pub area: Option<AreaView>,
    /// The instant the control windows were checked at.
    pub at: String,
    /// Each notice's zone covering the place.
    pub zones: Vec<ZoneHitView>,
    pub warnings: Vec<WarningView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaView {
    /// 6 digits, zero-padded for a province or city.
    pub adcode: String,
    /// `province`, `city` or `district`.
    pub level: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneHitView {
    pub notice: String,
    pub zone: String,
    pub name: String,
    /// Whether `at` falls in the zone's control window.
    pub controlled: bool,
    pub control_from: String,
    /// Null when the control window lasts until further notice.
    pub control_until: Option<String>,
    /// True when the control window has no end yet (另行通知).
    pub control_until_further_notice: bool,
}

/// Which zone a destination falls in, and whether it is controlled at `at`.
#[utoipa::path(
    get,
    path = "/v1/zones/resolve",
    tag = "rules",
    params(ResolveParams, ("Accept-Language" = Option<String>, Header, description = "Language of the names: zh-CN (default) or en.")),
    responses((status = 200, description = "The place and its zones.", body = ResolveView)),
)]
pub async fn resolve_zone(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    params: Result<Query<ResolveParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(p) = match params {
        Ok(p) => p,
        Err(e) => return Problem::bad_query(e.body_text()).into_response(),
    };
    let loaded = state.rules();
    let rules = &loaded.rules;
    let how = negotiate(&headers, raw.as_deref(), rules);
    let mut errors = Vec::new();
    if let Some(a) = &p.adcode
        && !crate::request::is_adcode(a)
    {
        errors.push(FieldError {
            pointer: "/adcode".into(),
            message: format!("`{a}` is not an adcode: use the 6-digit GB/T 2260 code, like 330108"),
        });
    }
    let at = match p.at.as_deref() {
        None => chrono::Utc::now(),
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => match s
            .parse()
            .map_err(|_| time::TimeError::OutOfRange)
            .and_then(time::from_epoch_millis)
        {
            Ok(t) => t,
            Err(e) => {
                errors.push(FieldError {
                    pointer: "/at".into(),
                    message: format!("{s} {e}"),
                });
                chrono::Utc::now()
            }
        },
        Some(s) => match time::parse(s, rules.time_zone) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FieldError {
                    pointer: "/at".into(),
                    message: format!("`{s}` {e}"),
                });
                chrono::Utc::now()
            }
        },
    };
    if !errors.is_empty() {
        return Problem::invalid(errors).into_response();
    }
    let input = DestinationInput {
        adcode: p.adcode,
        province: p.province,
        city: p.city,
        district: p.district,
        address: p.address,
    };
    let g = crate::gazetteer();
    let resolution = g.resolve(&input);
    let mut warnings: Vec<Warning> = resolution
        .issues
        .into_iter()
        .map(crate::request::place_warning)
        .collect();
    if resolution.area.is_none() && warnings.is_empty() {
        warnings.push(Warning {
            code: WarningCode::DestinationUnresolved,
            args: vec![("text", Arg::Text(String::new()))],
        });
    }
    let mut zones = Vec::new();
    let mut rendered = Vec::new();
    for n in &rules.notices {
        let Some(area) = resolution.area else { break };
        match n.zone_at(area, at, std::iter::empty()) {
            ZoneMatch::In(z) => {
                let zone = &n.zones[z];
                zones.push(ZoneHitView {
                    notice: n.id.clone(),
                    zone: zone.id.clone(),
                    name: zone.name.get(how.lang).plain(),
                    controlled: zone.control.contains(at),
                    control_from: time::format(zone.control.from, n.time_zone),
                    control_until: zone.control.until.map(|u| time::format(u, n.time_zone)),
                    control_until_further_notice: zone.control.until.is_none(),
                });
            }
            ZoneMatch::Partly(z) => {
                let w = Warning {
                    code: WarningCode::DestinationTooCoarse,
                    args: vec![
                        ("place", Arg::Text(g.describe(area))),
                        ("zone", Arg::Zone(z)),
                    ],
                };
                rendered.push(WarningView {
                    code: w.code,
                    message: warning_message(rules, n, &w, how.lang),
                });
            }
            ZoneMatch::None => {}
        }
    }
    let mut all: Vec<WarningView> = match rules.notices.first() {
        Some(first) => warnings
            .iter()
            .map(|w| WarningView {
                code: w.code,
                message: warning_message(rules, first, w, how.lang),
            })
            .collect(),
        None => Vec::new(),
    };
    all.extend(rendered);
    let view = ResolveView {
        area: resolution.area.map(|a| AreaView {
            adcode: format!("{:06}", a.code()),
            level: level(a).into(),
            name: g.describe(a),
        }),
        at: time::format(at, rules.time_zone),
        zones,
        warnings: all,
    };
    json(&view, how.pretty)
}

fn level(a: Area) -> &'static str {
    match a.level() {
        Level::Province => "province",
        Level::City => "city",
        Level::District => "district",
    }
}
