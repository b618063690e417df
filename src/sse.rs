//! Incremental server-sent-events framer (WHATWG event-stream rules) with a byte cap.
//!
//! The framer takes the upstream body in arbitrary chunks and yields the `data` payload of every
//! complete event, in order, the moment the blank line that ends it arrives. It knows nothing of
//! JSON, dialects or proxy-wasm.
//!
//! Rules implemented: lines end in `\n`, `\r\n` or `\r` (a `\r\n` split across two chunks counts
//! once); a blank line dispatches the event; `data:` lines are joined with `\n`; one space after
//! the colon is dropped; lines starting with `:` are comments, reported in their place as
//! [`Frame::Comment`] (servers send them to keep a quiet connection alive); a leading UTF-8 BOM is
//! dropped;
//! `event:`, `id:` and `retry:` are read and ignored (the event type comes from the JSON payload).
//! An event whose data buffer is empty is not dispatched.
//!
//! Nothing is copied that need not be: an event whose one `data:` line lies whole in the chunk
//! being fed is dispatched straight from that chunk; only the unfinished tail of a chunk (a partial
//! line, the data of a partial event) is kept, and events with several `data:` lines are joined in
//! the framer's buffer.
//!
//! One deliberate leniency: at end of input, an event that was not closed by a blank line is still
//! dispatched (WHATWG discards it). An upstream that forgets the final blank line after its
//! terminal event would otherwise look truncated.

use crate::word_scan;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Why the framer stopped accepting input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// One event (its pending line plus its data so far) exceeded the configured cap.
    EventTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::EventTooLarge { limit } => {
                write!(f, "SSE event larger than the {limit}-byte cap")
            }
        }
    }
}

/// Per-stream SSE framing state: the partial line and partial event held between chunks.
#[derive(Debug)]
pub struct Framer {
    /// Bytes of a line whose terminator has not arrived yet.
    line: Vec<u8>,
    /// Data buffer of the event being assembled (each `data:` value followed by `\n`).
    data: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` at the start of the next one ends no new line.
    skip_lf: bool,
    /// How many bytes of a leading BOM have been matched; `None` once the BOM check is over.
    bom_matched: Option<usize>,
    /// Cap on `line.len() + data.len()`.
    max_event_bytes: usize,
    /// Set once the cap was exceeded; the framer then ignores all input.
    failed: bool,
}

/// What the framer yields, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The `data` payload of a complete event.
    Event(&'a [u8]),
    /// A comment line.
    Comment,
}

impl Framer {
    /// A framer whose held bytes (partial line plus partial event) never exceed `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Framer {
            line: Vec::new(),
            data: Vec::new(),
            skip_lf: false,
            bom_matched: Some(0),
            max_event_bytes,
            failed: false,
        }
    }

    /// Bytes currently held back waiting for the rest of an event.
    pub fn held_bytes(&self) -> usize {
        self.line.len() + self.data.len()
    }

    /// Frames `input`, calling `on_event` with every event it completes and every comment line.
    pub fn feed(
        &mut self,
        input: &[u8],
        on_event: &mut impl FnMut(Frame),
    ) -> Result<(), FrameError> {
        if self.failed {
            return Err(self.too_large());
        }
        let mut input = self.strip_bom(input);
        // The value of the event's one `data:` line so far, when it lies whole in `input` (then
        // `data` is empty): dispatched from there, or kept in `data` when the chunk ends first.
        let mut pending = None;
        while !input.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if let Some((b'\n', rest)) = input.split_first() {
                    input = rest;
                    continue;
                }
            }
            let end = match input.first() {
                Some(b'\n' | b'\r') => Some(0),
                _ => line_end(input),
            };
            let Some(end) = end else {
                self.line.extend_from_slice(input);
                self.keep(pending);
                return self.check_cap(0);
            };
            let (body, rest) = input.split_at_checked(end).unwrap_or((input, &[]));
            // `rest` starts with the terminator found above.
            let terminator_len = match rest {
                [b'\r', b'\n', ..] => 2,
                [b'\r'] => {
                    self.skip_lf = true;
                    1
                }
                _ => 1,
            };
            input = rest.get(terminator_len..).unwrap_or(&[]);
            // The cap counts each complete line whether or not it was held across chunks, so
            // that the outcome never depends on where the input was cut.
            if self.line.is_empty() {
                self.check_cap(pending_len(pending).saturating_add(body.len()))?;
                self.take_line(body, &mut pending, on_event)?;
            } else {
                // A line held from an earlier chunk ends: the first line of this one, so nothing
                // is pending.
                self.line.extend_from_slice(body);
                self.check_cap(0)?;
                let line = std::mem::take(&mut self.line);
                let mut held_pending = None;
                let result = self.take_line(&line, &mut held_pending, on_event);
                self.keep(held_pending);
                self.line = line;
                self.line.clear();
                result?;
            }
        }
        self.keep(pending);
        Ok(())
    }

    /// Ends the input: a pending unterminated line and a pending event are dispatched.
    pub fn finish(&mut self, on_event: &mut impl FnMut(Frame)) -> Result<(), FrameError> {
        if self.failed {
            return Err(self.too_large());
        }
        if let Some(matched) = self.bom_matched.take() {
            // Input ended inside what looked like a BOM: those bytes were content.
            self.line
                .extend_from_slice(BOM.get(..matched).unwrap_or(&[]));
        }
        let mut pending = None;
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            self.take_line(&line, &mut pending, on_event)?;
        }
        self.dispatch(pending, on_event);
        Ok(())
    }

    /// Consumes a leading BOM, which may arrive split over several chunks.
    fn strip_bom<'i>(&mut self, mut input: &'i [u8]) -> &'i [u8] {
        while let Some(matched) = self.bom_matched {
            let (Some(&expected), Some((&first, rest))) = (BOM.get(matched), input.split_first())
            else {
                if matched == BOM.len() {
                    self.bom_matched = None;
                }
                break;
            };
            if first == expected {
                self.bom_matched = Some(matched + 1);
                input = rest;
            } else {
                // Not a BOM after all: the bytes matched so far are ordinary content.
                self.line
                    .extend_from_slice(BOM.get(..matched).unwrap_or(&[]));
                self.bom_matched = None;
            }
        }
        input
    }

    /// Interprets one complete line. A `data:` value becomes `pending` when nothing is held for
    /// the event yet, else it is appended to `data`.
    #[inline(always)]
    fn take_line<'l>(
        &mut self,
        line: &'l [u8],
        pending: &mut Option<&'l [u8]>,
        on_event: &mut impl FnMut(Frame),
    ) -> Result<(), FrameError> {
        match classify(line) {
            Line::Blank => {
                self.dispatch(pending.take(), on_event);
                Ok(())
            }
            Line::Data(value) => {
                if pending.is_none() && self.data.is_empty() {
                    *pending = Some(value);
                    return Ok(());
                }
                self.keep(pending.take());
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.check_cap(0)
            }
            Line::Comment => {
                on_event(Frame::Comment);
                Ok(())
            }
            Line::Other => Ok(()),
        }
    }

    /// Dispatches the event ending here: its one data value `pending`, else the joined `data`
    /// (not dispatched when the event had no `data:` line).
    #[inline]
    fn dispatch(&mut self, pending: Option<&[u8]>, on_event: &mut impl FnMut(Frame)) {
        match pending {
            Some(value) => on_event(Frame::Event(value)),
            None => {
                if let Some((b'\n', payload)) = self.data.split_last() {
                    on_event(Frame::Event(payload));
                }
            }
        }
        self.data.clear();
    }

    /// Copies a pending data value into `data`, where it outlives the chunk it came from.
    fn keep(&mut self, pending: Option<&[u8]>) {
        if let Some(value) = pending {
            self.data.extend_from_slice(value);
            self.data.push(b'\n');
        }
    }

    /// Fails the stream when the held bytes plus `line_len` bytes of a line not held exceed the
    /// cap.
    fn check_cap(&mut self, line_len: usize) -> Result<(), FrameError> {
        if self.held_bytes().saturating_add(line_len) > self.max_event_bytes {
            self.failed = true;
            self.line = Vec::new();
            self.data = Vec::new();
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> FrameError {
        FrameError::EventTooLarge {
            limit: self.max_event_bytes,
        }
    }
}

/// What one complete line says.
enum Line<'l> {
    /// The blank line that dispatches an event.
    Blank,
    /// A `data` field and its value.
    Data(&'l [u8]),
    /// A comment line.
    Comment,
    /// Another field, or a field this framer ignores.
    Other,
}

/// Reads one complete line: `field: value` (one space after the colon dropped), `field` alone
/// (empty value), `: comment`, or blank.
#[inline(always)]
fn classify(line: &[u8]) -> Line<'_> {
    match line {
        [] => Line::Blank,
        [b':', ..] => Line::Comment,
        [b'e', b'v', b'e', b'n', b't', b':', ..] => Line::Other,
        [b'd', b'a', b't', b'a', b':', b' ', value @ ..]
        | [b'd', b'a', b't', b'a', b':', value @ ..] => Line::Data(value),
        _ => {
            let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
            match line.split_at_checked(colon) {
                Some((b"data", _)) => Line::Data(&[]),
                _ => Line::Other,
            }
        }
    }
}

/// The position of the first `\n` or `\r` in `bytes`, a word at a time. One test per word finds
/// the first byte below 0x0E (`\r`, the larger of the two), then that byte is checked: other
/// control bytes are rare in a stream (JSON escapes them inside strings), and the scan goes on
/// after one.
fn line_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let rest = bytes.get(from..)?;
        let at = from
            + word_scan::position(
                rest,
                |word| word_scan::below(word, b'\r' + 1),
                |b| b <= b'\r',
            )?;
        if matches!(bytes.get(at), Some(b'\n' | b'\r')) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// The bytes a pending data value counts for in the cap: the value and its `\n`.
fn pending_len(pending: Option<&[u8]>) -> usize {
    pending.map_or(0, |value| value.len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_in_pieces(
        input: &[u8],
        piece: usize,
        cap: usize,
    ) -> (Vec<String>, Result<(), FrameError>) {
        let mut framer = Framer::new(cap);
        let mut events = Vec::new();
        let mut push = |frame: Frame| {
            if let Frame::Event(d) = frame {
                events.push(String::from_utf8_lossy(d).into_owned());
            }
        };
        for chunk in input.chunks(piece.max(1)) {
            if let Err(e) = framer.feed(chunk, &mut push) {
                return (events, Err(e));
            }
        }
        let result = framer.finish(&mut push);
        (events, result)
    }

    fn frame_every_split(input: &[u8]) -> Vec<String> {
        let (whole, result) = frame_in_pieces(input, input.len(), 1 << 20);
        assert_eq!(result, Ok(()));
        for piece in 1..=input.len() {
            assert_eq!(
                frame_in_pieces(input, piece, 1 << 20).0,
                whole,
                "piece size {piece}"
            );
        }
        // Also every two-piece split.
        for at in 0..=input.len() {
            let mut framer = Framer::new(1 << 20);
            let mut events = Vec::new();
            let mut push = |frame: Frame| {
                if let Frame::Event(d) = frame {
                    events.push(String::from_utf8_lossy(d).into_owned());
                }
            };
            let (a, b) = input.split_at(at);
            framer.feed(a, &mut push).unwrap();
            framer.feed(b, &mut push).unwrap();
            framer.finish(&mut push).unwrap();
            assert_eq!(events, whole, "split at {at}");
        }
        whole
    }

    #[test]
    fn every_line_ending_dispatches_the_same_events() {
        for eol in ["\n", "\r\n", "\r"] {
            let input = format!("data: a{eol}{eol}data: b{eol}{eol}");
            assert_eq!(
                frame_every_split(input.as_bytes()),
                ["a", "b"],
                "eol {eol:?}"
            );
        }
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let input = b"data: x\r\n\r\ndata: y\r\n\r\n";
        assert_eq!(frame_every_split(input), ["x", "y"]);
    }

    #[test]
    fn multi_line_data_joins_with_newline() {
        assert_eq!(
            frame_every_split(b"data: one\ndata:two\ndata:  three\n\n"),
            ["one\ntwo\n three"]
        );
    }

    #[test]
    fn comments_are_reported_where_they_stand() {
        let input = b": a\n\ndata: 1\n: b\ndata: 2\n\n:c\r\n";
        for piece in 1..=input.len() {
            let mut framer = Framer::new(1024);
            let mut seen = Vec::new();
            let mut push = |frame: Frame| {
                seen.push(match frame {
                    Frame::Event(d) => String::from_utf8_lossy(d).into_owned(),
                    Frame::Comment => ":".to_owned(),
                })
            };
            for chunk in input.chunks(piece) {
                framer.feed(chunk, &mut push).unwrap();
            }
            framer.finish(&mut push).unwrap();
            assert_eq!(seen, [":", ":", "1\n2", ":"], "piece size {piece}");
        }
    }

    #[test]
    fn comments_event_and_id_fields_are_ignored() {
        let input = b": keep-alive\nevent: response.created\nid: 7\nretry: 10\ndata: {}\n\n:\n\n";
        assert_eq!(frame_every_split(input), ["{}"]);
    }

    #[test]
    fn leading_bom_is_dropped_even_when_split() {
        let mut input = BOM.to_vec();
        input.extend_from_slice(b"data: a\n\n");
        assert_eq!(frame_every_split(&input), ["a"]);
    }

    #[test]
    fn partial_bom_bytes_are_content() {
        // A line starting with 0xEF 0xBB but no 0xBF: the bytes stay in the field name.
        let input = [
            0xEF, 0xBB, b'x', b'\n', b'd', b'a', b't', b'a', b':', b'z', b'\n', b'\n',
        ];
        assert_eq!(frame_every_split(&input), ["z"]);
    }

    #[test]
    fn event_without_data_is_not_dispatched() {
        assert!(frame_every_split(b"event: ping\n\n\n\n").is_empty());
        // WHATWG: a `data:` line with no value still dispatches an (empty) event.
        assert_eq!(frame_every_split(b"data:\n\n"), [""]);
    }

    #[test]
    fn unterminated_last_event_is_dispatched_at_end() {
        assert_eq!(frame_every_split(b"data: a\n\ndata: last"), ["a", "last"]);
        assert_eq!(frame_every_split(b"data: a\n\ndata: last\n"), ["a", "last"]);
    }

    #[test]
    fn field_without_colon_is_a_name_with_empty_value() {
        assert_eq!(frame_every_split(b"data\ndata: x\n\n"), ["\nx"]);
    }

    #[test]
    fn oversized_event_is_an_error_and_the_framer_stays_failed() {
        let input = format!("data: {}\n\n", "x".repeat(100));
        let (events, result) = frame_in_pieces(input.as_bytes(), 7, 64);
        assert!(events.is_empty());
        assert_eq!(result, Err(FrameError::EventTooLarge { limit: 64 }));
        let (events, result) = frame_in_pieces(input.as_bytes(), input.len(), 64);
        assert!(events.is_empty());
        assert_eq!(result, Err(FrameError::EventTooLarge { limit: 64 }));
    }

    #[test]
    fn held_bytes_never_exceed_the_cap() {
        let input = "data: abcdefgh\n".repeat(20);
        let mut framer = Framer::new(50);
        let mut ignore = |_: Frame| {};
        for chunk in input.as_bytes().chunks(3) {
            if framer.feed(chunk, &mut ignore).is_err() {
                break;
            }
            assert!(framer.held_bytes() <= 50);
        }
    }

    #[test]
    fn an_overlong_line_fails_whether_or_not_it_was_split() {
        // Found by tests/properties.rs: a long non-`data` line arriving whole used to pass while
        // the same line arriving in pieces hit the cap.
        let input = format!("{}\nevent: x\n", "x".repeat(40));
        for piece in [1, 7, input.len()] {
            let (events, result) = frame_in_pieces(input.as_bytes(), piece, 16);
            assert!(events.is_empty());
            assert_eq!(
                result,
                Err(FrameError::EventTooLarge { limit: 16 }),
                "piece {piece}"
            );
        }
    }

    #[test]
    fn line_end_finds_the_first_terminator_in_any_word() {
        let text = b"0123456789abcdef0123456789";
        assert_eq!(line_end(text), None);
        for at in 0..text.len() {
            for terminator in [b'\n', b'\r'] {
                let mut bytes = text.to_vec();
                bytes[at] = terminator;
                // A terminator after it must not hide the first one.
                if let Some(later) = bytes.get_mut(at + 1) {
                    *later = b'\n';
                }
                assert_eq!(line_end(&bytes), Some(at), "{terminator:#x} at {at}");
            }
        }
        assert_eq!(
            line_end(&[b"\x0b\x0c\x8a\x8d\x00".as_slice(), "é🎉".as_bytes()].concat()),
            None
        );
        // Other control bytes before a terminator, in the same word or the words before it.
        for at in 0..text.len() {
            for control in [b'\t', b'\x00', b'\x0b', b'\x0c'] {
                let mut bytes = text.to_vec();
                for b in bytes.iter_mut().take(at).step_by(3) {
                    *b = control;
                }
                bytes[at] = b'\r';
                assert_eq!(line_end(&bytes), Some(at), "{control:#x} before {at}");
            }
        }
    }

    #[test]
    fn invalid_utf8_passes_through_as_bytes() {
        let (events, result) = frame_in_pieces(b"data: \xff\xfe\n\n", 1, 1024);
        assert_eq!(result, Ok(()));
        assert_eq!(events.len(), 1);
    }
}
