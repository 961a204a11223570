//! State handover for NFs in Rust (`nf!(..., state = (export, import))`): the
//! blob format of the AssemblyScript SDK's `StateWriter` and `StateReader`
//! (nf-modules/sdk/state.ts) and the C SDK's netvm_state.h, so that NFs of one
//! kind and format take each other's state whatever their language. Header:
//! u32 magic "NVST", u16 kind length, the kind (UTF-8), u32 format version;
//! then the NF's records. Little-endian.
//!
//! ```ignore
//! fn export() -> u32 {
//!     let mut w = match StateWriter::new("counter", 1, 4 + 8 * n) { Some(w) => w, None => return 0 };
//!     w.u32(n); ...
//!     w.finish()
//! }
//! fn import(r: &mut StateReader) -> bool {
//!     if !r.open("counter", 1) { return false; }
//!     let n = match r.records("counts", 8) { Some(n) => n, None => return false };
//!     ...
//! }
//! ```

use crate::json::Text;
use crate::{alloc, log, LogLevel};
use core::cell::UnsafeCell;
use core::fmt::Write;

const MAGIC: u32 = 0x5453_564e; // "NVST"

/// The last export's area, reused by the next when it fits.
struct Area(UnsafeCell<(usize, usize)>);
unsafe impl Sync for Area {}
static EXPORT_AREA: Area = Area(UnsafeCell::new((0, 0)));

/// Writes a state blob of a known size: the header, then the NF's records.
pub struct StateWriter {
    area: usize,
    at: usize,
    end: usize,
    overflow: bool,
}

impl StateWriter {
    /// A blob of this kind and format with room for payload bytes after the
    /// header; None when there is no memory for it.
    pub fn new(kind: &str, version: u32, payload: usize) -> Option<StateWriter> {
        let need = 4 + 10 + kind.len() + payload; // the length word, the header
        if need > 1 << 30 {
            return None;
        }
        let area = unsafe { &mut *EXPORT_AREA.0.get() };
        if need > area.1 {
            *area = (alloc(need, 4)? as usize, need);
        }
        let mut w = StateWriter { area: area.0, at: area.0 + 4, end: area.0 + need, overflow: false };
        w.u32(MAGIC);
        w.u16(kind.len() as u16);
        w.bytes(kind.as_bytes());
        w.u32(version);
        Some(w)
    }

    pub fn bytes(&mut self, b: &[u8]) {
        if self.overflow || self.end - self.at < b.len() {
            self.overflow = true;
            return;
        }
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), self.at as *mut u8, b.len()) };
        self.at += b.len();
    }

    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// What the export returns: the blob (its length first), or 0 when a write
    /// did not fit in the payload given to new.
    pub fn finish(self) -> u32 {
        if self.overflow {
            return 0;
        }
        let len = (self.at - self.area - 4) as u32;
        unsafe { core::ptr::write_unaligned(self.area as *mut u32, len) };
        self.area as u32
    }
}

/// Reads a state blob: open() its header, then the records. A read past the
/// end gives zeros and makes ok() false; nothing is read out of bounds.
pub struct StateReader<'a> {
    data: &'a [u8],
    at: usize,
    short: bool,
}

impl<'a> StateReader<'a> {
    #[doc(hidden)]
    pub fn new(data: &'a [u8]) -> StateReader<'a> {
        StateReader { data, at: 0, short: false }
    }

    /// Copies out.len() bytes (zeros when the blob is short).
    pub fn bytes(&mut self, out: &mut [u8]) {
        if self.remaining() < out.len() {
            self.short = true;
            out.fill(0);
            return;
        }
        out.copy_from_slice(&self.data[self.at..self.at + out.len()]);
        self.at += out.len();
    }

    pub fn u8(&mut self) -> u8 {
        let mut b = [0u8; 1];
        self.bytes(&mut b);
        b[0]
    }

    pub fn u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        self.bytes(&mut b);
        u16::from_le_bytes(b)
    }

    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.bytes(&mut b);
        u32::from_le_bytes(b)
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.bytes(&mut b);
        u64::from_le_bytes(b)
    }

    /// False once a read went past the end.
    pub fn ok(&self) -> bool {
        !self.short
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.at
    }

    /// Whether the blob is state of this kind in this format; if not, logs why.
    pub fn open(&mut self, kind: &str, version: u32) -> bool {
        self.open_formats(kind, version, version).is_some()
    }

    /// The blob's format if it is state of this kind in a format from oldest to version; None (and why logged) if not.
    pub fn open_formats(&mut self, kind: &str, oldest: u32, version: u32) -> Option<u32> {
        if self.u32() != MAGIC {
            log(LogLevel::Error, "not NetVM NF state (bad magic)");
            return None;
        }
        let n = self.u16() as usize;
        if !self.ok() || self.remaining() < n + 4 {
            log(LogLevel::Error, "state header cut short");
            return None;
        }
        let theirs = &self.data[self.at..self.at + n];
        self.at += n;
        let their_version = self.u32();
        let mut line = Text::<256>::new();
        if theirs != kind.as_bytes() {
            let name = core::str::from_utf8(theirs).unwrap_or("?");
            let _ = write!(line, "state of a '{}' NF, not '{}'", name, kind);
        } else if their_version < oldest || their_version > version {
            let _ = write!(line, "'{}' state format {}; this module reads format", kind, their_version);
            let _ = if oldest == version { write!(line, " {}", version) } else { write!(line, "s {} to {}", oldest, version) };
        } else {
            return Some(their_version);
        }
        log(LogLevel::Error, line.as_str());
        None
    }

    /// A u32 count of records of record_bytes each, which must fill the rest of
    /// the blob; None (and the reason logged) when they do not.
    pub fn records(&mut self, what: &str, record_bytes: usize) -> Option<u32> {
        self.count(what, record_bytes, true)
    }

    /// A u32 count of records of record_bytes each that the rest of the blob has
    /// room for (a section that more follow); None (and the reason logged) when not.
    pub fn section(&mut self, what: &str, record_bytes: usize) -> Option<u32> {
        self.count(what, record_bytes, false)
    }

    fn count(&mut self, what: &str, record_bytes: usize, exact: bool) -> Option<u32> {
        let n = self.u32();
        let need = n as usize * record_bytes;
        let rest = self.remaining();
        if self.ok() && (if exact { rest == need } else { rest >= need }) {
            return Some(n);
        }
        let mut line = Text::<256>::new();
        let _ = write!(line, "state of {} {} should be {} bytes, not {}", n, what, need, rest);
        log(LogLevel::Error, line.as_str());
        None
    }
}
