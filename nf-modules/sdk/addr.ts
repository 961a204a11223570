// Addresses and prefixes as written in configs: "10.1.2.3", "10.0.0.0/8",
// "2001:db8::1", "2001:db8::/32", "02:00:00:00:00:01". For configure time:
// they read strings; nothing here is for the per-packet path.

/** An IPv4 address in host order, or -1 when s is not one. */
export function parseIpv4(s: string): i64 {
  let value: u32 = 0;
  let part: i32 = -1;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final '.'
    if (c >= 48 && c <= 57) {
      if (part == 0) return -1; // a leading zero
      part = (part < 0 ? 0 : part * 10) + (c - 48);
      if (part > 255) return -1;
    } else if (c == 46) {
      if (part < 0 || ++parts > 4) return -1;
      value = (value << 8) | <u32>part;
      part = -1;
    } else {
      return -1;
    }
  }
  return parts == 4 ? <i64>value : -1;
}

function hexDigit(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Writes the IPv6 address s as 16 bytes at out; false when s is not one.
 *  Accepts "::" compression and a dotted IPv4 tail ("::ffff:10.0.0.1"). */
export function parseIpv6(s: string, out: usize): bool {
  const groups = new StaticArray<u16>(8);
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (s.length == 2) {
      memory.fill(out, 0, 16);
      return true;
    }
  } else if (s.startsWith(':')) {
    return false;
  }
  while (i < s.length) {
    if (n == 8) return false;
    // A dotted IPv4 tail fills two groups.
    const rest = s.substring(i);
    if (rest.includes('.') && !rest.includes(':')) {
      const v4 = parseIpv4(rest);
      if (v4 < 0 || n > 6) return false;
      groups[n++] = <u16>(v4 >> 16);
      groups[n++] = <u16>v4;
      i = s.length;
      break;
    }
    let value = 0;
    let digits = 0;
    while (i < s.length && hexDigit(s.charCodeAt(i)) >= 0) {
      value = (value << 4) | hexDigit(s.charCodeAt(i++));
      if (++digits > 4) return false;
    }
    if (digits == 0) return false;
    groups[n++] = <u16>value;
    if (i == s.length) break;
    if (s.charCodeAt(i) != 58) return false;
    i++;
    if (i < s.length && s.charCodeAt(i) == 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i == s.length) break;
    } else if (i == s.length) {
      return false; // a trailing single ':'
    }
  }
  if (gap < 0 ? n != 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let g = 0, k = 0; g < 8; g++) {
    const value = gap >= 0 && g >= gap && g < gap + zeros ? 0 : groups[k++];
    store<u8>(out + <usize>(g * 2), <u8>(value >> 8));
    store<u8>(out + <usize>(g * 2 + 1), <u8>value);
  }
  return true;
}

/** A prefix ("10.0.0.0/8", "2001:db8::/32", or an address alone: all of its
 *  bits). Writes the address at out (16 bytes; IPv4 in the first 4, network
 *  order, the rest zero) and returns (version << 8) | length, or -1. Bits
 *  past the length must be zero. */
export function parsePrefix(s: string, out: usize): i32 {
  const slash = s.indexOf('/');
  const text = slash < 0 ? s : s.substring(0, slash);
  let version = 4;
  memory.fill(out, 0, 16);
  const v4 = parseIpv4(text);
  if (v4 >= 0) {
    store<u32>(out, bswap<u32>(<u32>v4));
  } else if (parseIpv6(text, out)) {
    version = 6;
  } else {
    return -1;
  }
  const max = version == 4 ? 32 : 128;
  let len = max;
  if (slash >= 0) {
    const digits = s.substring(slash + 1);
    if (digits.length == 0 || digits.length > 3) return -1;
    len = 0;
    for (let i = 0; i < digits.length; i++) {
      const c = digits.charCodeAt(i);
      if (c < 48 || c > 57) return -1;
      len = len * 10 + (c - 48);
    }
    if (len > max) return -1;
  }
  for (let bit = len; bit < max; bit++) {
    if ((load<u8>(out + <usize>(bit >> 3)) & (0x80 >> (bit & 7))) != 0) return -1;
  }
  return (version << 8) | len;
}

/** Writes the MAC address s ("02:00:00:00:00:01") as 6 bytes at out; false when s is not one. */
export function parseMac(s: string, out: usize): bool {
  if (s.length != 17) return false;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(s.charCodeAt(i * 3));
    const lo = hexDigit(s.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && s.charCodeAt(i * 3 + 2) != 58)) return false;
    store<u8>(out + <usize>i, <u8>((hi << 4) | lo));
  }
  return true;
}
