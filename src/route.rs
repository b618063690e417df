//! What a client request is, by its method and path, and where it goes on the Responses API.
//!
//! | dialect | client request | upstream request | answer |
//! |---|---|---|---|
//! | chat | `POST …/chat/completions` (trailing `/` too) | `POST <responses_path>`, body translated | stream or `chat.completion` |
//! | interactions | `POST /{v1,v1beta}/interactions` (trailing `/` too) | `POST <responses_path>`, body translated | stream or `Interaction` |
//! | interactions | `GET …/interactions/{id}` (`stream=true`, `last_event_id=N`) | `GET /v1/responses/{id}` (`starting_after=N`) | stream or `Interaction` |
//! | interactions | `POST …/interactions/{id}/cancel` | `POST /v1/responses/{id}/cancel` | `Interaction` |
//! | interactions | `DELETE …/interactions/{id}` | `DELETE /v1/responses/{id}` | `{}` |
//! | anthropic | `POST …/v1/messages` (trailing `/` too) | `POST <responses_path>`, body translated | stream or `Message` |
//! | anthropic | any other request under `/v1/messages/` (`count_tokens`, `batches`) | none | 404 `not_found_error` in Anthropic's shape |
//!
//! The create path is recognised the same way by dialect selection ([`crate::Config::select_dialect`])
//! and here: with or without one trailing `/`. Any other request of a selected dialect is forwarded
//! as it came ([`Route::Forward`]); its answer is still rewritten when it is an SSE stream or an
//! error.

use crate::config::Dialect;
use crate::request::Rejection;

/// What the filter does with one client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A create request: its body is translated and sent to the configured `responses_path`.
    Create,
    /// Rewritten to another Responses path, without a body to translate; the answer is of `kind`.
    Rewrite {
        /// The upstream path (with its query).
        path: String,
        /// What the client expects back.
        kind: AnswerKind,
    },
    /// Forwarded as it came.
    Forward,
    /// An endpoint of the client's API that the Responses API has no equivalent for: answered by
    /// the filter with this rejection, nothing upstream.
    Refuse(Box<Rejection>),
}

/// The answer a client expects, which decides what the upstream's answer becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// An SSE stream in the client's dialect.
    Stream,
    /// One JSON object in the client's dialect (`chat.completion`, `Interaction`).
    Unary,
    /// The answer to a deletion: `{}` on success.
    Deletion,
}

/// The route of a request of `dialect`.
pub fn route(dialect: Dialect, method: &str, path: &str) -> Route {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let route = route.strip_suffix('/').unwrap_or(route);
    match dialect {
        Dialect::Chat if method == "POST" && route.ends_with("/chat/completions") => Route::Create,
        Dialect::Interactions => interactions(method, route, query),
        Dialect::Anthropic => anthropic(method, route),
        Dialect::Chat | Dialect::Passthrough => Route::Forward,
    }
}

/// A path without its query and one trailing `/`: what dialect selection and [`route`] compare.
pub fn base(path: &str) -> &str {
    let route = path.split(['?', '#']).next().unwrap_or(path);
    route.strip_suffix('/').unwrap_or(route)
}

fn interactions(method: &str, route: &str, query: &str) -> Route {
    let rest = ["/v1beta/interactions", "/v1/interactions"]
        .iter()
        .find_map(|prefix| route.strip_prefix(prefix));
    let segments: Vec<&str> = match rest {
        Some(rest) if rest.starts_with('/') => rest.split('/').skip(1).collect(),
        _ if method == "POST" && route.ends_with("/interactions") => return Route::Create,
        _ => return Route::Forward,
    };
    match (method, segments.as_slice()) {
        ("GET", [id]) if valid_id(id) => Route::Rewrite {
            path: resume_path(id, query),
            kind: if query_flag(query, "stream") {
                AnswerKind::Stream
            } else {
                AnswerKind::Unary
            },
        },
        ("POST", [id, "cancel"]) if valid_id(id) => Route::Rewrite {
            path: ["/v1/responses/", id, "/cancel"].concat(),
            kind: AnswerKind::Unary,
        },
        ("DELETE", [id]) if valid_id(id) => Route::Rewrite {
            path: ["/v1/responses/", id].concat(),
            kind: AnswerKind::Deletion,
        },
        _ => Route::Forward,
    }
}

/// Anthropic Messages: `POST …/v1/messages` is a create; the other endpoints under it
/// (`count_tokens`, message batches) have no Responses equivalent and are answered here, so that
/// the client gets Anthropic's error shape rather than the upstream's 404.
fn anthropic(method: &str, route: &str) -> Route {
    if route.ends_with("/v1/messages") && method == "POST" {
        return Route::Create;
    }
    let under = route.ends_with("/v1/messages") || route.contains("/v1/messages/");
    if under {
        Route::Refuse(Box::new(Rejection::no_endpoint(method, route)))
    } else {
        Route::Forward
    }
}

/// An interaction id as a path segment: non-empty, no characters that would change the path.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether the query sets `name` to `true`.
fn query_flag(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split_once('=') == Some((name, "true")))
}

/// Resuming an Interactions stream: the google-genai SDK's
/// `GET /{version}/interactions/{id}?stream=true&last_event_id=N` becomes the Responses API's
/// `GET /v1/responses/{id}?stream=true&starting_after=N` (background responses). The event ids
/// this filter emits are the upstream sequence numbers, so the two cursors are the same number.
fn resume_path(id: &str, query: &str) -> String {
    let mut rewritten = ["/v1/responses/", id].concat();
    let mut separator = '?';
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = match key {
            "last_event_id" => "starting_after",
            "include_input" => continue,
            other => other,
        };
        rewritten.push(separator);
        rewritten.push_str(key);
        if !value.is_empty() {
            rewritten.push('=');
            rewritten.push_str(value);
        }
        separator = '&';
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(method: &str, path: &str) -> Option<(String, AnswerKind)> {
        match route(Dialect::Interactions, method, path) {
            Route::Rewrite { path, kind } => Some((path, kind)),
            _ => None,
        }
    }

    #[test]
    fn create_paths_with_or_without_a_trailing_slash() {
        for path in [
            "/v1/chat/completions",
            "/v1/chat/completions/",
            "/openai/v1/chat/completions?api-version=1",
        ] {
            assert_eq!(route(Dialect::Chat, "POST", path), Route::Create, "{path}");
        }
        for path in [
            "/v1beta/interactions",
            "/v1beta/interactions/",
            "/v1/interactions?alt=sse",
        ] {
            assert_eq!(
                route(Dialect::Interactions, "POST", path),
                Route::Create,
                "{path}"
            );
        }
        assert_eq!(
            route(Dialect::Chat, "GET", "/v1/chat/completions"),
            Route::Forward
        );
        assert_eq!(
            route(Dialect::Chat, "POST", "/v1/responses"),
            Route::Forward
        );
        assert_eq!(
            route(Dialect::Passthrough, "POST", "/v1/chat/completions"),
            Route::Forward
        );
    }

    #[test]
    fn anthropic_create_and_other_endpoints() {
        for path in [
            "/v1/messages",
            "/v1/messages/",
            "/proxy/v1/messages?beta=true",
        ] {
            assert_eq!(
                route(Dialect::Anthropic, "POST", path),
                Route::Create,
                "{path}"
            );
        }
        for (method, path) in [
            ("POST", "/v1/messages/count_tokens"),
            ("POST", "/v1/messages/batches"),
            ("GET", "/v1/messages"),
        ] {
            match route(Dialect::Anthropic, method, path) {
                Route::Refuse(rejection) => {
                    assert_eq!(rejection.status, 404);
                    assert!(rejection.message.contains(path), "{}", rejection.message);
                }
                other => panic!("{method} {path}: {other:?}"),
            }
        }
        assert_eq!(
            route(Dialect::Anthropic, "POST", "/v1/responses"),
            Route::Forward
        );
    }

    #[test]
    fn last_event_id_becomes_starting_after() {
        assert_eq!(
            rewrite(
                "GET",
                "/v1beta/interactions/resp_1?stream=true&last_event_id=42"
            ),
            Some((
                "/v1/responses/resp_1?stream=true&starting_after=42".into(),
                AnswerKind::Stream
            ))
        );
        assert_eq!(
            rewrite("GET", "/v1/interactions/resp_1?include_input=true"),
            Some(("/v1/responses/resp_1".into(), AnswerKind::Unary))
        );
    }

    #[test]
    fn cancel_and_delete() {
        assert_eq!(
            rewrite("POST", "/v1beta/interactions/resp_1/cancel"),
            Some(("/v1/responses/resp_1/cancel".into(), AnswerKind::Unary))
        );
        assert_eq!(
            rewrite("DELETE", "/v1beta/interactions/resp_1"),
            Some(("/v1/responses/resp_1".into(), AnswerKind::Deletion))
        );
    }

    #[test]
    fn other_interactions_requests_are_forwarded() {
        for (method, path) in [
            ("GET", "/v1beta/interactions"),
            ("POST", "/v1beta/interactions/x/other"),
            ("GET", "/v1beta/interactions/a/b"),
            ("PATCH", "/v1beta/interactions/x"),
            ("GET", "/v1beta/interactions/a%2Fb"),
            ("GET", "/v1beta/interactions/a:b"),
            ("POST", "/v1beta/interactions:cancel"),
        ] {
            assert_eq!(
                route(Dialect::Interactions, method, path),
                Route::Forward,
                "{method} {path}"
            );
        }
    }
}
