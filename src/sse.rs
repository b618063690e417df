//! Incremental server-sent-events framer (WHATWG event-stream rules) with a byte cap.
//!
//! The framer takes the upstream body in arbitrary chunks and yields the `data` payload of every
//! complete event, in order, the moment the blank line that ends it arrives. It knows nothing of
//! JSON, dialects or proxy-wasm.
//!
//! Rules implemented: lines end in `\n`, `\r\n` or `\r` (a `\r\n` split across two chunks counts
//! once); a blank line dispatches the event; `data:` lines are joined with `\n`; one space after
//! the colon is dropped; lines starting with `:` are comments; a leading UTF-8 BOM is dropped;
//! `event:`, `id:` and `retry:` are read and ignored (the event type comes from the JSON payload).
//! An event whose data buffer is empty is not dispatched.
//!
//! One deliberate leniency: at end of input, an event that was not closed by a blank line is still
//! dispatched (WHATWG discards it). An upstream that forgets the final blank line after its
//! terminal event would otherwise look truncated.

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

    /// Frames `input`, calling `on_event` with the data payload of every event it completes.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        on_event: &mut impl FnMut(&[u8]),
    ) -> Result<(), FrameError> {
        if self.failed {
            return Err(self.too_large());
        }
        input = self.strip_bom(input);
        while !input.is_empty() {
            if self.skip_lf {
                self.skip_lf = false;
                if let Some((b'\n', rest)) = input.split_first() {
                    input = rest;
                    continue;
                }
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', input) else {
                self.line.extend_from_slice(input);
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
                self.check_cap(body.len())?;
                self.take_line(body, on_event)?;
            } else {
                self.line.extend_from_slice(body);
                self.check_cap(0)?;
                let line = std::mem::take(&mut self.line);
                let result = self.take_line(&line, on_event);
                self.line = line;
                self.line.clear();
                result?;
            }
        }
        Ok(())
    }

    /// Ends the input: a pending unterminated line and a pending event are dispatched.
    pub fn finish(&mut self, on_event: &mut impl FnMut(&[u8])) -> Result<(), FrameError> {
        if self.failed {
            return Err(self.too_large());
        }
        if let Some(matched) = self.bom_matched.take() {
            // Input ended inside what looked like a BOM: those bytes were content.
            self.line
                .extend_from_slice(BOM.get(..matched).unwrap_or(&[]));
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, on_event)?;
        }
        self.take_line(b"", on_event)
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

    /// Interprets one complete line.
    fn take_line(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(&[u8]),
    ) -> Result<(), FrameError> {
        match line.split_first() {
            None => {
                if let Some((b'\n', payload)) = self.data.split_last() {
                    on_event(payload);
                }
                self.data.clear();
                Ok(())
            }
            Some((b':', _)) => Ok(()),
            Some(_) => {
                let (name, value) = match memchr::memchr(b':', line) {
                    Some(colon) => {
                        let (name, rest) = line.split_at_checked(colon).unwrap_or((line, &[]));
                        let value = rest.get(1..).unwrap_or(&[]);
                        (name, value.strip_prefix(b" ").unwrap_or(value))
                    }
                    None => (line, &[][..]),
                };
                if name == b"data" {
                    self.data.extend_from_slice(value);
                    self.data.push(b'\n');
                    self.check_cap(0)?;
                }
                Ok(())
            }
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
        let mut push = |d: &[u8]| events.push(String::from_utf8_lossy(d).into_owned());
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
            let mut push = |d: &[u8]| events.push(String::from_utf8_lossy(d).into_owned());
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
        let mut ignore = |_: &[u8]| {};
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
    fn invalid_utf8_passes_through_as_bytes() {
        let (events, result) = frame_in_pieces(b"data: \xff\xfe\n\n", 1, 1024);
        assert_eq!(result, Ok(()));
        assert_eq!(events.len(), 1);
    }
}
