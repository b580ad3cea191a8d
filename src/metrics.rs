//! Prometheus metrics: requests, outbox depth, deliveries, lockouts, throttled requests and
//! texts, send-cap refusals. Labels are bounded (route templates, never raw paths or
//! recipients) so the series count cannot grow with traffic.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Metric, Registry};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: String,
    /// `sent`, `retry` or `dead`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CapLabels {
    /// `sms` or `voice`.
    pub channel: String,
    /// `destination` (`twilio.max_per_destination_per_day`) or `day` (`twilio.max_per_day`).
    pub cap: String,
}

/// A family listed on /metrics (its HELP and TYPE lines) before its first series exists, as
/// prometheus-client did up to 0.24: monitoring sees that the metric exists, and a scrape
/// shows every name Helpline exports whatever has happened yet.
#[derive(Debug)]
struct Listed<M>(M);

impl<M: Metric> EncodeMetric for Listed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

/// Every metric Helpline exports, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub lockouts: Counter,
    pub outbox_depth: Gauge,
    pub throttled: Counter,
    /// Texts in left unanswered: their number sent too many (`Guard::allow_text`).
    pub texts_throttled: Counter,
    pub cap_refusals: Family<CapLabels, Counter>,
}

pub type SharedMetrics = Arc<Metrics>;

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("helpline");
        let requests = Family::<RequestLabels, Counter>::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let lockouts = Counter::default();
        let outbox_depth = Gauge::default();
        let throttled = Counter::default();
        let texts_throttled = Counter::default();
        let cap_refusals = Family::<CapLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests served",
            Listed(requests.clone()),
        );
        registry.register(
            "outbox_deliveries",
            "Outbox delivery attempts by channel and result",
            Listed(deliveries.clone()),
        );
        registry.register(
            "lockouts",
            "Account waits started by the guard",
            lockouts.clone(),
        );
        registry.register(
            "outbox_depth",
            "Messages waiting in the outbox",
            outbox_depth.clone(),
        );
        registry.register(
            "throttled",
            "Requests refused by the per-source limiter",
            throttled.clone(),
        );
        registry.register(
            "sms_throttled",
            "Texts to the help line not answered because their number sent too many",
            texts_throttled.clone(),
        );
        registry.register(
            "twilio_cap_refusals",
            "Texts and calls not sent because a daily cap was reached (SMS pumping and toll \
             fraud guard)",
            Listed(cap_refusals.clone()),
        );
        Self {
            registry,
            requests,
            deliveries,
            lockouts,
            outbox_depth,
            throttled,
            texts_throttled,
            cap_refusals,
        }
    }
}

impl Metrics {
    pub fn delivery(&self, channel: &str, result: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// A text or call refused by a daily cap.
    pub fn cap_refused(&self, channel: &str, cap: &str) {
        self.cap_refusals
            .get_or_create(&CapLabels {
                channel: channel.to_string(),
                cap: cap.to_string(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_before_its_first_series() {
        let text = Metrics::default().render();
        for listed in [
            "# TYPE helpline_http_requests counter",
            "# TYPE helpline_outbox_deliveries counter",
            "# TYPE helpline_twilio_cap_refusals counter",
            "# TYPE helpline_lockouts counter",
            "# TYPE helpline_outbox_depth gauge",
        ] {
            assert!(text.contains(listed), "{listed} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
