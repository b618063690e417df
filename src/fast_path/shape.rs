//! The shape of the last delta event the scanner read: its bytes outside the values that change
//! from one event to the next (`sequence_number`, `delta`, `obfuscation`), and what those bytes
//! said. A stream sends its deltas in one shape — the same keys in the same order, the same type,
//! item id and indices — so the next event is usually recognised by comparing those bytes and
//! reading only the values between them.
//!
//! Why this gives what the scanner would: the scanner's way through a payload depends on its
//! bytes alone, and the value readers consume exactly one value whatever it holds (a number ends
//! at its last digit, a string at its closing quote; what follows a value in the shape never
//! continues it). So a payload equal to the shape outside its values, with values the same
//! readers accept, is one the scanner accepts, with the same fields outside those values.

use super::lex::{number, string, strip_literal};
use super::scanner::{contents, Layout, Slot};
use crate::responses::{Delta, EventKind};

/// The longest shape kept, in bytes outside the values; a longer payload is scanned each time.
const MAX_SHAPE_BYTES: usize = 512;

/// The values read from a payload of the known shape.
#[derive(Debug, Default)]
pub(super) struct Values<'a> {
    sequence_number: Option<u64>,
    contents: Option<&'a [u8]>,
}

/// The shape of one delta event, once learnt.
#[derive(Debug)]
pub(super) struct Shape {
    /// The payload's bytes outside its values, concatenated.
    literals: Vec<u8>,
    /// Each value in order: how many bytes of `literals` precede it, and which it is.
    slots: [Option<(usize, Slot)>; 3],
    /// The item id, as a range of `literals`.
    item_id: Option<(usize, usize)>,
    kind: EventKind,
    output_index: Option<u64>,
    content_index: Option<u64>,
    summary_index: Option<u64>,
    /// Whether the fields above describe a payload (not until the first is learnt).
    known: bool,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            literals: Vec::new(),
            slots: [None; 3],
            item_id: None,
            kind: EventKind::Unknown,
            output_index: None,
            content_index: None,
            summary_index: None,
            known: false,
        }
    }
}

impl Shape {
    /// Learns the shape of `payload`, which the scanner read as `delta` with `layout`.
    pub(super) fn learn(&mut self, payload: &[u8], layout: &Layout, delta: &Delta) {
        self.known = false;
        let values: usize = layout
            .slots
            .iter()
            .flatten()
            .map(|(_, s, e)| e.saturating_sub(*s))
            .sum();
        if payload.len().saturating_sub(values) > MAX_SHAPE_BYTES {
            return;
        }
        self.literals.clear();
        let mut at = 0;
        for (entry, learnt) in layout.slots.iter().zip(&mut self.slots) {
            *learnt = None;
            if let Some((slot, start, end)) = *entry {
                let Some(literal) = payload.get(at..start) else {
                    return;
                };
                self.literals.extend_from_slice(literal);
                *learnt = Some((self.literals.len(), slot));
                at = end;
            }
        }
        let Some(tail) = payload.get(at..) else {
            return;
        };
        self.literals.extend_from_slice(tail);
        self.item_id = layout.item_id.map(|(start, end)| {
            // The item id lies outside the values: it moves left by those before it.
            let shift: usize = layout
                .slots
                .iter()
                .flatten()
                .filter(|(_, _, value_end)| *value_end <= start)
                .map(|(_, s, e)| e.saturating_sub(*s))
                .sum();
            (start.saturating_sub(shift), end.saturating_sub(shift))
        });
        self.kind = delta.kind;
        self.output_index = delta.output_index;
        self.content_index = delta.content_index;
        self.summary_index = delta.summary_index;
        self.known = true;
    }

    /// The values of `payload`, when it has this shape.
    pub(super) fn values<'a>(&self, payload: &'a [u8]) -> Option<Values<'a>> {
        if !self.known {
            return None;
        }
        let mut values = Values::default();
        let mut rest = payload;
        let mut at = 0;
        for &(end, slot) in self.slots.iter().flatten() {
            rest = strip_literal(rest, self.literals.get(at..end)?)?;
            rest = match slot {
                Slot::SequenceNumber => {
                    let (n, after) = number(rest)?;
                    values.sequence_number = Some(n);
                    after
                }
                Slot::Delta => {
                    let (literal, after) = string(rest)?;
                    values.contents = contents(literal);
                    after
                }
                Slot::Obfuscation => string(rest)?.1,
            };
            at = end;
        }
        let tail = self.literals.get(at..)?;
        (rest.len() == tail.len() && strip_literal(rest, tail).is_some()).then_some(values)
    }

    /// The delta event of this shape holding `values`.
    pub(super) fn delta<'a>(&'a self, values: Values<'a>) -> Delta<'a> {
        Delta {
            kind: self.kind,
            sequence_number: values.sequence_number,
            output_index: self.output_index,
            content_index: self.content_index,
            summary_index: self.summary_index,
            item_id: self
                .item_id
                .and_then(|(start, end)| self.literals.get(start..end)),
            contents: values.contents,
            logprobs: None,
        }
    }
}
