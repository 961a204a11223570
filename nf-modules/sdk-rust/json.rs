//! Reading an NF's config: a JSON reader and checked field readers with the
//! rules and messages of the AssemblyScript SDK's `parseJson` and
//! `ConfigReader` (nf-modules/sdk/json.ts) and the C SDK's netvm_json.h, so
//! that an NF in Rust refuses what the others refuse, naming the same field
//! ("rules[2].dport: must be ..."). No allocation of its own: the SDK gives
//! the token array (`netvm::alloc`) when the host configures the NF.
//!
//! ```ignore
//! fn configure(c: &mut Config) -> Result<(), Refused> {
//!     c.only_keys(ROOT, "", &["rate", "mode"])?;
//!     let rate = c.number(ROOT, "", "rate", true, 1.0, 1e12)?.unwrap();
//!     let mode = c.choice(ROOT, "", "mode", false, &["drop", "mark"])?.unwrap_or(0);
//!     Ok(())
//! }
//! ```
//!
//! A value is the index of its token; the root is `ROOT`. An object member
//! given twice: the last one counts (as JSON.parse). A member that is JSON
//! null counts as absent.

use core::fmt::Write;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Null,
    False,
    True,
    Number,
    String,
    Array,
    Object,
}

/// One value (or an object's key, a string).
#[derive(Clone, Copy)]
pub struct Token {
    kind: Kind,
    start: u32, // its text; a string's without the quotes
    end: u32,
    count: u32, // an array's items, an object's members
    next: u32,  // the token after it and everything inside it
}

pub type Value = u32;
pub const ROOT: Value = 0;
const MAX_DEPTH: u32 = 64;

/// A fixed buffer of text (errors, paths): what does not fit is cut.
pub struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    pub const fn new() -> Self {
        Text { bytes: [0; N], len: 0 }
    }

    pub fn as_str(&self) -> &str {
        // Only whole UTF-8 sequences are written (write_str cuts at a char boundary).
        unsafe { core::str::from_utf8_unchecked(&self.bytes[..self.len]) }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl<const N: usize> Write for Text<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut n = s.len().min(N - self.len);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The path of member key of the object at path: "key" or "path.key".
pub fn key_path(path: &str, key: &str) -> Text<128> {
    let mut t = Text::new();
    let _ = if path.is_empty() { write!(t, "{}", key) } else { write!(t, "{}.{}", path, key) };
    t
}

/// The path of item i of the array at path: "path[i]".
pub fn item_path(path: &str, i: u32) -> Text<128> {
    let mut t = Text::new();
    let _ = write!(t, "{}[{}]", path, i);
    t
}

/// A config was refused: the reason is the config's `error()`.
#[derive(Debug)]
pub struct Refused;

/// The config text, its tokens and the first error.
pub struct Config<'a> {
    text: &'a [u8],
    tokens: &'a mut [Token],
    n_tokens: u32,
    pos: usize,
    error: Text<256>,
    failed: bool,
}

const NO_TOKEN: Token = Token { kind: Kind::Null, start: 0, end: 0, count: 0, next: 0 };

impl<'a> Config<'a> {
    /// How many tokens text needs; Err with the reason when it is not JSON.
    pub fn count_tokens(text: &[u8]) -> Result<u32, Text<256>> {
        let mut none: [Token; 0] = [];
        let mut c = Config { text, tokens: &mut none, n_tokens: 0, pos: 0, error: Text::new(), failed: false };
        match c.parse() {
            Ok(()) => Ok(c.n_tokens),
            Err(Refused) => Err(c.error),
        }
    }

    /// Parses text into tokens (as many as count_tokens said).
    pub fn parse_into(text: &'a [u8], tokens: &'a mut [Token]) -> Result<Config<'a>, Text<256>> {
        tokens.fill(NO_TOKEN);
        let mut c = Config { text, tokens, n_tokens: 0, pos: 0, error: Text::new(), failed: false };
        match c.parse() {
            Ok(()) if c.n_tokens as usize <= c.tokens.len() => Ok(c),
            Ok(()) => {
                let _ = c.fail("", "more JSON values than the tokens given");
                Err(c.error)
            }
            Err(Refused) => Err(c.error),
        }
    }

    /// The first error: "path: reason".
    pub fn error(&self) -> &str {
        self.error.as_str()
    }

    /// Records "where: reason" unless an error was recorded before.
    pub fn fail(&mut self, at: &str, reason: &str) -> Refused {
        if !self.failed {
            self.failed = true;
            let _ = write!(self.error, "{}: {}", if at.is_empty() { "(root)" } else { at }, reason);
        }
        Refused
    }

    fn bad(&mut self, path: &str, key: &str, reason: &str) -> Refused {
        let at = key_path(path, key);
        self.fail(at.as_str(), reason)
    }

    // ---- parsing ---------------------------------------------------------------

    fn syntax(&mut self, at: usize, what: &str) -> Refused {
        // As the SDK's ConfigReader says it: no path.
        if !self.failed {
            self.failed = true;
            let _ = write!(self.error, "invalid JSON at {}: {}", at, what);
        }
        Refused
    }

    /// "what 'x'" (quoted) or "what x" for a printable character, else "what U+00XX" (as the SDK's describe).
    fn syntax_char(&mut self, at: usize, what: &str, c: u8, quoted: bool) -> Refused {
        let mut text = Text::<64>::new();
        let _ = match (c > 0x20 && c < 0x7f, quoted) {
            (true, true) => write!(text, "{}'{}'", what, c as char),
            (true, false) => write!(text, "{}{}", what, c as char),
            _ => write!(text, "{}U+{:04X}", what, c),
        };
        self.syntax(at, text.as_str())
    }

    fn parse(&mut self) -> Result<(), Refused> {
        self.value(0)?;
        self.space();
        if self.pos < self.text.len() {
            return Err(self.syntax(self.pos, "trailing characters"));
        }
        Ok(())
    }

    fn space(&mut self) {
        while self.pos < self.text.len() && matches!(self.text[self.pos], b' ' | b'\n' | b'\r' | b'\t') {
            self.pos += 1;
        }
    }

    fn at(&self, i: usize) -> u8 {
        if i < self.text.len() { self.text[i] } else { 0 }
    }

    fn token(&mut self, kind: Kind, start: usize) -> u32 {
        let t = self.n_tokens;
        self.n_tokens += 1;
        if let Some(slot) = self.tokens.get_mut(t as usize) {
            *slot = Token { kind, start: start as u32, end: start as u32, count: 0, next: 0 };
        }
        t
    }

    fn close(&mut self, t: u32, end: usize, count: u32) {
        let next = self.n_tokens;
        if let Some(slot) = self.tokens.get_mut(t as usize) {
            slot.end = end as u32;
            slot.count = count;
            slot.next = next;
        }
    }

    fn value(&mut self, depth: u32) -> Result<(), Refused> {
        self.space();
        if self.pos >= self.text.len() {
            return Err(self.syntax(self.text.len(), "unexpected end of input"));
        }
        match self.text[self.pos] {
            b'{' | b'[' => self.container(depth),
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => self.number_token(),
            b't' => self.literal("true", Kind::True),
            b'f' => self.literal("false", Kind::False),
            b'n' => self.literal("null", Kind::Null),
            c => Err(self.syntax_char(self.pos, "unexpected character ", c, true)),
        }
    }

    fn literal(&mut self, word: &str, kind: Kind) -> Result<(), Refused> {
        if !self.text[self.pos..].starts_with(word.as_bytes()) {
            return Err(self.syntax(self.pos, "invalid literal (expected true, false or null)"));
        }
        let t = self.token(kind, self.pos);
        self.pos += word.len();
        self.close(t, self.pos, 0);
        Ok(())
    }

    fn string_token(&mut self) -> Result<(), Refused> {
        let quote = self.pos;
        self.pos += 1;
        let t = self.token(Kind::String, self.pos);
        while self.pos < self.text.len() {
            match self.text[self.pos] {
                b'"' => {
                    self.close(t, self.pos, 0);
                    self.pos += 1;
                    return Ok(());
                }
                c if c < 0x20 => return Err(self.syntax(self.pos, "control character in string (write it as an escape)")),
                b'\\' => {
                    match self.at(self.pos + 1) {
                        b'u' => {
                            for k in 2..6 {
                                if self.pos + k >= self.text.len() {
                                    return Err(self.syntax(quote, "unterminated string"));
                                }
                                if hex_digit(self.text[self.pos + k]).is_none() {
                                    return Err(self.syntax(self.pos, "invalid \\u escape (needs 4 hex digits)"));
                                }
                            }
                            self.pos += 6;
                        }
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 2,
                        0 if self.pos + 1 >= self.text.len() => break,
                        e => return Err(self.syntax_char(self.pos, "invalid escape \\", e, false)),
                    }
                }
                _ => self.pos += 1,
            }
        }
        Err(self.syntax(quote, "unterminated string"))
    }

    fn digits(&mut self, what: &str) -> Result<(), Refused> {
        if !self.at(self.pos).is_ascii_digit() {
            return Err(self.syntax(self.pos, what));
        }
        while self.at(self.pos).is_ascii_digit() {
            self.pos += 1;
        }
        Ok(())
    }

    fn number_token(&mut self) -> Result<(), Refused> {
        let start = self.pos;
        let t = self.token(Kind::Number, start);
        if self.at(self.pos) == b'-' {
            self.pos += 1;
        }
        if self.at(self.pos) == b'0' {
            self.pos += 1;
            if self.at(self.pos).is_ascii_digit() {
                return Err(self.syntax(start, "leading zero in number"));
            }
        } else {
            self.digits("expected a digit after '-'")?;
        }
        if self.at(self.pos) == b'.' {
            self.pos += 1;
            self.digits("expected a digit after '.'")?;
        }
        if self.at(self.pos) | 32 == b'e' {
            self.pos += 1;
            if matches!(self.at(self.pos), b'+' | b'-') {
                self.pos += 1;
            }
            self.digits("expected a digit in exponent")?;
        }
        self.close(t, self.pos, 0);
        Ok(())
    }

    fn container(&mut self, depth: u32) -> Result<(), Refused> {
        let object = self.text[self.pos] == b'{';
        let close = if object { b'}' } else { b']' };
        if depth >= MAX_DEPTH {
            return Err(self.syntax(self.pos, "nesting deeper than 64 levels"));
        }
        let t = self.token(if object { Kind::Object } else { Kind::Array }, self.pos);
        self.pos += 1;
        self.space();
        if self.at(self.pos) == close {
            self.pos += 1;
            self.close(t, self.pos, 0);
            return Ok(());
        }
        let mut count = 0;
        loop {
            self.space();
            if self.pos >= self.text.len() {
                return Err(self.syntax(self.text.len(), "unexpected end of input"));
            }
            if object {
                if self.text[self.pos] != b'"' {
                    return Err(self.syntax(self.pos, "expected a string as object key"));
                }
                self.string_token()?;
                self.space();
                if self.pos >= self.text.len() {
                    return Err(self.syntax(self.text.len(), "unexpected end of input"));
                }
                if self.text[self.pos] != b':' {
                    return Err(self.syntax(self.pos, "expected ':' after object key"));
                }
                self.pos += 1;
            }
            self.value(depth + 1)?;
            count += 1;
            self.space();
            if self.pos >= self.text.len() {
                return Err(self.syntax(self.text.len(), "unexpected end of input"));
            }
            if self.text[self.pos] == close {
                self.pos += 1;
                self.close(t, self.pos, count);
                return Ok(());
            }
            if self.text[self.pos] != b',' {
                let what = if object { "expected ',' or '}' after object member" } else { "expected ',' or ']' after array item" };
                return Err(self.syntax(self.pos, what));
            }
            let comma = self.pos;
            self.pos += 1;
            self.space();
            if self.at(self.pos) == close {
                return Err(self.syntax(comma, "trailing comma"));
            }
        }
    }

    // ---- values ----------------------------------------------------------------

    pub fn kind(&self, v: Value) -> Kind {
        self.tokens[v as usize].kind
    }

    /// Items of an array, members of an object.
    pub fn count(&self, v: Value) -> u32 {
        self.tokens[v as usize].count
    }

    /// Item i of an array (i < its count).
    pub fn item(&self, array: Value, i: u32) -> Value {
        let mut v = array + 1;
        for _ in 0..i {
            v = self.tokens[v as usize].next;
        }
        v
    }

    /// The characters of string v, escapes decoded, to f (UTF-8 bytes).
    fn each_byte(&self, v: Value, mut f: impl FnMut(u8) -> bool) -> bool {
        let t = self.tokens[v as usize];
        let (mut p, end) = (t.start as usize, t.end as usize);
        let mut out = [0u8; 4];
        while p < end {
            let n = decode_char(self.text, &mut p, end, &mut out);
            if !out[..n].iter().all(|&b| f(b)) {
                return false;
            }
        }
        true
    }

    /// Whether string v is s.
    pub fn equals(&self, v: Value, s: &str) -> bool {
        let s = s.as_bytes();
        let mut k = 0;
        self.each_byte(v, |b| {
            let same = k < s.len() && s[k] == b;
            k += 1;
            same
        }) && k == s.len()
    }

    /// String v, decoded, in buf; None when it does not fit.
    pub fn string<'b>(&self, v: Value, buf: &'b mut [u8]) -> Option<&'b str> {
        let mut k = 0;
        let fits = self.each_byte(v, |b| {
            if k == buf.len() {
                return false;
            }
            buf[k] = b;
            k += 1;
            true
        });
        // The text was UTF-8 when the host wrote it, and escapes decode to UTF-8.
        if fits { core::str::from_utf8(&buf[..k]).ok() } else { None }
    }

    /// Number v: exact for integers to 2^53 and for decimals with up to 15
    /// significant digits and exponents within 22; within an ulp or so beyond.
    pub fn number_value(&self, v: Value) -> f64 {
        const POW10: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
            1e21, 1e22,
        ];
        let t = self.tokens[v as usize];
        let s = &self.text[t.start as usize..t.end as usize];
        let negative = s[0] == b'-';
        let (mut mantissa, mut exp10, mut fraction, mut p) = (0u64, 0i32, false, negative as usize);
        while p < s.len() {
            match s[p] {
                b'.' => fraction = true,
                d @ b'0'..=b'9' => {
                    if mantissa < 1_000_000_000_000_000_000 {
                        mantissa = mantissa * 10 + u64::from(d - b'0');
                        exp10 -= fraction as i32;
                    } else {
                        exp10 += !fraction as i32;
                    }
                }
                _ => break,
            }
            p += 1;
        }
        if p < s.len() {
            p += 1; // 'e' or 'E'
            let minus = s[p] == b'-';
            if matches!(s[p], b'+' | b'-') {
                p += 1;
            }
            let mut e = 0i32;
            for &d in &s[p..] {
                if e < 100_000 {
                    e = e * 10 + i32::from(d - b'0');
                }
            }
            exp10 += if minus { -e } else { e };
        }
        let mut x = mantissa as f64;
        while exp10 > 22 {
            x *= 1e22;
            exp10 -= 22;
        }
        while exp10 < -22 {
            x /= 1e22;
            exp10 += 22;
        }
        x = if exp10 >= 0 { x * POW10[exp10 as usize] } else { x / POW10[(-exp10) as usize] };
        if negative { -x } else { x }
    }

    /// Member key of object obj (the last one of that name).
    pub fn get(&self, obj: Value, key: &str) -> Option<Value> {
        let mut found = None;
        let mut k = obj + 1;
        for _ in 0..self.count(obj) {
            if self.equals(k, key) {
                found = Some(k + 1);
            }
            k = self.tokens[(k + 1) as usize].next;
        }
        found
    }

    /// Member key of obj; None when absent or null.
    pub fn field(&self, obj: Value, key: &str) -> Option<Value> {
        self.get(obj, key).filter(|&v| self.kind(v) != Kind::Null)
    }

    // ---- checked fields (the SDK's ConfigReader) -----------------------------
    // Each reads member key of the object obj at path: Ok(None) when absent
    // (or null) and not required; Err (the reason recorded: "path.key: ...")
    // when it is missing but required, or of the wrong kind or range.

    /// v (a value, or None) must be an object.
    pub fn object(&mut self, v: Option<Value>, path: &str) -> Result<Value, Refused> {
        match v {
            Some(v) if self.kind(v) == Kind::Object => Ok(v),
            Some(v) if self.kind(v) != Kind::Null => Err(self.fail(path, "must be an object")),
            _ => Err(self.fail(path, "required")),
        }
    }

    fn member(&mut self, obj: Value, path: &str, key: &str, required: bool) -> Result<Option<Value>, Refused> {
        match self.field(obj, key) {
            None if required => Err(self.bad(path, key, "required")),
            v => Ok(v),
        }
    }

    /// Every key of obj is one of keys: else "path.key: unknown key (allowed: ...)".
    pub fn only_keys(&mut self, obj: Value, path: &str, keys: &[&str]) -> Result<(), Refused> {
        let mut k = obj + 1;
        for _ in 0..self.count(obj) {
            if !keys.iter().any(|allowed| self.equals(k, allowed)) {
                let mut reason = Text::<192>::new();
                let _ = reason.write_str("unknown key (allowed: ");
                for (i, allowed) in keys.iter().enumerate() {
                    let _ = write!(reason, "{}{}", if i == 0 { "" } else { ", " }, allowed);
                }
                let _ = reason.write_str(")");
                let mut name = [0u8; 64];
                let name = self.string(k, &mut name).unwrap_or("(a long key)");
                let at = key_path(path, name);
                return Err(self.fail(at.as_str(), reason.as_str()));
            }
            k = self.tokens[(k + 1) as usize].next;
        }
        Ok(())
    }

    /// A string (decoded) in buf.
    pub fn string_in<'b>(&mut self, obj: Value, path: &str, key: &str, required: bool, buf: &'b mut [u8]) -> Result<Option<&'b str>, Refused> {
        let v = match self.member(obj, path, key, required)? {
            Some(v) => v,
            None => return Ok(None),
        };
        if self.kind(v) != Kind::String {
            return Err(self.bad(path, key, "must be a string"));
        }
        let cap = buf.len();
        match self.string(v, buf) {
            Some(s) => Ok(Some(s)),
            None => {
                let mut reason = Text::<64>::new();
                let _ = write!(reason, "longer than {} bytes", cap);
                Err(self.bad(path, key, reason.as_str()))
            }
        }
    }

    fn numeric(&mut self, obj: Value, path: &str, key: &str, required: bool, lo: f64, hi: f64, whole: bool) -> Result<Option<f64>, Refused> {
        let v = match self.member(obj, path, key, required)? {
            Some(v) => v,
            None => return Ok(None),
        };
        let x = if self.kind(v) == Kind::Number { self.number_value(v) } else { f64::NAN };
        if x >= lo && x <= hi && (!whole || x == (x as i64) as f64) {
            return Ok(Some(x));
        }
        let mut reason = Text::<96>::new();
        let _ = write!(reason, "{} from {} to {}", if whole { "must be an integer" } else { "must be a number" }, Bound(lo), Bound(hi));
        Err(self.bad(path, key, reason.as_str()))
    }

    /// A number in [lo, hi].
    pub fn number(&mut self, obj: Value, path: &str, key: &str, required: bool, lo: f64, hi: f64) -> Result<Option<f64>, Refused> {
        self.numeric(obj, path, key, required, lo, hi, false)
    }

    /// A whole number in [lo, hi].
    pub fn integer(&mut self, obj: Value, path: &str, key: &str, required: bool, lo: i64, hi: i64) -> Result<Option<i64>, Refused> {
        Ok(self.numeric(obj, path, key, required, lo as f64, hi as f64, true)?.map(|x| x as i64))
    }

    pub fn boolean(&mut self, obj: Value, path: &str, key: &str, required: bool) -> Result<Option<bool>, Refused> {
        let v = match self.member(obj, path, key, required)? {
            Some(v) => v,
            None => return Ok(None),
        };
        match self.kind(v) {
            Kind::True => Ok(Some(true)),
            Kind::False => Ok(Some(false)),
            _ => Err(self.bad(path, key, "must be true or false")),
        }
    }

    /// The index in choices of a string member.
    pub fn choice(&mut self, obj: Value, path: &str, key: &str, required: bool, choices: &[&str]) -> Result<Option<usize>, Refused> {
        let v = match self.member(obj, path, key, required)? {
            Some(v) => v,
            None => return Ok(None),
        };
        if self.kind(v) == Kind::String {
            if let Some(i) = choices.iter().position(|c| self.equals(v, c)) {
                return Ok(Some(i));
            }
        }
        let mut reason = Text::<128>::new();
        let _ = reason.write_str("must be one of: ");
        for (i, c) in choices.iter().enumerate() {
            let _ = write!(reason, "{}{}", if i == 0 { "" } else { ", " }, c);
        }
        Err(self.bad(path, key, reason.as_str()))
    }

    /// An array member.
    pub fn array(&mut self, obj: Value, path: &str, key: &str, required: bool) -> Result<Option<Value>, Refused> {
        let v = match self.member(obj, path, key, required)? {
            Some(v) => v,
            None => return Ok(None),
        };
        if self.kind(v) != Kind::Array {
            return Err(self.bad(path, key, "must be an array"));
        }
        Ok(Some(v))
    }
}

/// A range's end as the SDK writes it: whole numbers as such, others as Rust prints them.
struct Bound(f64);

impl core::fmt::Display for Bound {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        if self.0 == (self.0 as i64) as f64 && self.0 > -1e18 && self.0 < 1e18 { write!(f, "{}", self.0 as i64) } else { write!(f, "{}", self.0) }
    }
}

pub(crate) fn hex_digit(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// One character of a string's text at *p (an escape decoded) as UTF-8 into out; its byte count.
fn decode_char(text: &[u8], p: &mut usize, end: usize, out: &mut [u8; 4]) -> usize {
    let c = text[*p];
    if c != b'\\' {
        out[0] = c;
        *p += 1;
        return 1;
    }
    let e = text[*p + 1];
    if e != b'u' {
        *p += 2;
        out[0] = match e {
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            other => other,
        };
        return 1;
    }
    let unit = |at: usize| (2..6).fold(0u32, |v, k| v << 4 | hex_digit(text[at + k]).unwrap_or(0));
    let mut cp = unit(*p);
    *p += 6;
    if (0xd800..0xdc00).contains(&cp) && *p + 6 <= end && text[*p] == b'\\' && text[*p + 1] == b'u' {
        let lo = unit(*p);
        if (0xdc00..0xe000).contains(&lo) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            *p += 6;
        }
    }
    // A lone surrogate: UTF-8 has none (as String.UTF8.encode).
    char::from_u32(cp).unwrap_or('\u{fffd}').encode_utf8(out).len()
}
