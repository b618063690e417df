//! Shared pieces of the fuzz targets: the stream invariants of `tests/common/invariants.rs`, the
//! delta events of `tests/common/deltas.rs`, and the way a fuzz input is cut into an option set,
//! chunk lengths and the stream itself; and the request-side check of the `request` target.

#[path = "../../tests/common/deltas.rs"]
pub mod deltas;
#[path = "../../tests/common/invariants.rs"]
pub mod invariants;

use responses_transcoder::{Dialect, StreamOptions};

/// Splits a fuzz input into (options, chunk lengths, stream): the first byte picks the event cap
/// (small caps are chosen often so that the limit is exercised), the next four give chunk lengths.
pub fn split_input(data: &[u8]) -> (StreamOptions, [usize; 4], &[u8]) {
    let (head, stream) = data.split_at(data.len().min(5));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0) as usize;
    let max_event_bytes = match byte(0) {
        0..=63 => 16 + byte(0) * 8,
        _ => StreamOptions::default().max_event_bytes,
    };
    let options = StreamOptions {
        max_event_bytes,
        ..StreamOptions::default()
    };
    (
        options,
        [byte(1) + 1, byte(2) + 1, byte(3) + 1, byte(4) + 1],
        stream,
    )
}

/// The body of the `chat` and `interactions` targets: no panic, the same well-formed output
/// whole and in chunks, the held state within the cap. Panics (for libFuzzer) on a violation.
pub fn check_dialect(dialect: Dialect, data: &[u8]) {
    let (options, chunks, stream) = split_input(data);
    let whole = invariants::run(dialect, options, stream, &[usize::MAX]).unwrap();
    let split = invariants::run(dialect, options, stream, &chunks).unwrap();
    assert!(whole == split, "output depends on chunking {chunks:?}");
    invariants::check_output(dialect, &whole).unwrap();
    // With stop sequences (short ones, so that streams hit them): the same discipline.
    let stop = ["th", "Observation:", "\u{e9}!", "\n\n"];
    let whole = invariants::run_with_stop(dialect, options, &stop, stream, &[usize::MAX]).unwrap();
    let split = invariants::run_with_stop(dialect, options, &stop, stream, &chunks).unwrap();
    assert!(
        whole == split,
        "output with stop sequences depends on chunking {chunks:?}"
    );
    invariants::check_output(dialect, &whole).unwrap();
}

/// Checks one fuzz input against the request side: the first byte picks Chat or Interactions,
/// request or unary answer; the rest is the body.
pub fn check_request(data: &[u8]) {
    use responses_transcoder::request::{ParticipantNames, RequestOptions};
    use responses_transcoder::{anthropic, chat, error_body, interactions};
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let dialect = match (selector & 16, selector & 1) {
        (16, _) => Dialect::Anthropic,
        (_, 0) => Dialect::Chat,
        _ => Dialect::Interactions,
    };
    let options = StreamOptions {
        emit_reasoning: selector & 4 == 0,
        ..StreamOptions::default()
    };
    if selector & 2 == 0 {
        let drop_all = RequestOptions {
            drop_unsupported_fields: chat::request::UNSUPPORTED_FIELDS
                .iter()
                .chain(interactions::request::UNSUPPORTED_FIELDS)
                .chain(anthropic::request::UNSUPPORTED_FIELDS)
                .map(|f| f.to_string())
                .collect(),
            participant_names: ParticipantNames::Prefix,
        };
        let request_options = if selector & 8 == 0 {
            RequestOptions::default()
        } else {
            drop_all
        };
        let translated = match dialect {
            Dialect::Interactions => interactions::request::translate(body, &request_options),
            Dialect::Anthropic => anthropic::request::translate(body, &request_options),
            _ => chat::request::translate(body, &request_options),
        };
        match translated {
            Ok(translated) => {
                let value: serde_json::Value =
                    json(&translated.body).expect("a translated request is JSON");
                assert!(
                    value["model"].is_string(),
                    "a translated request names its model"
                );
            }
            Err(rejection) => {
                assert!(matches!(rejection.status, 400 | 413), "{rejection:?}");
                assert!(!rejection.message.is_empty());
                for dialect in invariants::DIALECTS {
                    let body = error_body::rejection(dialect, &rejection);
                    let value: serde_json::Value = json(&body).expect("an error body is JSON");
                    assert!(value["error"]["message"].is_string());
                    if dialect == Dialect::Anthropic {
                        assert_eq!(value["type"], "error");
                    }
                }
            }
        }
    } else {
        let answer = match dialect {
            Dialect::Interactions => {
                interactions::unary::translate(body, &options, &Default::default())
            }
            Dialect::Anthropic => anthropic::unary::translate(body, &options, &Default::default()),
            _ => chat::unary::translate(body, &options, &Default::default()),
        };
        assert!(
            (200..600).contains(&answer.status),
            "status {}",
            answer.status
        );
        json(&answer.body).expect("a unary answer is JSON");
    }
}

/// `bytes` as JSON (RFC 8259: UTF-8, numbers of any size), or the reason it is not.
fn json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    invariants::parse_json(text)
}
