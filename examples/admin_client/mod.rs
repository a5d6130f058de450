//! The blocking HTTP client the cluster benchmarks (`cluster_handover_bench`,
//! `cluster_wal_bench`) drive `pql serve` nodes with: every request carries
//! the admin key; an answer is its status and body, status 0 when the node
//! did not answer (the benchmarks count those instead of stopping).

use std::time::Duration;

/// A keep-alive agent that reads error statuses as answers.
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub fn new() -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Client { agent }
    }

    /// POSTs `body` as `content_type` with `Authorization: Bearer key` and,
    /// if given, `X-Tenant-ID: tenant`.
    pub fn post_as(
        &self,
        key: &str,
        url: &str,
        content_type: &str,
        body: &str,
        tenant: Option<&str>,
    ) -> (u16, String) {
        let mut req = self
            .agent
            .post(url)
            .header("Authorization", &format!("Bearer {key}"))
            .header("Content-Type", content_type);
        if let Some(t) = tenant {
            req = req.header("X-Tenant-ID", t);
        }
        match req.send(body) {
            Ok(mut resp) => (
                resp.status().as_u16(),
                resp.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(e) => (0, e.to_string()),
        }
    }
}
