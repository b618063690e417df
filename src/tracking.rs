//! Bounded per-stream bookkeeping shared by the encoders: which content parts already streamed
//! deltas, so that text arriving only in a `*.done` event is emitted exactly once.

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
    /// Builds a key from optional upstream indices.
    pub fn new(output_index: Option<u64>, part_index: Option<u64>, kind: PartKind) -> Self {
        PartKey {
            output_index: output_index.unwrap_or(u64::MAX),
            part_index: part_index.unwrap_or(0),
            kind,
        }
    }
}

/// How many parts are remembered; the oldest are forgotten first. Items stream one after another,
/// so only recent parts can still receive a `*.done` event.
const REMEMBERED_PARTS: usize = 64;

/// The set of parts whose text has been sent to the client, bounded to the most recent ones.
#[derive(Debug, Default)]
pub struct SentParts {
    keys: Vec<PartKey>,
}

impl SentParts {
    /// Records that `key` has sent text.
    pub fn mark(&mut self, key: PartKey) {
        if self.keys.last() == Some(&key) || self.keys.contains(&key) {
            return;
        }
        if self.keys.len() >= REMEMBERED_PARTS {
            self.keys.remove(0);
        }
        self.keys.push(key);
    }

    /// Whether `key` has sent text.
    pub fn contains(&self, key: PartKey) -> bool {
        self.keys.contains(&key)
    }

    /// Marks `key` and reports whether it was new: the caller emits the part's text only then.
    pub fn first_time(&mut self, key: PartKey) -> bool {
        let new = !self.contains(key);
        self.mark(key);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_time_is_true_once() {
        let mut sent = SentParts::default();
        let key = PartKey::new(Some(1), Some(0), PartKind::Text);
        assert!(sent.first_time(key));
        assert!(!sent.first_time(key));
        assert!(sent.first_time(PartKey::new(Some(1), Some(0), PartKind::Refusal)));
    }

    #[test]
    fn memory_is_bounded() {
        let mut sent = SentParts::default();
        for i in 0..1000 {
            sent.mark(PartKey::new(Some(i), None, PartKind::Text));
        }
        assert_eq!(sent.keys.len(), REMEMBERED_PARTS);
        assert!(sent.contains(PartKey::new(Some(999), None, PartKind::Text)));
    }
}
