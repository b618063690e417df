//! Bounded per-stream bookkeeping shared by the encoders: how much of each content part (and
//! tool call arguments) has been sent, so that a `*.done` event completes a part exactly once —
//! whole when no delta streamed, only its unsent tail when the deltas stopped short (trimmed
//! recordings), nothing when the deltas already said it all.

/// What kind of text a part carries; each kind has its own index space upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// `output_text` parts of a message (indexed by `content_index`).
    Text,
    /// `refusal` parts of a message (indexed by `content_index`).
    Refusal,
    /// Reasoning summary parts (indexed by `summary_index`).
    Summary,
    /// Raw reasoning text parts (indexed by `content_index`).
    ReasoningText,
    /// Function call arguments or custom tool call input (one per item).
    Arguments,
}

/// Identifies one part of one output item. Correlated by indices, never by item id: some servers
/// rotate item ids mid-stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartKey {
    /// `output_index` of the item (`u64::MAX` when the server sends none).
    pub output_index: u64,
    /// Part index inside the item.
    pub part_index: u64,
    /// Which index space `part_index` belongs to.
    pub kind: PartKind,
}

impl PartKey {
    /// The item's output index, unless the server sent none.
    pub fn output_index_opt(self) -> Option<u64> {
        (self.output_index != u64::MAX).then_some(self.output_index)
    }

    /// Builds a key from optional upstream indices.
    pub fn new(output_index: Option<u64>, part_index: Option<u64>, kind: PartKind) -> Self {
        PartKey {
            output_index: output_index.unwrap_or(u64::MAX),
            part_index: part_index.unwrap_or(0),
            kind,
        }
    }
}

/// Length and FNV-1a digest of the JSON string contents (escapes as sent, quotes excluded)
/// already sent for one part: enough to recognise a full text that continues it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentText {
    len: usize,
    digest: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for SentText {
    fn default() -> Self {
        SentText {
            len: 0,
            digest: FNV_OFFSET,
        }
    }
}

impl SentText {
    /// Records that `contents` was sent after what was sent before.
    pub fn extend(&mut self, contents: &[u8]) {
        self.digest = digest(self.digest, contents);
        self.len += contents.len();
    }

    /// The tail of `full` (the complete contents) not sent yet, recorded as sent; `None` when
    /// nothing is missing or `full` does not continue what was sent.
    pub fn complete<'a>(&mut self, full: &'a str) -> Option<&'a str> {
        let (head, tail) = full.split_at_checked(self.len)?;
        if tail.is_empty() || digest(FNV_OFFSET, head.as_bytes()) != self.digest {
            return None;
        }
        self.extend(tail.as_bytes());
        Some(tail)
    }
}

fn digest(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    hash
}

/// How many parts are remembered; the oldest are forgotten first. Items stream one after another,
/// so only recent parts can still receive a `*.done` event.
const REMEMBERED_PARTS: usize = 64;

/// What has been sent of each recent part.
#[derive(Debug, Default)]
pub struct SentParts {
    parts: Vec<(PartKey, SentText)>,
}

impl SentParts {
    /// The record of `key`, created (evicting the oldest) when new.
    fn entry(&mut self, key: PartKey) -> Option<&mut SentText> {
        // Keys are unique; the part being streamed is the last one.
        let slot = match self.parts.iter().rposition(|(k, _)| *k == key) {
            Some(slot) => slot,
            None => {
                if self.parts.len() >= REMEMBERED_PARTS {
                    self.parts.remove(0);
                }
                self.parts.push((key, SentText::default()));
                self.parts.len() - 1
            }
        };
        self.parts.get_mut(slot).map(|(_, sent)| sent)
    }

    /// Records a delta of `key` as sent.
    pub fn sent(&mut self, key: PartKey, contents: &[u8]) {
        if let Some(sent) = self.entry(key) {
            sent.extend(contents);
        }
    }

    /// The part of `full` (the complete contents of `key`) still to send; see
    /// [`SentText::complete`].
    pub fn complete<'a>(&mut self, key: PartKey, full: &'a str) -> Option<&'a str> {
        self.entry(key)?.complete(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: PartKey = PartKey {
        output_index: 1,
        part_index: 0,
        kind: PartKind::Text,
    };

    #[test]
    fn done_without_deltas_sends_everything_once() {
        let mut sent = SentParts::default();
        assert_eq!(sent.complete(KEY, "abc"), Some("abc"));
        assert_eq!(sent.complete(KEY, "abc"), None);
    }

    #[test]
    fn done_after_full_deltas_sends_nothing() {
        let mut sent = SentParts::default();
        sent.sent(KEY, b"ab");
        sent.sent(KEY, b"c");
        assert_eq!(sent.complete(KEY, "abc"), None);
    }

    #[test]
    fn done_after_partial_deltas_sends_the_tail() {
        let mut sent = SentParts::default();
        sent.sent(KEY, b"Got");
        assert_eq!(sent.complete(KEY, "Got it \\u00e9"), Some(" it \\u00e9"));
        assert_eq!(sent.complete(KEY, "Got it \\u00e9"), None);
    }

    #[test]
    fn inconsistent_done_sends_nothing() {
        let mut sent = SentParts::default();
        sent.sent(KEY, b"Hello");
        assert_eq!(sent.complete(KEY, "Jello, world"), None);
        assert_eq!(sent.complete(KEY, "Hell"), None);
    }

    #[test]
    fn parts_are_independent_and_memory_is_bounded() {
        let mut sent = SentParts::default();
        for i in 0..1000 {
            sent.sent(PartKey::new(Some(i), None, PartKind::Text), b"x");
        }
        assert_eq!(sent.parts.len(), REMEMBERED_PARTS);
        let refusal = PartKey {
            kind: PartKind::Refusal,
            ..KEY
        };
        assert_eq!(sent.complete(refusal, "no"), Some("no"));
    }
}
