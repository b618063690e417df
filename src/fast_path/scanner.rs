//! The scanner: one delta event's payload read token by token, accepting only the shape real
//! servers send (see the module above), and noting where its variable values stand so that
//! [`super::shape`] can recognise the next event of the same shape.

use super::lex::{number, skip_whitespace, string};
use crate::responses::{Delta, EventKind};

/// The keys a delta event may carry on the fast path.
#[derive(Debug, Clone, Copy)]
enum Key {
    Type,
    ItemId,
    OutputIndex,
    ContentIndex,
    SummaryIndex,
    SequenceNumber,
    Delta,
    Logprobs,
    Obfuscation,
}

impl Key {
    /// The key whose name, then its closing quote, starts `rest`; and what follows. (Every
    /// comparison is with a constant, which the compiler turns into a few word compares.)
    fn read(rest: &[u8]) -> Option<(Key, &[u8])> {
        let (key, after) = match rest.first()? {
            b't' => (Key::Type, rest.strip_prefix(b"type\"")),
            b'i' => (Key::ItemId, rest.strip_prefix(b"item_id\"")),
            b'c' => (Key::ContentIndex, rest.strip_prefix(b"content_index\"")),
            b'd' => (Key::Delta, rest.strip_prefix(b"delta\"")),
            b'l' => (Key::Logprobs, rest.strip_prefix(b"logprobs\"")),
            b'o' => match rest.strip_prefix(b"output_index\"") {
                Some(after) => (Key::OutputIndex, Some(after)),
                None => (Key::Obfuscation, rest.strip_prefix(b"obfuscation\"")),
            },
            b's' => match rest.strip_prefix(b"sequence_number\"") {
                Some(after) => (Key::SequenceNumber, Some(after)),
                None => (Key::SummaryIndex, rest.strip_prefix(b"summary_index\"")),
            },
            _ => return None,
        };
        Some((key, after?))
    }

    /// This key's bit in the set of keys seen.
    fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// The kind of the delta type (after its `response.` prefix, up to its closing quote included)
/// that starts `rest`; and what follows.
fn delta_type(rest: &[u8]) -> Option<(EventKind, &[u8])> {
    let (kind, after) = match rest.first()? {
        b'o' => (
            EventKind::TextDelta,
            rest.strip_prefix(b"output_text.delta\""),
        ),
        b'f' => (
            EventKind::ArgumentsDelta,
            rest.strip_prefix(b"function_call_arguments.delta\""),
        ),
        b'c' => (
            EventKind::ArgumentsDelta,
            rest.strip_prefix(b"custom_tool_call_input.delta\""),
        ),
        b'r' => {
            if let Some(after) = rest.strip_prefix(b"reasoning_summary_text.delta\"") {
                (EventKind::SummaryDelta, Some(after))
            } else if let Some(after) = rest.strip_prefix(b"reasoning_text.delta\"") {
                (EventKind::ReasoningDelta, Some(after))
            } else {
                (
                    EventKind::RefusalDelta,
                    rest.strip_prefix(b"refusal.delta\""),
                )
            }
        }
        _ => return None,
    };
    Some((kind, after?))
}

/// A value that changes from one delta event to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// `sequence_number`, a number.
    SequenceNumber,
    /// `delta`, a string.
    Delta,
    /// `obfuscation`, a string.
    Obfuscation,
}

/// Where the variable values of a scanned payload stand: `(slot, start, end)` byte offsets in
/// the order they came (at most one each: keys are never repeated), and the item id's offsets.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub(super) slots: [Option<(Slot, usize, usize)>; 3],
    pub(super) item_id: Option<(usize, usize)>,
}

/// Reads `payload` as a delta event, and where its values stand.
pub(super) fn scan(payload: &[u8]) -> Option<(Delta<'_>, Layout)> {
    let mut delta = Delta {
        kind: EventKind::Unknown,
        sequence_number: None,
        output_index: None,
        content_index: None,
        summary_index: None,
        item_id: None,
        contents: None,
        logprobs: None,
    };
    let mut layout = Layout::default();
    let mut slots = 0;
    let offset = |rest: &[u8]| payload.len() - rest.len();
    let mut seen = 0u16;
    let mut rest = token(payload, b'{')?;
    loop {
        let (key, after) = Key::read(token(rest, b'"')?)?;
        if seen & key.bit() != 0 {
            return None;
        }
        seen |= key.bit();
        let value = skip_whitespace(token(after, b':')?);
        let (slot, after) = match key {
            Key::Type => {
                let (kind, after) = delta_type(value.strip_prefix(b"\"response.")?)?;
                delta.kind = kind;
                (None, after)
            }
            Key::ItemId => {
                let (literal, after) = string(value)?;
                delta.item_id = Some(literal);
                layout.item_id = Some((offset(value), offset(after)));
                (None, after)
            }
            Key::OutputIndex => {
                let (n, after) = number(value)?;
                delta.output_index = Some(n);
                (None, after)
            }
            Key::ContentIndex => {
                let (n, after) = number(value)?;
                delta.content_index = Some(n);
                (None, after)
            }
            Key::SummaryIndex => {
                let (n, after) = number(value)?;
                delta.summary_index = Some(n);
                (None, after)
            }
            Key::SequenceNumber => {
                let (n, after) = number(value)?;
                delta.sequence_number = Some(n);
                (Some(Slot::SequenceNumber), after)
            }
            Key::Delta => {
                let (literal, after) = string(value)?;
                delta.contents = contents(literal);
                (Some(Slot::Delta), after)
            }
            Key::Logprobs => {
                let after = skip_whitespace(value.strip_prefix(b"[")?).strip_prefix(b"]")?;
                (None, after)
            }
            Key::Obfuscation => (Some(Slot::Obfuscation), string(value)?.1),
        };
        if let Some(slot) = slot {
            if let Some(entry) = layout.slots.get_mut(slots) {
                *entry = Some((slot, offset(value), offset(after)));
            }
            slots += 1;
        }
        match token(after, b',') {
            Some(after) => rest = after,
            None => {
                // Not a comma (nor whitespace and a comma): the object must end here.
                rest = token(after, b'}')?;
                break;
            }
        }
    }
    let whole = skip_whitespace(rest).is_empty();
    (whole && seen & Key::Type.bit() != 0).then_some((delta, layout))
}

/// What a string literal holds between its quotes.
pub(super) fn contents(literal: &[u8]) -> Option<&[u8]> {
    literal.get(1..literal.len().saturating_sub(1))
}

/// `rest` after `expected`, which may follow whitespace (compact JSON has none: one comparison
/// then).
fn token(rest: &[u8], expected: u8) -> Option<&[u8]> {
    match rest.split_first() {
        Some((&byte, after)) if byte == expected => Some(after),
        _ => skip_whitespace(rest).strip_prefix(&[expected]),
    }
}
