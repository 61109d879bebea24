//! Candidate finding for the numeric detectors: digit chains.
//!
//! A *group* is a maximal run of ASCII digits. A *chain* is a run of groups
//! joined by one separator each: a space, `-`, `.`, `/`, or the parentheses
//! of an area code (`(415) 555`, `+1 (415)`). Anything else between two
//! groups (a letter, a comma, two spaces, `:`) ends the chain. Each group
//! records what joins it to the group before it ([`Sep`]); the first group
//! records what precedes the chain. A detector then looks at *windows* of
//! consecutive groups (`4111 1111 1111 1111` inside `ref 12 4111 1111 1111
//! 1111`), and rejects a window that is only a fragment of a longer token:
//! one joined to a neighbour by `-`, `.` or `/` (`SKU-4411-2938-1182`,
//! `1234567890123456.78`, `12:30`), or touching a letter (`a1b2…` hashes,
//! `…28T00`).
//!
//! The scan is one pass over the bytes with a fixed-size buffer on the stack:
//! nothing is allocated.

/// Groups kept per chain; a longer chain is handed over in overlapping parts.
const MAX_GROUPS: usize = 16;
/// Groups carried over into the next part of an overflowing chain: more than
/// the longest window any detector looks at (a card in six groups).
const CARRIED_OVER: usize = 7;

/// What joins a group to the group before it or, for the first group of a
/// chain, what precedes it (and, in [`Chain::after`], what follows the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sep {
    /// A clean boundary: the text's edge, whitespace, punctuation.
    Start,
    /// `+` right before the chain (an international phone number).
    Plus,
    /// `(` or ` (` before the group (an area code in parentheses).
    Open,
    /// `)`, `) ` or `)-` after the previous group.
    Close,
    /// One space.
    Space,
    /// One `-`.
    Dash,
    /// One `.`.
    Dot,
    /// One `/`.
    Slash,
    /// The chain continues a longer token: `-`, `.`, `/` or `:` between the
    /// group and a letter or digit outside the chain (`SKU-4411`, `12:30`).
    Joined,
}

impl Sep {
    /// Whether a window bounded here would be a fragment of a longer token.
    pub(super) fn joins(self) -> bool {
        matches!(self, Sep::Dash | Sep::Dot | Sep::Slash | Sep::Joined)
    }
}

/// One run of digits, as byte offsets into the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    /// Offset of the first digit.
    pub start: usize,
    /// Offset just past the last digit.
    pub end: usize,
    /// What joins this group to the one before (or precedes the chain).
    pub before: Sep,
    /// Touches a letter or `_` (part of a word such as `a716` or `28T`).
    pub tainted: bool,
}

impl Group {
    const EMPTY: Group = Group {
        start: 0,
        end: 0,
        before: Sep::Start,
        tainted: false,
    };

    /// Number of digits.
    pub fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Up to this many digits of a window are copied out for validation (the
/// longest thing validated is a 19-digit card number).
pub(super) const MAX_WINDOW_DIGITS: usize = 19;

/// A chain of digit groups (or one part of a very long chain).
#[derive(Debug)]
pub(super) struct Chain<'a> {
    text: &'a [u8],
    groups: [Group; MAX_GROUPS],
    count: usize,
    /// What follows the last group.
    after: Sep,
    /// Whether the first group is the chain's real first group (false for the
    /// later parts of an overflowing chain).
    whole_start: bool,
}

impl<'a> Chain<'a> {
    /// The groups, in text order.
    pub fn groups(&self) -> &[Group] {
        &self.groups[..self.count]
    }

    /// What follows group `k`: the next group's separator, or what follows
    /// the chain.
    pub fn after(&self, k: usize) -> Sep {
        if k + 1 < self.count {
            self.groups[k + 1].before
        } else {
            self.after
        }
    }

    /// Whether `groups()[0]` is the chain's real first group and the last
    /// group its real last one.
    pub fn is_whole(&self) -> bool {
        // A part cut off by an overflow ends in a separator to the next group.
        self.whole_start && matches!(self.after, Sep::Start | Sep::Joined)
    }

    /// Whether the window of groups `i..=k` stands on its own: not joined to
    /// a neighbour into a longer token and touching no letter.
    pub fn clean_window(&self, i: usize, k: usize) -> bool {
        !self.groups[i].before.joins()
            && !self.after(k).joins()
            && !self.groups[i..=k].iter().any(|g| g.tainted)
    }

    /// The digit values (0–9) of groups `i..=k` in `buf`, or `None` if there
    /// are more than [`MAX_WINDOW_DIGITS`].
    pub fn digits<'b>(
        &self,
        i: usize,
        k: usize,
        buf: &'b mut [u8; MAX_WINDOW_DIGITS],
    ) -> Option<&'b [u8]> {
        let mut n = 0;
        for group in &self.groups[i..=k] {
            let run = &self.text[group.start..group.end];
            let slot = buf.get_mut(n..n + run.len())?;
            for (out, digit) in slot.iter_mut().zip(run) {
                *out = digit - b'0';
            }
            n += run.len();
        }
        Some(&buf[..n])
    }

    /// The digits of the lone group of a JSON number, left-padded with zeros
    /// to `width`, if it has `width - 2 ..= width` digits: a number drops the
    /// leading zeros of an SSN or routing number kept in an integer column
    /// (`078051120` arrives as `78051120`).
    pub fn zero_padded<'b>(
        &self,
        width: usize,
        buf: &'b mut [u8; MAX_WINDOW_DIGITS],
    ) -> Option<&'b [u8]> {
        let group = self.groups().first().filter(|_| self.count == 1)?;
        let pad = width.checked_sub(group.len()).filter(|pad| *pad <= 2)?;
        let slot = buf.get_mut(..width)?;
        slot[..pad].fill(0);
        for (out, digit) in slot[pad..]
            .iter_mut()
            .zip(&self.text[group.start..group.end])
        {
            *out = digit - b'0';
        }
        self.clean_window(0, 0).then_some(&buf[..width])
    }
}

/// Number of ASCII digits in `text`.
pub(super) fn count_digits(text: &[u8]) -> usize {
    // Byte-wide sums over 16-byte blocks vectorise well, even for the short
    // values that dominate.
    let mut blocks = text.chunks_exact(16);
    let mut total: usize = (&mut blocks)
        .map(|block| {
            let digits: u8 = block.iter().map(|b| u8::from(b.is_ascii_digit())).sum();
            usize::from(digits)
        })
        .sum();
    total += blocks
        .remainder()
        .iter()
        .filter(|b| b.is_ascii_digit())
        .count();
    total
}

/// A letter or `_`: a digit group touching one is part of a word.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Calls `visit` with each digit chain of `text`, left to right, until it
/// returns `false`.
pub(super) fn chains(text: &[u8], mut visit: impl FnMut(&Chain<'_>) -> bool) {
    let mut chain = Chain {
        text,
        groups: [Group::EMPTY; MAX_GROUPS],
        count: 0,
        after: Sep::Start,
        whole_start: true,
    };
    let mut i = 0;
    while let Some(offset) = text[i..].iter().position(u8::is_ascii_digit) {
        i += offset;
        chain.count = 0;
        chain.whole_start = true;
        let mut before = lead(text, i);
        loop {
            let start = i;
            while text.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let tainted = (start > 0 && is_word(text[start - 1]))
                || text.get(i).copied().is_some_and(is_word);
            if chain.count == MAX_GROUPS {
                chain.after = before;
                if !visit(&chain) {
                    return;
                }
                chain.groups.copy_within(MAX_GROUPS - CARRIED_OVER.., 0);
                chain.count = CARRIED_OVER;
                chain.whole_start = false;
            }
            chain.groups[chain.count] = Group {
                start,
                end: i,
                before,
                tainted,
            };
            chain.count += 1;
            match separator(text, i) {
                Some((sep, width)) => {
                    before = sep;
                    i += width;
                }
                None => {
                    chain.after = tail(text, i);
                    if !visit(&chain) {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// What precedes a chain whose first digit is at `i`.
fn lead(text: &[u8], i: usize) -> Sep {
    match i.checked_sub(1).map(|p| text[p]) {
        Some(b'+') => Sep::Plus,
        Some(b'(') => Sep::Open,
        Some(b'-' | b'.' | b'/' | b':')
            if i >= 2 && (text[i - 2].is_ascii_alphanumeric() || text[i - 2] == b'_') =>
        {
            Sep::Joined
        }
        _ => Sep::Start,
    }
}

/// What follows a chain whose last digit is just before `i`.
fn tail(text: &[u8], i: usize) -> Sep {
    match text.get(i) {
        Some(b'-' | b'.' | b'/' | b':')
            if text
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
        {
            Sep::Joined
        }
        _ => Sep::Start,
    }
}

/// The separator after a group ending at `i`, and its width, if another
/// group of the same chain follows it.
fn separator(text: &[u8], i: usize) -> Option<(Sep, usize)> {
    let at = |k: usize| text.get(i + k).copied();
    let digit = |k: usize| at(k).is_some_and(|b| b.is_ascii_digit());
    let one = match at(0)? {
        b' ' => Sep::Space,
        b'-' => Sep::Dash,
        b'.' => Sep::Dot,
        b'/' => Sep::Slash,
        b'(' => Sep::Open,
        b')' => Sep::Close,
        _ => return None,
    };
    if digit(1) {
        return Some((one, 1));
    }
    match (one, at(1)?) {
        (Sep::Space, b'(') if digit(2) => Some((Sep::Open, 2)),
        (Sep::Close, b' ' | b'-') if digit(2) => Some((Sep::Close, 2)),
        _ => None,
    }
}
