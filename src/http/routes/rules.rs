//! `GET /v1/rules` and `GET /v1/zones/resolve`: what the service decides with.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::codes::{AreaLevel, NoticeScope, RulesSource, WarningCode};
use crate::engine::{Arg, Warning};
use crate::geo::{Area, DestinationInput, Level};
use crate::http::extract::Query;
use crate::http::extract::{OutputParams, RESOLVE_PARAMS, RULES_PARAMS, negotiate};
use crate::http::problem::Problem;
use crate::http::routes::checked_query;
use crate::http::routes::decisions::json;
use crate::http::state::AppState;
use crate::render::{WarningView, warning_message};
use crate::request::FieldError;
use crate::rules::RulesWarningCode;
use crate::rules::{Scope, Window, ZoneMatch};
use crate::time;

/// The loaded rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// The rules' version, set by their author; every decision names it.
    #[schema(example = "2023-hangzhou-1")]
    pub version: String,
    /// `sha256:` and the hex digest of the rules file's bytes.
    #[schema(example = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub checksum: String,
    /// Where the rules came from.
    pub source: RulesSource,
    /// When these rules were loaded (at startup or by the last good reload).
    #[schema(format = DateTime, example = "2023-10-14T09:00:00+08:00")]
    pub loaded_at: String,
    /// The IANA time zone local times in requests are read in.
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// The languages the texts are in (`?lang=`, `Accept-Language`); the first is the
    /// default.
    #[schema(example = json!(["zh-CN", "en"]))]
    pub languages: Vec<String>,
    /// The last reload of the rules file (null before any): when a file fails, the last
    /// good rules keep serving and the error is here.
    #[schema(required = true)]
    pub reload: Option<crate::http::reload::ReloadStatus>,
    /// The disruption notices, in the file's order.
    pub notices: Vec<NoticeView>,
    /// Each notice's event (its id, name, impact period and phases), in the file's
    /// order: the same as in `notices`, by the names the API contract gives them.
    pub events: Vec<EventRuleView>,
    /// Every zone of every notice, each naming its notice, in the file's order: the same
    /// as each notice's `zones`.
    pub zones: Vec<NoticeZoneView>,
    /// Each notice's thresholds, by notice id: the same as each notice's `thresholds`.
    #[schema(example = json!({"hangzhou-2023-asian-games": {"stall_after_hours": 72, "intercept_window_hours": 48, "return_countdown_hours": 24, "surge_open_refund_requests": 50}}))]
    pub thresholds: std::collections::BTreeMap<String, ThresholdsView>,
    /// What the rules file's author should know (`aftersales rules check` prints the
    /// same): literal thresholds in texts, windows until further notice, …
    pub warnings: Vec<RulesWarningView>,
    /// The names of the file's `[[test]]`s, all of which passed when it loaded.
    pub tests: Vec<String>,
}

/// A warning about the rules file.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesWarningView {
    /// Which warning.
    pub code: RulesWarningCode,
    /// 1-based line in the rules file; 0 when the warning has no place in it.
    pub line: usize,
    /// 1-based column; 0 when the warning has no place in the file.
    pub column: usize,
    /// The warning in words.
    pub message: String,
}

impl utoipa::PartialSchema for RulesWarningCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let meaning = |code: RulesWarningCode| match code {
            RulesWarningCode::LiteralThreshold => {
                "A text of a notice says a number equal to one of its thresholds: write the placeholder (`{stall_after_hours}`), so the text follows the threshold."
            }
            RulesWarningCode::UntilFurtherNotice => {
                "A window without `until` (until further notice, 另行通知)."
            }
            RulesWarningCode::RedundantCode => {
                "An adcode or prefix inside a prefix the same zone already lists."
            }
            RulesWarningCode::CodeNotInTable => {
                "An adcode or prefix that names no place of the division table."
            }
            RulesWarningCode::NoTests => "The file has no `[[test]]`.",
        };
        crate::codes::enum_schema(
            "Why a rules file deserves a look (docs/rules.md in the repository explains each).",
            RulesWarningCode::ALL
                .iter()
                .map(|c| (c.as_str(), meaning(*c).to_owned())),
        )
    }
}

impl utoipa::ToSchema for RulesWarningCode {}

/// One disruption notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    /// The notice's id in the rules file.
    #[schema(example = "hangzhou-2023-asian-games")]
    pub id: String,
    /// The notice's name, in the caller's language.
    pub name: String,
    /// Where the notice was published (a title or a URL); null when the file does not
    /// say.
    #[schema(required = true)]
    pub source: Option<String>,
    /// The IANA time zone of the notice's times.
    #[schema(example = "Asia/Shanghai")]
    pub time_zone: String,
    /// Which destinations the notice applies to.
    pub scope: NoticeScope,
    /// Of several notices that apply, the higher priority decides (after the
    /// controlled zone, before the later start).
    pub priority: i64,
    /// When requests are affected (影响时间周期).
    pub impact_period: WindowView,
    /// Named parts of the impact period (e.g. the Asian Games and the Para Games).
    pub phases: Vec<PhaseView>,
    /// The control zones (快递管控) and their windows.
    pub zones: Vec<ZoneRuleView>,
    /// The numbers the decisions use.
    pub thresholds: ThresholdsView,
}

/// A notice's event: what a decision's `event` names.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventRuleView {
    /// The notice's id in the rules file, as a decision's `event.id` names it.
    #[schema(example = "hangzhou-2023-asian-games")]
    pub id: String,
    /// The notice's name, in the caller's language.
    pub name: String,
    /// When requests are affected (影响时间周期).
    pub impact_period: WindowView,
    /// Named parts of the impact period, as a decision's `event.phase` names them.
    pub phases: Vec<PhaseView>,
}

/// A control zone, with the notice it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeZoneView {
    /// The id of the notice the zone belongs to.
    #[schema(example = "hangzhou-2023-asian-games")]
    pub notice: String,
    /// The zone, as its notice lists it.
    #[serde(flatten)]
    pub zone: ZoneRuleView,
}

/// A half-open window: `from` included, `until` not.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WindowView {
    /// Start (included).
    #[schema(format = DateTime, example = "2023-09-11T00:00:00+08:00")]
    pub from: String,
    /// End (excluded); null when the window lasts until further notice.
    #[schema(required = true, format = DateTime, example = "2023-10-29T00:00:00+08:00")]
    pub until: Option<String>,
    /// True when the window has no end yet (另行通知).
    pub until_further_notice: bool,
}

/// A named part of a notice's impact period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhaseView {
    /// The phase's id, as `event.phase` in a decision names it.
    #[schema(example = "asian_games")]
    pub id: String,
    /// The phase's name, in the caller's language.
    pub name: String,
    /// When the phase runs.
    pub window: WindowView,
}

/// A control zone: the places whose parcels go through the extra security checks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZoneRuleView {
    /// The zone's id, as `zone.id` in a decision names it.
    #[schema(example = "hangzhou")]
    pub id: String,
    /// The zone's name, in the caller's language.
    pub name: String,
    /// Adcode prefixes the zone covers (`3301` is every district of Hangzhou).
    #[schema(example = json!(["3301"]))]
    pub adcode_prefixes: Vec<String>,
    /// Single adcodes the zone covers.
    #[schema(example = json!(["330225"]))]
    pub adcodes: Vec<String>,
    /// When the checks apply.
    pub control: WindowView,
}

/// The numbers the decisions use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThresholdsView {
    /// A parcel without a new carrier movement for longer than this is stalled.
    #[schema(example = 72)]
    pub stall_after_hours: i64,
    /// A stalled parcel must be intercepted and refunded within this window.
    #[schema(example = 48)]
    pub intercept_window_hours: i64,
    /// The return refund countdown, when the request does not give its end.
    #[schema(example = 24)]
    pub return_countdown_hours: i64,
    /// Open refund requests at or above which the decision suggests the ATOM automatic
    /// refund strategy.
    #[schema(example = 50)]
    pub surge_open_refund_requests: u64,
}

fn window(w: Window, tz: chrono_tz::Tz) -> WindowView {
    WindowView {
        from: time::format(w.from, tz),
        until: w.until.map(|u| time::format(u, tz)),
        until_further_notice: w.until.is_none(),
    }
}

/// The rules in force: version, checksum, when loaded, notices, and (as the API contract
/// names them) their events, zones and thresholds.
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
    let query = match checked_query(query.as_deref(), RULES_PARAMS, rules) {
        Ok(query) => query,
        Err(refused) => return refused.into_response(),
    };
    let how = negotiate(&headers, &query, rules);
    if let Some(refused) = how.unacceptable(false) {
        return refused.into_response();
    }
    let lang = how.lang;
    let notices: Vec<NoticeView> = rules
        .notices
        .iter()
        .map(|n| NoticeView {
            id: n.id.clone(),
            name: n.name.get(lang).plain(),
            source: n.source.clone(),
            time_zone: n.time_zone.name().to_owned(),
            scope: match n.scope {
                Scope::Nationwide => NoticeScope::Nationwide,
                Scope::Zones => NoticeScope::Zones,
            },
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
        .collect();
    let events = notices
        .iter()
        .map(|n| EventRuleView {
            id: n.id.clone(),
            name: n.name.clone(),
            impact_period: n.impact_period.clone(),
            phases: n.phases.clone(),
        })
        .collect();
    let zones = notices
        .iter()
        .flat_map(|n| {
            n.zones.iter().map(|z| NoticeZoneView {
                notice: n.id.clone(),
                zone: z.clone(),
            })
        })
        .collect();
    let thresholds = notices
        .iter()
        .map(|n| (n.id.clone(), n.thresholds.clone()))
        .collect();
    let view = RulesView {
        version: rules.version.clone(),
        checksum: rules.checksum.clone(),
        source: if rules.origin == crate::rules::EMBEDDED_NAME {
            RulesSource::Embedded
        } else {
            RulesSource::File
        },
        loaded_at: time::format(loaded.loaded_at, rules.time_zone),
        time_zone: rules.time_zone.name().to_owned(),
        languages: rules.languages.clone(),
        reload: state.reload_status(),
        notices,
        events,
        zones,
        thresholds,
        warnings: rules
            .load_warnings
            .iter()
            .map(|w| RulesWarningView {
                code: w.code,
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
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResolveParams {
    /// 6-digit GB/T 2260 code, e.g. 330108 (杭州市滨江区).
    #[param(pattern = r"^[1-9][0-9]{5}$", example = "330108")]
    pub adcode: Option<String>,
    /// Province name, e.g. 浙江省 (浙江 will do).
    #[param(example = "浙江省")]
    pub province: Option<String>,
    /// City name, e.g. 杭州市.
    #[param(example = "杭州市")]
    pub city: Option<String>,
    /// District or county name, e.g. 滨江区.
    #[param(example = "滨江区")]
    pub district: Option<String>,
    /// Free-text address, read province → city → district.
    #[param(example = "浙江省温州市鹿城区")]
    pub address: Option<String>,
    /// The instant to check the control windows at: RFC 3339 with an offset, a local
    /// time (`2023-09-20 10:00:00`, read in the rules' time zone), or epoch
    /// milliseconds; default: now.
    #[param(example = "2023-09-20T10:00:00+08:00")]
    pub at: Option<String>,
    /// Language of the names and warnings (zh-CN or en); overrides Accept-Language.
    pub lang: Option<String>,
    /// `?pretty` (or `=true`, `=1`): indented JSON; `false` or `0`: not. Any other value
    /// is a 422.
    pub pretty: Option<String>,
}

impl ResolveParams {
    /// The parameters of a query [`checked_query`] has let through.
    fn read(query: &Query<'_>) -> ResolveParams {
        let get = |name: &str| query.get(name).map(str::to_owned);
        ResolveParams {
            adcode: get("adcode"),
            province: get("province"),
            city: get("city"),
            district: get("district"),
            address: get("address"),
            at: get("at"),
            lang: get("lang"),
            pretty: get("pretty"),
        }
    }
}

/// The resolved place and its zones.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolveView {
    /// The place, as far as it could be read; null when nothing could.
    #[schema(required = true)]
    pub area: Option<AreaView>,
    /// The instant the control windows were checked at.
    #[schema(format = DateTime, example = "2023-09-20T10:00:00+08:00")]
    pub at: String,
    /// Each notice's zone covering the place.
    pub zones: Vec<ZoneHitView>,
    /// What the caller should know about the address (unresolved, ambiguous, too coarse
    /// for a zone, adcode and names disagreeing).
    pub warnings: Vec<WarningView>,
}

/// A place of the division table.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaView {
    /// 6 digits, zero-padded for a province or city.
    #[schema(example = "330302")]
    pub adcode: String,
    /// How precisely the place is known.
    pub level: AreaLevel,
    /// The place's full name, province to district.
    #[schema(example = "浙江省温州市鹿城区")]
    pub name: String,
}

/// A notice's zone that covers the place.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneHitView {
    /// The notice's id.
    #[schema(example = "hangzhou-2023-asian-games")]
    pub notice: String,
    /// The zone's id.
    #[schema(example = "co_host_venues")]
    pub zone: String,
    /// The zone's name, in the caller's language.
    pub name: String,
    /// Whether `at` falls in the zone's control window.
    pub controlled: bool,
    /// Start of the control window (included).
    #[schema(format = DateTime, example = "2023-09-16T00:00:00+08:00")]
    pub control_from: String,
    /// End of the control window (excluded); null when it lasts until further notice.
    #[schema(required = true, format = DateTime, example = "2023-10-09T00:00:00+08:00")]
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
) -> Response {
    let loaded = state.rules();
    let rules = &loaded.rules;
    let query = match checked_query(raw.as_deref(), RESOLVE_PARAMS, rules) {
        Ok(query) => query,
        Err(refused) => return refused.into_response(),
    };
    let p = ResolveParams::read(&query);
    let how = negotiate(&headers, &query, rules);
    if let Some(refused) = how.unacceptable(false) {
        return refused.into_response();
    }
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
                    pointer: None,
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
                // About the query, not a body: no JSON pointer.
                pointer: None,
            })
            .collect(),
        None => Vec::new(),
    };
    all.extend(rendered);
    let view = ResolveView {
        area: resolution.area.map(|a| AreaView {
            adcode: format!("{:06}", a.code()),
            level: level(a),
            name: g.describe(a),
        }),
        at: time::format(at, rules.time_zone),
        zones,
        warnings: all,
    };
    json(&view, how.pretty)
}

fn level(a: Area) -> AreaLevel {
    match a.level() {
        Level::Province => AreaLevel::Province,
        Level::City => AreaLevel::City,
        Level::District => AreaLevel::District,
    }
}
