//! The upstream `Response` object: carried by lifecycle and terminal stream events, and the whole
//! body of a non-streaming answer. Borrowed from the payload like the event model: values the
//! output merely copies stay raw JSON.

use super::event::Item;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The response object carried by lifecycle and terminal events.
#[derive(Debug, Deserialize)]
pub struct Response<'a> {
    /// Response id: the stream id in every dialect.
    #[serde(borrow)]
    pub id: Option<&'a RawValue>,
    /// `completed`, `incomplete`, `failed`, `cancelled`, `queued` or `in_progress`.
    #[serde(borrow)]
    pub status: Option<std::borrow::Cow<'a, str>>,
    /// Creation time, Unix seconds.
    pub created_at: Option<f64>,
    /// Model name.
    #[serde(borrow)]
    pub model: Option<&'a RawValue>,
    /// Service tier.
    #[serde(borrow)]
    pub service_tier: Option<&'a RawValue>,
    /// Why an incomplete response stopped (`{"reason": …}`), kept raw to forward.
    #[serde(borrow)]
    pub incomplete_details: Option<&'a RawValue>,
    /// Error of a failed response.
    #[serde(borrow)]
    pub error: Option<ErrorObject<'a>>,
    /// Token usage.
    pub usage: Option<Usage>,
    /// Output items, decoded on demand by [`Response::output_items`].
    #[serde(borrow)]
    pub output: Option<&'a RawValue>,
    /// Azure OpenAI content filter results, forwarded raw.
    #[serde(borrow)]
    pub content_filters: Option<&'a RawValue>,
    /// The object type, raw JSON: `"response"` for a Responses API object (some servers omit
    /// it). Raw so that an odd value never fails the whole event.
    #[serde(borrow)]
    pub object: Option<&'a RawValue>,
    /// When the response finished, Unix seconds, raw JSON (absent while it runs).
    #[serde(borrow)]
    pub completed_at: Option<&'a RawValue>,
    /// The response this one continues, raw JSON.
    #[serde(borrow)]
    pub previous_response_id: Option<&'a RawValue>,
}

impl<'a> Response<'a> {
    /// A whole non-streaming answer body as a Responses object: a JSON object whose `object`, if
    /// any, is `"response"`, carrying a `status`, an `output` or an `error`; else `None`. Both
    /// unary translators read the upstream's answer through this one rule.
    pub fn of_answer(body: &'a str) -> Option<Self> {
        let response: Response = serde_json::from_str(body).ok()?;
        let typed = response
            .object
            .map_or(true, |object| object.get() == "\"response\"");
        let recognised =
            response.status.is_some() || response.output.is_some() || response.error.is_some();
        (typed && recognised).then_some(response)
    }

    /// Output items, or none when absent or malformed.
    pub fn output_items(&self) -> Vec<Item<'a>> {
        self.output
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }

    /// Whether the final output holds a call the client must answer.
    pub fn has_tool_call(&self) -> bool {
        self.output_items().iter().any(Item::is_tool_call)
    }

    /// The `incomplete_details.reason` string, when present.
    pub fn incomplete_reason(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Details {
            reason: Option<String>,
        }
        let raw = self.incomplete_details?;
        serde_json::from_str::<Details>(raw.get()).ok()?.reason
    }
}

/// An error object (`response.error`, or the nested form of an `error` event).
#[derive(Debug, Deserialize)]
pub struct ErrorObject<'a> {
    /// Error type (`server_error`, …).
    #[serde(rename = "type", borrow)]
    pub kind: Option<&'a RawValue>,
    /// Machine-readable code.
    #[serde(borrow)]
    pub code: Option<&'a RawValue>,
    /// Human-readable message.
    #[serde(borrow)]
    pub message: Option<&'a RawValue>,
    /// The request parameter at fault.
    #[serde(borrow)]
    pub param: Option<&'a RawValue>,
}

/// Token usage of a response.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Generated tokens, reasoning included.
    #[serde(default)]
    pub output_tokens: u64,
    /// Total as the upstream counted it.
    pub total_tokens: Option<u64>,
    /// Prompt token breakdown.
    pub input_tokens_details: Option<InputTokensDetails>,
    /// Output token breakdown.
    pub output_tokens_details: Option<OutputTokensDetails>,
}

impl Usage {
    /// Prompt tokens served from cache, when reported.
    pub fn cached_tokens(&self) -> Option<u64> {
        self.input_tokens_details.and_then(|d| d.cached_tokens)
    }

    /// Reasoning tokens, when reported.
    pub fn reasoning_tokens(&self) -> Option<u64> {
        self.output_tokens_details.and_then(|d| d.reasoning_tokens)
    }
}

/// `usage.input_tokens_details`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct InputTokensDetails {
    /// Cached prompt tokens.
    pub cached_tokens: Option<u64>,
}

/// `usage.output_tokens_details`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct OutputTokensDetails {
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
}
