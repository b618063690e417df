//! Stop sequences, honoured by the gateway itself: the Responses API has none, so the client's
//! stop sequences (Chat `stop`, Interactions `generation_config.stop_sequences`) are not sent
//! upstream; the answer is cut here, as the client's API defines it.
//!
//! * The answer ends at the **first occurrence** of any sequence in the text output: the text
//!   before it is sent, the sequence and everything after it are not. "First" is the first to
//!   be complete as the text grows (the earliest end); two sequences that end at the same
//!   character are cut at the earlier start (the longer one). This is what a model that checks
//!   its stop sequences after each character would do, and it lets a stream decide as soon as a
//!   sequence is complete.
//! * Only text output is matched (message `output_text`), never tool-call arguments, reasoning
//!   or refusals.
//! * In a stream, [`StopMatcher`] holds back only the text that could still start a sequence: the
//!   longest suffix that is a proper prefix of one, so at most the longest sequence minus one
//!   character. Held text is released as soon as it cannot start a match, and flushed whole when
//!   other output follows or the stream ends without a match.
//! * Encoders keep text as JSON string contents (escapes as the upstream wrote them);
//!   [`ContentsStopMatcher`] decodes them (a surrogate pair split across two deltas included),
//!   matches, and writes the released text back as JSON string contents; a piece that holds no
//!   escape and no first byte of any sequence, while nothing is held, passes as it came. Without
//!   stop sequences none of this runs: the encoders copy the upstream's bytes as before.

use crate::json::push_contents;

/// Largest stop sequence accepted, in bytes (a bound on what a stream holds back and on the
/// matching work per delta).
pub const MAX_SEQUENCE_BYTES: usize = 1024;

/// The stop sequences of one request (none when empty). Each is non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopSequences {
    sequences: Vec<String>,
}

impl StopSequences {
    /// The given sequences; empty strings are left out (they stop nothing).
    pub fn new(sequences: Vec<String>) -> Self {
        StopSequences {
            sequences: sequences.into_iter().filter(|s| !s.is_empty()).collect(),
        }
    }

    /// Whether there is no sequence.
    pub fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }

    /// The sequences, in the order the client gave them.
    pub fn as_slice(&self) -> &[String] {
        &self.sequences
    }

    /// The first occurrence in `text` as `(start, end)` byte offsets: the earliest end, then the
    /// earliest start.
    pub fn find(&self, text: &str) -> Option<(usize, usize)> {
        self.sequences
            .iter()
            .filter_map(|s| text.find(s.as_str()).map(|start| (start + s.len(), start)))
            .min()
            .map(|(end, start)| (start, end))
    }

    /// Where `text` ends: the byte offset of the first occurrence, or `None` when none occurs.
    pub fn cut(&self, text: &str) -> Option<usize> {
        self.find(text).map(|(start, _)| start)
    }

    /// The length in bytes of the longest suffix of `text` that is a proper prefix of a
    /// sequence: what must be held back because it could still start a match.
    fn open_suffix(&self, text: &str) -> usize {
        let longest = self.sequences.iter().map(String::len).max().unwrap_or(0);
        let from = text.len().saturating_sub(longest.saturating_sub(1));
        let bytes = text.as_bytes();
        for start in from..text.len() {
            let Some(first) = bytes.get(start) else {
                break;
            };
            if !text.is_char_boundary(start) {
                continue;
            }
            let tail = text.get(start..).unwrap_or_default();
            let opens = self.sequences.iter().any(|s| {
                s.len() > tail.len() && s.as_bytes().first() == Some(first) && s.starts_with(tail)
            });
            if opens {
                return tail.len();
            }
        }
        0
    }
}

/// The stop matcher of one text stream (decoded text in, released text out).
#[derive(Debug, Clone)]
pub struct StopMatcher {
    sequences: StopSequences,
    /// Text received but not released: a proper prefix of some sequence.
    held: String,
    stopped: bool,
    /// The sequence that matched, once one has.
    matched: Option<String>,
}

impl StopMatcher {
    /// A matcher for `sequences`, or `None` when there is none.
    pub fn new(sequences: StopSequences) -> Option<StopMatcher> {
        (!sequences.is_empty()).then(|| StopMatcher {
            sequences,
            held: String::new(),
            stopped: false,
            matched: None,
        })
    }

    /// Takes the next piece of text; appends to `out` what can be released. Returns `true` when
    /// a sequence is complete: `out` then ends just before it, and the matcher takes nothing more.
    pub fn push(&mut self, text: &str, out: &mut String) -> bool {
        if self.stopped {
            return true;
        }
        self.held.push_str(text);
        if let Some((start, end)) = self.sequences.find(&self.held) {
            self.matched = self.held.get(start..end).map(str::to_owned);
            out.push_str(self.held.get(..start).unwrap_or_default());
            self.held.clear();
            self.stopped = true;
            return true;
        }
        let keep = self.sequences.open_suffix(&self.held);
        let release = self.held.len() - keep;
        out.push_str(self.held.get(..release).unwrap_or_default());
        self.held.drain(..release);
        false
    }

    /// Releases the held text: the text ended (or other output follows) without a match.
    pub fn flush(&mut self, out: &mut String) {
        out.push_str(&self.held);
        self.held.clear();
    }

    /// Whether a sequence has matched.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The sequence that matched (Anthropic reports it as `stop_sequence`).
    pub fn matched(&self) -> Option<&str> {
        self.matched.as_deref()
    }

    /// The text held back.
    pub fn held(&self) -> &str {
        &self.held
    }
}

/// A [`StopMatcher`] over JSON string contents, as the encoders hold text: escaped pieces in,
/// escaped released pieces out.
#[derive(Debug, Clone)]
pub struct ContentsStopMatcher {
    matcher: StopMatcher,
    /// The first byte of each sequence: contents with none of them (and no escape) cannot start
    /// a match, and pass as they are while nothing is held.
    first_bytes: Vec<u8>,
    /// A high surrogate escape that ended the last piece, waiting for its low half.
    pending: Option<u16>,
    decoded: String,
    released: String,
}

impl ContentsStopMatcher {
    /// A matcher for `sequences`, or `None` when there is none.
    pub fn new(sequences: StopSequences) -> Option<ContentsStopMatcher> {
        let first_bytes = sequences
            .as_slice()
            .iter()
            .filter_map(|s| s.as_bytes().first().copied())
            .collect();
        Some(ContentsStopMatcher {
            matcher: StopMatcher::new(sequences)?,
            first_bytes,
            pending: None,
            decoded: String::new(),
            released: String::new(),
        })
    }

    /// Takes the next piece of JSON string contents; appends to `out` the released text as JSON
    /// string contents. Returns `true` when a sequence is complete (see [`StopMatcher::push`]).
    pub fn push(&mut self, contents: &[u8], out: &mut Vec<u8>) -> bool {
        let inert = !self.holds()
            && !self.matcher.is_stopped()
            && !contents
                .iter()
                .any(|b| *b == b'\\' || self.first_bytes.contains(b));
        if inert {
            out.extend_from_slice(contents);
            return false;
        }
        self.decoded.clear();
        decode_contents(contents, &mut self.pending, &mut self.decoded);
        self.released.clear();
        let stopped = self.matcher.push(&self.decoded, &mut self.released);
        push_contents(out, &self.released);
        stopped
    }

    /// Releases the held text as JSON string contents (see [`StopMatcher::flush`]).
    pub fn flush(&mut self, out: &mut Vec<u8>) {
        self.released.clear();
        if self.pending.take().is_some() {
            self.decoded.clear();
            self.decoded.push(char::REPLACEMENT_CHARACTER);
            self.matcher.push(&self.decoded, &mut self.released);
        }
        self.matcher.flush(&mut self.released);
        push_contents(out, &self.released);
    }

    /// Whether text is held back.
    pub fn holds(&self) -> bool {
        !self.matcher.held().is_empty() || self.pending.is_some()
    }

    /// The sequence that matched, once one has.
    pub fn matched(&self) -> Option<&str> {
        self.matcher.matched()
    }

    /// Whether a sequence has matched.
    pub fn is_stopped(&self) -> bool {
        self.matcher.is_stopped()
    }
}

/// Decodes JSON string contents into `out`. A high surrogate escape at the very end is left in
/// `pending` for the next piece; a lone surrogate, a malformed escape or invalid UTF-8 becomes
/// U+FFFD.
pub fn decode_contents(contents: &[u8], pending: &mut Option<u16>, out: &mut String) {
    let mut rest = contents;
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| b == b'\\').unwrap_or(rest.len());
        if run > 0 {
            if pending.take().is_some() {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            let (text, after) = rest.split_at(run);
            out.push_str(&String::from_utf8_lossy(text));
            rest = after;
            continue;
        }
        let escape = rest.get(1).copied();
        let simple = match escape {
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'/') => Some('/'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            Some(b't') => Some('\t'),
            _ => None,
        };
        if let Some(c) = simple {
            if pending.take().is_some() {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            out.push(c);
            rest = rest.get(2..).unwrap_or_default();
            continue;
        }
        let unit = (escape == Some(b'u'))
            .then(|| rest.get(2..6))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u16::from_str_radix(hex, 16).ok());
        let Some(unit) = unit else {
            // A malformed escape: one replacement character for the backslash and what follows.
            if pending.take().is_some() {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            out.push(char::REPLACEMENT_CHARACTER);
            rest = rest.get(2..).unwrap_or_default();
            continue;
        };
        rest = rest.get(6..).unwrap_or_default();
        match unit {
            0xD800..=0xDBFF => {
                if pending.replace(unit).is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
            }
            0xDC00..=0xDFFF => match pending.take() {
                Some(high) => {
                    let code =
                        0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                    out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => out.push(char::REPLACEMENT_CHARACTER),
            },
            _ => {
                if pending.take().is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                out.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stops(list: &[&str]) -> StopSequences {
        StopSequences::new(list.iter().map(|s| s.to_string()).collect())
    }

    /// Feeds `pieces` one by one; returns what each push released, and whether it stopped.
    fn run(list: &[&str], pieces: &[&str]) -> (Vec<String>, bool) {
        let mut matcher = StopMatcher::new(stops(list)).unwrap();
        let mut released = Vec::new();
        for piece in pieces {
            let mut out = String::new();
            let stopped = matcher.push(piece, &mut out);
            released.push(out);
            if stopped {
                return (released, true);
            }
        }
        let mut out = String::new();
        matcher.flush(&mut out);
        released.push(out);
        (released, false)
    }

    #[test]
    fn no_sequence_means_no_matcher() {
        assert!(StopMatcher::new(stops(&[])).is_none());
        assert!(StopMatcher::new(stops(&[""])).is_none());
    }

    #[test]
    fn text_before_the_stop_is_released_the_stop_and_after_are_not() {
        let (out, stopped) = run(&["Observation:"], &["Thought: x\nObservation: y"]);
        assert!(stopped);
        assert_eq!(out, ["Thought: x\n"]);
    }

    #[test]
    fn a_sequence_split_across_pieces_is_found() {
        let (out, stopped) = run(&["</code>"], &["print(1)</c", "od", "e> more"]);
        assert!(stopped);
        assert_eq!(out.concat(), "print(1)");
        // "</c" could start the sequence: held; released nothing more before the match.
        assert_eq!(out, ["print(1)", "", ""]);
    }

    #[test]
    fn held_text_is_released_once_it_cannot_start_a_match() {
        let (out, stopped) = run(&["STOP"], &["ab S", "T", "x", "yz"]);
        assert!(!stopped);
        assert_eq!(out, ["ab ", "", "STx", "yz", ""]);
    }

    #[test]
    fn hold_back_is_at_most_the_longest_sequence_minus_one_character() {
        let mut matcher = StopMatcher::new(stops(&["ééé", "x"])).unwrap();
        let mut out = String::new();
        assert!(!matcher.push("aaéé", &mut out));
        assert_eq!(matcher.held(), "éé");
        assert_eq!(out, "aa");
        assert!(!matcher.push("a", &mut out));
        assert_eq!(matcher.held(), "");
        assert_eq!(out, "aaééa");
    }

    #[test]
    fn unfinished_prefix_is_flushed_at_the_end() {
        let (out, stopped) = run(&["\n\n"], &["one\n"]);
        assert!(!stopped);
        assert_eq!(out, ["one", "\n"]);
    }

    #[test]
    fn overlapping_sequences_stop_at_the_first_to_complete() {
        // "bc" is complete at the third character; "abcd" would be at the fourth.
        assert_eq!(run(&["abcd", "bc"], &["xabcd"]).0, ["xa"]);
        assert_eq!(run(&["abcd", "bc"], &["xa", "b", "cd"]).0.concat(), "xa");
        // Both end at the same character: cut at the earlier start.
        assert_eq!(run(&["cd", "bcd"], &["abcde"]).0, ["a"]);
        // A sequence that overlaps itself: "aab" inside "aaab".
        assert_eq!(run(&["aab"], &["a", "a", "a", "b"]).0.concat(), "a");
    }

    #[test]
    fn pushes_after_a_stop_release_nothing() {
        let mut matcher = StopMatcher::new(stops(&["x"])).unwrap();
        let mut out = String::new();
        assert!(matcher.push("1x2", &mut out));
        assert!(matcher.push("3", &mut out));
        matcher.flush(&mut out);
        assert_eq!(out, "1");
        assert!(matcher.is_stopped());
    }

    #[test]
    fn every_split_gives_the_same_answer() {
        let text = "Thought: use a tool\nCalling tools: [x]\nObservation: 42";
        let list = ["Observation:", "Calling tools:"];
        let whole = run(&list, &[text]).0.concat();
        assert_eq!(whole, "Thought: use a tool\n");
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for &(i, _) in &chars {
            for &(j, _) in chars.iter().filter(|(j, _)| *j >= i) {
                let pieces = [&text[..i], &text[i..j], &text[j..]];
                assert_eq!(run(&list, &pieces).0.concat(), whole, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn cut_finds_the_first_occurrence() {
        assert_eq!(stops(&["b", "a"]).cut("xxab"), Some(2));
        assert_eq!(stops(&["zz"]).cut("xxab"), None);
    }

    #[test]
    fn contents_are_decoded_matched_and_written_back_escaped() {
        let mut matcher = ContentsStopMatcher::new(stops(&["\"\n"])).unwrap();
        let mut out = Vec::new();
        assert!(!matcher.push(br#"caf\u00e9 \"quoted"#, &mut out));
        assert_eq!(out, "café \\\"quoted".as_bytes());
        out.clear();
        assert!(!matcher.push(br#"\""#, &mut out));
        assert!(out.is_empty() && matcher.holds());
        assert!(matcher.push(br"\nrest", &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn a_surrogate_pair_split_across_pieces_is_one_character() {
        let mut matcher = ContentsStopMatcher::new(stops(&["😀!"])).unwrap();
        let mut out = Vec::new();
        assert!(!matcher.push(br"a\ud83d", &mut out));
        assert!(!matcher.push(br"\ude00", &mut out));
        assert_eq!(String::from_utf8(out.clone()).unwrap(), "a");
        assert!(matcher.push(b"!", &mut out));
        assert_eq!(String::from_utf8(out).unwrap(), "a");
    }

    #[test]
    fn lone_surrogates_and_bad_escapes_become_replacement_characters() {
        let mut text = String::new();
        let mut pending = None;
        decode_contents(br"\ud83dx\ude00\q\u12", &mut pending, &mut text);
        assert_eq!(text, "\u{fffd}x\u{fffd}\u{fffd}\u{fffd}12");
        let mut matcher = ContentsStopMatcher::new(stops(&["zz"])).unwrap();
        let mut out = Vec::new();
        matcher.push(br"a\ud83d", &mut out);
        matcher.flush(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a\u{fffd}");
    }
}
