//! The Rust SDK for NetVM NFs: an NF written in Rust, built to WebAssembly by
//! rustc (`netvm nf build <name>` for `nf-modules/<name>/nf.rs`), speaking the
//! host ABI version 2 (docs/abi.md) as the AssemblyScript and C SDKs' NFs do.
//! `no_std`, no allocator: an NF keeps its state in statics.
//!
//! An NF defines two functions and names them with `netvm::nf!`:
//!
//! ```ignore
//! #![no_std]
//! use netvm::*;
//! static EXPIRED: Metric = Metric::new();
//! fn init() { EXPIRED.define_counter("ttl_expired"); }
//! fn process(burst: &mut Burst) { for i in 0..burst.len() { /* burst.packet(i), burst.set_verdict(i, DROP) */ } }
//! netvm::nf!(init, process);
//! ```
//!
//! `init` runs once, before anything else (define the metrics there); `process`
//! decides each packet of a burst. A panic traps: the host drops that burst,
//! counts it and goes on. More of the ABI, each optional, after those two:
//!
//! ```ignore
//! netvm::nf!(init, process,
//!     configure = configure,       // fn(&mut Config) -> Result<(), Refused>: its config (json.rs)
//!     tick = tick,                 // fn(now_ns: u64): about every 10 ms between bursts
//!     state = (export, import),    // fn() -> u32 and fn(&mut StateReader) -> bool (state.rs)
//!     reads_meta = false);         // it reads no meta: the chain need not parse for it
//! ```
//!
//! Memory beyond the statics comes from `alloc`, at configure time: it grows
//! the module's memory and never frees.
#![no_std]

pub mod json;
pub mod state;

pub use json::{item_path, key_path, Config, Kind, Refused, Text, Value, ROOT};
pub use state::{StateReader, StateWriter};

use core::cell::UnsafeCell;
use core::fmt::Write;

pub const ABI_VERSION: i32 = 2;
pub const MAX_BURST: usize = 256;
pub const MAX_METRICS: usize = 64;

/// Verdicts: NEXT to the next NF (after the last, to the chain's output port),
/// DROP, `OUT_PORT | p` out of port p at once, `TO_NF | k` on to the NF at chain
/// position k (after this one).
pub const NEXT: u32 = 0;
pub const DROP: u32 = 1;
pub const OUT_PORT: u32 = 0x10000;
pub const TO_NF: u32 = 0x20000;
/// Or'ed into a verdict: the headers' layout changed at the same length.
pub const REPARSE: u32 = 0x8000_0000;

/// What the chain's parse found in a packet (offsets from its first byte; docs/abi.md).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Meta {
    pub l3: u16,
    pub l4: u16,
    pub ether_type: u16,
    pub ip_version: u8,
    pub l4_proto: u8,
    pub ip_len: u16,
    pub ip_header_len: u16,
    pub vlans: u8,
    pub flags: u8,
    pub reserved: u16,
}

/// A batch record: 32 little-endian bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Record {
    pub pool_off: u32,
    pub len: u32,
    pub in_port: u16,
    pub room: u16,
    pub verdict: u32,
    pub meta: Meta,
}

const _: () = assert!(core::mem::size_of::<Record>() == 32);

/// The module's memory the host reads and writes: the batch area, the metric
/// slots, its clock word and the pool window's base. One instance runs one
/// burst at a time on one thread: plain cells.
#[doc(hidden)]
#[repr(C, align(64))]
pub struct Shared {
    pub records: UnsafeCell<[Record; MAX_BURST]>,
    pub metrics: UnsafeCell<[u64; MAX_METRICS]>,
    pub clock: UnsafeCell<u64>,
    pub window_base: UnsafeCell<u32>,
    pub initialized: UnsafeCell<bool>,
}

unsafe impl Sync for Shared {}

const NO_META: Meta = Meta { l3: 0, l4: 0, ether_type: 0, ip_version: 0, l4_proto: 0, ip_len: 0, ip_header_len: 0, vlans: 0, flags: 0, reserved: 0 };
const NO_RECORD: Record = Record { pool_off: 0, len: 0, in_port: 0, room: 0, verdict: 0, meta: NO_META };

#[doc(hidden)]
pub static SHARED: Shared = Shared {
    records: UnsafeCell::new([NO_RECORD; MAX_BURST]),
    metrics: UnsafeCell::new([0; MAX_METRICS]),
    clock: UnsafeCell::new(0),
    window_base: UnsafeCell::new(0),
    initialized: UnsafeCell::new(false),
};

mod host {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub fn netvm_log(level: i32, text: *const u8, len: i32);
        pub fn netvm_metric_define(kind: i32, name: *const u8, len: i32) -> i32;
        pub fn netvm_now_ns() -> i64;
    }
}

pub enum LogLevel {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// A line in the run's log (at most 20 a second per instance are printed).
pub fn log(level: LogLevel, text: &str) {
    unsafe { host::netvm_log(level as i32, text.as_ptr(), text.len() as i32) }
}

/// A metric: defined once in `init`, then added to (a counter) or set (a gauge)
/// with plain stores, which the worker reads between bursts.
pub struct Metric(UnsafeCell<u32>);

unsafe impl Sync for Metric {}

impl Metric {
    pub const fn new() -> Metric {
        Metric(UnsafeCell::new(u32::MAX))
    }

    fn define(&self, kind: i32, name: &str) {
        let slot = unsafe { host::netvm_metric_define(kind, name.as_ptr(), name.len() as i32) };
        if slot < 0 {
            panic!("the host refused a metric");
        }
        unsafe { *self.0.get() = slot as u32 }
    }

    pub fn define_counter(&self, name: &str) {
        self.define(0, name)
    }

    pub fn define_gauge(&self, name: &str) {
        self.define(1, name)
    }

    /// Adds to a counter (a metric never defined traps).
    #[inline]
    pub fn add(&self, n: u64) {
        let slot = unsafe { *self.0.get() } as usize;
        let slots = unsafe { &mut *SHARED.metrics.get() };
        slots[slot] = slots[slot].wrapping_add(n);
    }

    /// Sets a gauge.
    #[inline]
    pub fn set(&self, value: i64) {
        let slot = unsafe { *self.0.get() } as usize;
        unsafe { (*SHARED.metrics.get())[slot] = value as u64 }
    }
}

extern "C" {
    static __heap_base: u8;
}

struct Heap(UnsafeCell<usize>);
unsafe impl Sync for Heap {}
static HEAP_TOP: Heap = Heap(UnsafeCell::new(0));

/// size bytes aligned to align (a power of two), zeroed, after the module's
/// data and stack; None when the memory cannot grow that far.
pub fn alloc(size: usize, align: usize) -> Option<*mut u8> {
    use core::arch::wasm32::{memory_grow, memory_size};
    let top = unsafe { &mut *HEAP_TOP.0.get() };
    if *top == 0 {
        *top = unsafe { &__heap_base as *const u8 as usize };
    }
    let at = top.checked_add(align - 1)? & !(align - 1);
    let end = at.checked_add(size)?;
    let have = memory_size(0) * 65536;
    if end > have && memory_grow(0, (end - have + 65535) / 65536) == usize::MAX {
        return None;
    }
    *top = end;
    Some(at as *mut u8)
}

/// Where the host writes len bytes for the NF (a config, state): traps when there is no memory.
#[doc(hidden)]
pub fn buffer(len: i32, align: usize) -> u32 {
    match alloc(len.max(1) as usize, align) {
        Some(p) => p as u32,
        None => core::arch::wasm32::unreachable(),
    }
}

fn refuse_config(reason: &str) -> i32 {
    let mut line = Text::<512>::new();
    let _ = write!(line, "config: {}", reason);
    log(LogLevel::Error, line.as_str());
    1
}

/// Parses the config text twice (to count its tokens, then into them) and gives it to the NF.
#[doc(hidden)]
pub fn configure(ptr: u32, len: i32, nf_configure: fn(&mut Config) -> Result<(), Refused>) -> i32 {
    let text = unsafe { core::slice::from_raw_parts(ptr as *const u8, len.max(0) as usize) };
    let n = match Config::count_tokens(text) {
        Ok(n) => n as usize,
        Err(why) => return refuse_config(why.as_str()),
    };
    let tokens = match alloc(n * core::mem::size_of::<json::Token>(), 4) {
        Some(p) => unsafe { core::slice::from_raw_parts_mut(p as *mut json::Token, n) },
        None => return refuse_config("no memory for its JSON tokens"),
    };
    let mut config = match Config::parse_into(text, tokens) {
        Ok(c) => c,
        Err(why) => return refuse_config(why.as_str()),
    };
    match nf_configure(&mut config) {
        Ok(()) => 0,
        Err(Refused) => refuse_config(if config.error().is_empty() { "refused" } else { config.error() }),
    }
}

#[doc(hidden)]
pub fn state_import(ptr: u32, len: i32, nf_import: fn(&mut StateReader) -> bool) -> i32 {
    let data = unsafe { core::slice::from_raw_parts(ptr as *const u8, len.max(0) as usize) };
    if nf_import(&mut StateReader::new(data)) { 0 } else { 1 }
}

/// Nanoseconds of the host's monotonic clock: in `process`, the burst's start.
pub fn now_ns() -> u64 {
    let now = unsafe { core::ptr::read_volatile(SHARED.clock.get()) };
    if now != 0 { now } else { unsafe { host::netvm_now_ns() as u64 } }
}

/// The burst `process` decides: its records, and each packet's bytes.
pub struct Burst {
    n: usize,
}

impl Burst {
    #[doc(hidden)]
    pub fn new(n: i32) -> Burst {
        Burst { n: (n.max(0) as usize).min(MAX_BURST) }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Packet i's record (its length, room, input port, verdict and meta).
    pub fn record(&mut self, i: usize) -> &mut Record {
        assert!(i < self.n);
        unsafe { &mut (*SHARED.records.get())[i] }
    }

    /// Packet i's bytes, [0, len): reading or writing them is the NF's own business.
    pub fn packet(&mut self, i: usize) -> &mut [u8] {
        let r = *self.record(i);
        let base = unsafe { *SHARED.window_base.get() } as usize + r.pool_off as usize;
        unsafe { core::slice::from_raw_parts_mut(base as *mut u8, r.len as usize) }
    }

    pub fn set_verdict(&mut self, i: usize, verdict: u32) {
        self.record(i).verdict = verdict;
    }
}

/// The big-endian u16 at p[at..at + 2].
#[inline]
pub fn be16(p: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([p[at], p[at + 1]])
}

#[inline]
pub fn put_be16(p: &mut [u8], at: usize, v: u16) {
    p[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub fn be32(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

#[inline]
pub fn fold16(sum: u32) -> u32 {
    let sum = (sum & 0xffff) + (sum >> 16);
    (sum & 0xffff) + (sum >> 16)
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word changes from old to new.
#[inline]
pub fn checksum_update16(checksum: u16, old_word: u16, new_word: u16) -> u16 {
    !(fold16(u32::from(!checksum) + u32::from(!old_word) + u32::from(new_word)) as u16)
}

/// The ones'-complement sum of p (an even length) as network-order words, folded, not inverted.
#[inline]
pub fn sum16(p: &[u8]) -> u32 {
    let mut sum: u32 = 0;
    for w in p.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    fold16(sum)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The exports the host calls, around the NF's `init` and `process`, and the
/// optional ones it names (see the top of this file).
#[macro_export]
macro_rules! nf {
    ($init:path, $process:path
     $(, configure = $configure:path)?
     $(, tick = $tick:path)?
     $(, state = ($export:path, $import:path))?
     $(, reads_meta = $reads_meta:expr)? $(,)?) => {
        #[no_mangle]
        pub extern "C" fn netvm_window() -> u32 {
            $crate::SHARED.window_base.get() as u32
        }
        #[no_mangle]
        pub extern "C" fn netvm_abi_version() -> i32 {
            unsafe {
                if !*$crate::SHARED.initialized.get() {
                    *$crate::SHARED.initialized.get() = true;
                    $init();
                }
            }
            $crate::ABI_VERSION
        }
        #[no_mangle]
        pub extern "C" fn netvm_batch() -> u32 {
            $crate::SHARED.records.get() as u32
        }
        #[no_mangle]
        pub extern "C" fn netvm_max_burst() -> i32 {
            $crate::MAX_BURST as i32
        }
        #[no_mangle]
        pub extern "C" fn netvm_metrics() -> u32 {
            $crate::SHARED.metrics.get() as u32
        }
        #[no_mangle]
        pub extern "C" fn netvm_clock() -> u32 {
            $crate::SHARED.clock.get() as u32
        }
        #[no_mangle]
        pub extern "C" fn netvm_process(n: i32) {
            $process(&mut $crate::Burst::new(n))
        }
        $(
            #[no_mangle]
            pub extern "C" fn netvm_config_buffer(len: i32) -> u32 {
                $crate::buffer(len, 1)
            }
            #[no_mangle]
            pub extern "C" fn netvm_configure(ptr: u32, len: i32) -> i32 {
                $crate::configure(ptr, len, $configure)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn netvm_tick(now_ns: i64) {
                $tick(now_ns as u64)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn netvm_state_export() -> u32 {
                $export()
            }
            #[no_mangle]
            pub extern "C" fn netvm_state_buffer(len: i32) -> u32 {
                $crate::buffer(len, 4)
            }
            #[no_mangle]
            pub extern "C" fn netvm_state_import(ptr: u32, len: i32) -> i32 {
                $crate::state_import(ptr, len, $import)
            }
        )?
        $(
            #[no_mangle]
            pub extern "C" fn netvm_reads_meta() -> i32 {
                ($reads_meta) as i32
            }
        )?
    };
}
