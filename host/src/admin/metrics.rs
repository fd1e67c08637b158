//! `/metrics`: the live counters of a run in Prometheus text format,
//! read at scrape time from what the data path keeps anyway (nothing is
//! counted twice).

use super::Probes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::NoLabelSet;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmpush_model::histogram::Snapshot;

impl Collector for Probes {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let d = &self.dispatch;
        let out = self.delivery.stats();
        let counters: [(&str, &str, u64); 12] = [
            ("events", "Events taken from the sources and generated", l(&d.events)),
            ("reports_generated", "Reports produced by generators", l(&d.reports)),
            ("generator_failures", "Generator calls that failed (time, memory, trap, error)", l(&d.generator_failures)),
            ("reports_refused", "Reports refused by the request policy (never sent)", l(&d.refused)),
            ("enqueue_failures", "Reports that could not be stored in the outbox", l(&d.enqueue_failures)),
            ("reports_enqueued", "Reports stored in the outbox", out.enqueued),
            ("reports_duplicate", "Reports already in the outbox (same webhook-id)", out.duplicates),
            ("deliveries", "Reports delivered (2xx)", out.sent),
            ("delivery_retries", "Failed attempts scheduled for a retry", out.retried),
            ("dead_letters", "Reports moved to the dead-letter list", out.dead),
            (
                "reports_superseded",
                "Reports replaced before delivery by one with the same supersede key",
                out.superseded,
            ),
            (
                "relay_unavailable",
                "Relay POSTs answered 503 (not stored; Buildbot drops them)",
                l(&self.relay.unavailable),
            ),
        ];
        for (name, help, value) in counters {
            emit(&mut encoder, name, help, ConstCounter::new(value))?;
        }
        emit(
            &mut encoder,
            "relay_accepted",
            "Relay POSTs answered 200 (stored)",
            ConstCounter::new(l(&self.relay.accepted)),
        )?;
        emit(
            &mut encoder,
            "relay_refused",
            "Relay POSTs refused with a 4xx",
            ConstCounter::new(l(&self.relay.refused)),
        )?;
        emit(&mut encoder, "outbox_pending", "Reports waiting in the outbox", ConstGauge::new(out.pending as i64))?;
        let oldest = match self.delivery.oldest_pending() {
            Ok(Some(t)) => t.elapsed().map_or(0.0, |d| d.as_secs_f64()),
            Ok(None) => 0.0,
            Err(e) => {
                tracing::warn!("metrics: cannot read the outbox: {e}");
                0.0
            }
        };
        emit(
            &mut encoder,
            "outbox_oldest_pending_seconds",
            "Age of the oldest pending report (0 when none)",
            ConstGauge::new(oldest),
        )?;
        let rows = wasmpush_sources::EventKind::ALL
            .iter()
            .zip(&d.events_by_kind)
            .map(|(k, n)| (vec![("kind", k.as_str().to_string())], l(n)));
        family(&mut encoder, "events_by_kind", "Events taken from the sources, by kind", rows)?;
        let rows = crate::service::SOURCE_KINDS
            .iter()
            .zip(self.source_events.iter())
            .map(|(s, n)| (vec![("source", s.to_string())], l(n)));
        family(&mut encoder, "source_events", "Events handed over by the sources, by kind of source", rows)?;
        let held = l(&self.relay.body_kib_held) as i64;
        emit(
            &mut encoder,
            "relay_body_kib_in_memory",
            "Relay request bodies held in memory (KiB of body_budget)",
            ConstGauge::new(held),
        )?;
        let ready = i64::from(self.is_ready().is_ok());
        emit(&mut encoder, "ready", "1 when sources run and the outbox is writable", ConstGauge::new(ready))?;

        let targets = self.delivery.target_stats();
        type Read<T> = fn(&T) -> u64;
        let per_target: [(&str, &str, Read<wasmpush_delivery::TargetStats>); 5] = [
            ("reporter_enqueued", "Reports stored in the outbox, by reporter", |t| t.enqueued),
            ("reporter_deliveries", "Reports delivered (2xx), by reporter", |t| t.sent),
            ("reporter_retries", "Failed attempts scheduled for a retry, by reporter", |t| t.retried),
            ("reporter_dead_letters", "Reports moved to the dead-letter list, by reporter", |t| t.dead),
            ("reporter_superseded", "Reports replaced before delivery (supersede key), by reporter", |t| t.superseded),
        ];
        for (name, help, value) in per_target {
            let rows = targets.iter().map(|t| (vec![("reporter", t.reporter.clone())], value(t)));
            family(&mut encoder, name, help, rows)?;
        }
        let classes = ["2xx", "3xx", "4xx", "5xx", "none"];
        let rows = targets.iter().flat_map(|t| {
            classes
                .iter()
                .zip(t.attempts_by_class)
                .map(|(class, n)| (vec![("reporter", t.reporter.clone()), ("status", class.to_string())], n))
        });
        family(
            &mut encoder,
            "reporter_attempts",
            "Delivery attempts by reporter and status class (none: no response)",
            rows,
        )?;
        let rows = targets.iter().map(|t| (vec![("reporter", t.reporter.clone())], t.latency_ms_sum));
        family(
            &mut encoder,
            "reporter_delivery_milliseconds",
            "Sum over delivered reports of enqueue-to-2xx time, in ms (divide by deliveries for the mean)",
            rows,
        )?;

        let rows = targets.iter().map(|t| (vec![("reporter", t.reporter.clone())], &t.latency));
        histograms(
            &mut encoder,
            "reporter_delivery_seconds",
            "Time from enqueue to the 2xx of delivered reports, by reporter",
            rows,
        )?;

        let pipeline = self.pipeline.load();
        let generators: Vec<(Vec<(&str, String)>, crate::runtime::CallStats)> = pipeline
            .reporters
            .iter()
            .flat_map(|r| {
                r.slots.iter().map(|s| {
                    let labels = vec![("reporter", r.name.clone()), ("generator", s.generator.name().to_string())];
                    (labels, s.generator.call_stats())
                })
            })
            .collect();
        let per_generator: [(&str, &str, Read<crate::runtime::CallStats>); 3] = [
            ("generator_calls", "generate calls, by reporter and generator", |c| c.calls),
            ("generator_call_failures", "generate calls that failed, by reporter and generator", |c| c.failures),
            ("generator_microseconds", "Time in generate (instantiation included), in µs", |c| c.micros),
        ];
        for (name, help, value) in per_generator {
            let rows = generators.iter().map(|(labels, c)| (labels.clone(), value(c)));
            family(&mut encoder, name, help, rows)?;
        }
        let rows = generators.iter().map(|(labels, c)| (labels.clone(), &c.time));
        histograms(
            &mut encoder,
            "generator_call_seconds",
            "Time per generate call (instantiation included), by reporter and generator",
            rows,
        )?;
        Ok(())
    }
}

/// Writes the histogram family `wasmpush_<name>`, one row per label set.
fn histograms<'a, 's>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (Vec<(&'a str, String)>, &'s Snapshot)>,
) -> std::fmt::Result {
    let name = format!("wasmpush_{name}");
    let mut metric = encoder.encode_descriptor(&name, help, None, MetricType::Histogram)?;
    for (labels, h) in rows {
        metric.encode_family(&labels)?.encode_histogram::<NoLabelSet>(h.sum, h.count, &h.buckets, None)?;
    }
    Ok(())
}

/// Writes `wasmpush_<name>` with its help text and value.
fn emit(encoder: &mut DescriptorEncoder, name: &str, help: &str, metric: impl EncodeMetric) -> std::fmt::Result {
    metric.encode(encoder.encode_descriptor(&format!("wasmpush_{name}"), help, None, metric.metric_type())?)
}

/// Writes the counter family `wasmpush_<name>`, one row per label set.
fn family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (Vec<(&'a str, String)>, u64)>,
) -> std::fmt::Result {
    let name = format!("wasmpush_{name}");
    let mut metric = encoder.encode_descriptor(&name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}
