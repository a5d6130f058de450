//! Forwarding a request to the tenant's owner: not a redirect, because
//! HTTP clients drop `Authorization` on a redirect to another origin. The
//! request goes as it came (method, path, query, headers, body) plus the
//! cluster secret; the owner's answer comes back as it is, plus
//! `X-PQL-Owner`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::owners::Membership;
use super::route::{unreachable, FORWARDED_HEADER, OWNER_HEADER, SECRET_HEADER};
use crate::cluster::LeaseRecord;
use crate::server::errors::ApiError;

/// Sends `request` to `owner` and returns its answer.
pub(super) async fn forward(
    member: &Membership,
    owner: &LeaseRecord,
    request: Request,
    body_limit: usize,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, body_limit).await.map_err(|_| {
        ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BodyTooLarge",
            "http.body_too_large",
            format!("the request body is larger than {body_limit} bytes"),
        )
    })?;
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{target}", owner.address);
    let mut headers = end_to_end(&parts.headers);
    headers.remove(SECRET_HEADER);
    let secret = HeaderValue::from_str(member.secret())
        .map_err(|_| ApiError::internal("the cluster secret is not a valid header value"))?;
    headers.insert(SECRET_HEADER, secret);
    if let Ok(me) = HeaderValue::from_str(member.node().id()) {
        headers.insert(FORWARDED_HEADER, me);
    }
    let answer = member
        .client
        .request(parts.method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| unreachable(&owner.owner, &owner.address, e))?;
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| unreachable(&owner.owner, &owner.address, e))?;
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    if let Ok(v) = HeaderValue::from_str(&owner.address) {
        response.headers_mut().insert(OWNER_HEADER, v);
    }
    Ok(response)
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
