//! The decision log: one JSON line per decision, for audits and analytics. Never dropped
//! silently: a bounded buffer makes decisions wait when the writer falls behind
//! (backpressure); a failed write is counted in `aftersales_decision_log_errors_total`;
//! shutdown flushes everything decided before it.
//!
//! The buyer's personal data stays out: the input is logged as a fixed projection of the
//! parsed case (times, statuses, ids), destinations cut to city level, and no free text
//! (addresses, carrier lines, names, phone numbers, unknown fields).

use serde_json::{Value, json};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Case, Event, Place};
use crate::geo::Area;
use crate::render::DecisionView;
use crate::rules::Rules;
use crate::time;

enum Msg {
    Line(String),
    Flush(oneshot::Sender<()>),
}

/// A handle to the writer; cheap to clone.
#[derive(Clone)]
pub struct DecisionLog {
    tx: mpsc::Sender<Msg>,
}

impl DecisionLog {
    /// Opens `target` (a file, appended to, or `-` for stdout) with room for `capacity`
    /// lines in flight, and starts the writer.
    pub async fn open(target: &str, capacity: usize) -> std::io::Result<DecisionLog> {
        let out: Box<dyn AsyncWrite + Unpin + Send> = if target == "-" {
            Box::new(tokio::io::stdout())
        } else {
            Box::new(
                tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(target)
                    .await?,
            )
        };
        let (tx, rx) = mpsc::channel(capacity.max(1));
        tokio::spawn(write_all(rx, BufWriter::with_capacity(64 * 1024, out)));
        Ok(DecisionLog { tx })
    }

    /// Queues a line, waiting while the buffer is full.
    pub async fn write(&self, line: String) {
        if self.tx.send(Msg::Line(line)).await.is_err() {
            metrics::counter!("aftersales_decision_log_errors_total").increment(1);
        }
    }

    /// Queues a line from a blocking thread (a batch), waiting while the buffer is full.
    pub fn blocking_write(&self, line: String) {
        if self.tx.blocking_send(Msg::Line(line)).is_err() {
            metrics::counter!("aftersales_decision_log_errors_total").increment(1);
        }
    }

    /// Returns once every line queued before it is written and flushed.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn write_all(
    mut rx: mpsc::Receiver<Msg>,
    mut out: BufWriter<Box<dyn AsyncWrite + Unpin + Send>>,
) {
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        // Write whatever is already queued, then flush once: few syscalls under load,
        // little delay when quiet.
        while let Some(msg) = next {
            match msg {
                Msg::Line(line) => {
                    let written = match out.write_all(line.as_bytes()).await {
                        Ok(()) => out.write_all(b"\n").await,
                        Err(e) => Err(e),
                    };
                    match written {
                        Ok(()) => {
                            metrics::counter!("aftersales_decision_log_records_total").increment(1)
                        }
                        Err(e) => {
                            metrics::counter!("aftersales_decision_log_errors_total").increment(1);
                            tracing::error!(error = %e, "decision log write failed");
                        }
                    }
                }
                Msg::Flush(ack) => {
                    let _ = out.flush().await;
                    let _ = ack.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = out.flush().await {
            metrics::counter!("aftersales_decision_log_errors_total").increment(1);
            tracing::error!(error = %e, "decision log flush failed");
        }
    }
}

/// One decision's log line.
pub fn line(
    view: &DecisionView,
    case: &Case,
    rules: &Rules,
    request_id: Option<&str>,
    batch_id: Option<&str>,
) -> String {
    let tz = rules.time_zone;
    let t = |i: time::Instant| time::format(i, tz);
    let events = |trace: &[Event]| -> Vec<Value> {
        trace
            .iter()
            .map(|e| json!({"at": t(e.at), "status": e.status}))
            .collect()
    };
    let mut sections: Vec<&str> = view.explanation.iter().map(|e| e.rule.as_str()).collect();
    sections.dedup();
    json!({
        "decision_id": view.decision_id,
        "request_id": request_id,
        "batch_id": batch_id,
        "rules_version": view.rules_version,
        "rules_checksum": rules.checksum,
        "as_of": view.as_of,
        "case_id": view.case_id,
        "applies": view.applies,
        "scenario": view.scenario,
        "decision": view.decision,
        "sections": sections,
        "input": {
            "refund_type": case.refund_type,
            "requested_at": t(case.requested_at),
            "order_id": case.order.order_id,
            "shipped_at": case.order.shipped_at.map(t),
            "destination": city_level(&case.destination),
            "logistics_trace": events(&case.trace),
            "return": case.return_.as_ref().map(|r| json!({
                "destination": r.destination.as_ref().map(city_level),
                "trace": events(&r.trace),
                "countdown_started_at": r.countdown_started_at.map(t),
                "countdown_ends_at": r.countdown_ends_at.map(t),
            })),
            "open_refund_requests": case.open_refund_requests,
        },
    })
    .to_string()
}

/// A destination no finer than its city: `{"adcode": "330100", "name": "浙江省杭州市"}`.
fn city_level(place: &Place) -> Value {
    let g = crate::gazetteer();
    let area = place.area.map(|a| match a {
        Area::District(code) => match g.area_of_adcode(code / 100 * 100) {
            (city, true) => city,
            // A municipality's districts sit under no named city: keep the province.
            (_, false) => Area::Province(code / 10_000 * 10_000),
        },
        other => other,
    });
    match area {
        Some(a) => json!({"adcode": format!("{:06}", a.code()), "name": g.describe(a)}),
        None => Value::Null,
    }
}
