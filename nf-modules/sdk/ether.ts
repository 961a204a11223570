// Ethernet framing: where the L3 header starts, through 802.1Q and QinQ tags.
import { loadBe16 } from './bytes';

export const ETH_HLEN: u32 = 14;
export const ETHERTYPE_IPV4: u32 = 0x0800;
export const ETHERTYPE_IPV6: u32 = 0x86dd;
export const ETHERTYPE_VLAN: u32 = 0x8100;
export const ETHERTYPE_QINQ: u32 = 0x88a8;

/** The L3 offset and ethertype of a frame, packed as (offset << 16) | ethertype;
 *  0 when the frame is too short to say. */
export function l3Of(p: usize, len: u32): u32 {
  if (len < ETH_HLEN) return 0;
  let off: u32 = 12;
  let type = loadBe16(p + off);
  if (type == ETHERTYPE_QINQ) {
    if (len < off + 8) return 0;
    off += 4;
    type = loadBe16(p + off);
    if (type != ETHERTYPE_VLAN) return 0;
  }
  if (type == ETHERTYPE_VLAN) {
    if (len < off + 6) return 0;
    off += 4;
    type = loadBe16(p + off);
  }
  return ((off + 2) << 16) | type;
}
