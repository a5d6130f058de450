//! Forwarding a request to the tenant's owner: not a redirect, because
//! HTTP clients drop `Authorization` on a redirect to another origin. The
//! request goes as it came (method, path, query, headers, body) plus the
//! cluster secret; the owner's answer comes back as it is, plus
//! `X-PQL-Owner`.

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::owners::Membership;
use super::route::{unreachable, FORWARDED_HEADER, OWNER_HEADER, SECRET_HEADER};
use crate::cluster::LeaseRecord;
use crate::server::errors::ApiError;

/// The owner's answer to a forwarded request.
pub(super) struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Bytes,
}

/// A forwarded request that got no answer.
pub(super) struct Unreached {
    /// True if the owner refused the connection: the request was never
    /// sent, so sending it again cannot apply it twice.
    pub(super) never_sent: bool,
    /// The 502 for the client.
    pub(super) error: ApiError,
}

/// Sends the request (`parts` and `body`) to `owner` and returns its
/// answer.
pub(super) async fn forward(
    member: &Membership,
    owner: &LeaseRecord,
    parts: &Parts,
    body: Bytes,
) -> Result<Answer, Unreached> {
    let unreached = |e: reqwest::Error| Unreached {
        never_sent: e.is_connect(),
        error: unreachable(&owner.owner, &owner.address, e),
    };
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{target}", owner.address);
    let mut headers = end_to_end(&parts.headers);
    headers.remove(SECRET_HEADER);
    let secret = HeaderValue::from_str(member.secret()).map_err(|_| Unreached {
        never_sent: false,
        error: ApiError::internal("the cluster secret is not a valid header value"),
    })?;
    headers.insert(SECRET_HEADER, secret);
    if let Ok(me) = HeaderValue::from_str(member.node().id()) {
        headers.insert(FORWARDED_HEADER, me);
    }
    let answer = member
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(unreached)?;
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    let bytes = answer.bytes().await.map_err(|e| Unreached {
        never_sent: false,
        error: unreachable(&owner.owner, &owner.address, e),
    })?;
    Ok(Answer {
        status,
        headers,
        bytes,
    })
}

impl Answer {
    /// True if the owner answered `cluster.not_owner`: the lease moved
    /// while the request travelled, so it was not applied.
    pub(super) fn is_not_owner(&self) -> bool {
        self.status == StatusCode::SERVICE_UNAVAILABLE
            && serde_json::from_slice::<serde_json::Value>(&self.bytes)
                .is_ok_and(|v| v["error"]["code"] == "cluster.not_owner")
    }

    /// The answer for the client, naming the owner in `X-PQL-Owner`.
    pub(super) fn into_response(self, owner: &LeaseRecord) -> Response {
        let mut response = Response::new(Body::from(self.bytes));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers;
        if let Ok(v) = HeaderValue::from_str(&owner.address) {
            response.headers_mut().insert(OWNER_HEADER, v);
        }
        response
    }
}

/// `headers` without the hop-by-hop ones (RFC 9110, 7.6.1), and without
/// `Host` and `Content-Length`, which the next hop sets.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP: [HeaderName; 8] = [
        header::CONNECTION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ];
    let mut out = headers.clone();
    for name in HOP {
        out.remove(name);
    }
    out.remove("keep-alive");
    out
}

/// How long `GET /v1/cluster` waits for a node's `/readyz`.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether the node at `address` answers its `/readyz` with 200 within
/// [`READY_TIMEOUT`] (its engine open, not shutting down).
pub(super) async fn is_ready(member: &Membership, address: &str) -> bool {
    let probe = member
        .client
        .get(format!("{address}/readyz"))
        .timeout(READY_TIMEOUT)
        .send()
        .await;
    probe.is_ok_and(|r| r.status() == StatusCode::OK)
}
