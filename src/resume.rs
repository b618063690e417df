//! Resuming an Interactions stream: the google-genai SDK's
//! `GET /{version}/interactions/{id}?stream=true&last_event_id=N` becomes the Responses API's
//! `GET /v1/responses/{id}?stream=true&starting_after=N` (background responses), whose stream is
//! then transcoded like any other. The event ids this filter emits are the upstream sequence
//! numbers, so the two cursors are the same number.

/// The Responses path for an Interactions resume path, or `None` when `path` is not one.
pub fn responses_path(path: &str) -> Option<String> {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let id = ["/v1beta/interactions/", "/v1/interactions/"]
        .iter()
        .find_map(|prefix| route.strip_prefix(prefix))
        .filter(|id| !id.is_empty() && !id.contains('/'))?;
    let mut rewritten = format!("/v1/responses/{id}");
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
    Some(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_becomes_starting_after() {
        assert_eq!(
            responses_path("/v1beta/interactions/resp_1?stream=true&last_event_id=42").as_deref(),
            Some("/v1/responses/resp_1?stream=true&starting_after=42")
        );
        assert_eq!(
            responses_path("/v1/interactions/resp_1?include_input=true&stream=true").as_deref(),
            Some("/v1/responses/resp_1?stream=true")
        );
    }

    #[test]
    fn other_paths_are_not_resume_paths() {
        for path in [
            "/v1beta/interactions",
            "/v1beta/interactions/",
            "/v1beta/interactions/x/cancel",
            "/v1/responses/x",
        ] {
            assert_eq!(responses_path(path), None, "{path}");
        }
    }
}
