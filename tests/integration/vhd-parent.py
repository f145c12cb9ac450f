#!/usr/bin/env python3
"""Make the parents and children of differencing disks from images that
qemu-img wrote (qemu-img cannot write differencing VHD or VHDX).

usage: vhd-parent.py vhdx-linkage PARENT.vhdx GUID
           set the DataWriteGuid of both VHDX headers (CRC-32C updated),
           so that a child whose parent_linkage is GUID accepts PARENT
       vhdx-child CHILD.vhdx KEY=VALUE...
           turn the dynamic VHDX CHILD (as qemu-img writes it) into a
           differencing disk: HasParent set in its file parameters and a
           parent locator item ([MS-VHDX] 2.6.2.6) added to its metadata
           table, holding the entries given (parent_linkage,
           relative_path, volume_path, absolute_win32_path, any string;
           the metadata region has no checksum)
       vhd-child CHILD.vhd PARENT.vhd
           turn the dynamic VHD CHILD into a differencing disk of PARENT:
           disk type 4 in both footers, the parent's unique ID and name
           (UTF-16BE, no locators) in the dynamic header, checksums fixed.
           qemu sets every sector-bitmap bit of a block it allocates, so
           each block CHILD holds hides the parent's whole block."""
import struct
import sys
import uuid


def crc32c(data):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    c = 0xffffffff
    for b in data:
        c = t[(c ^ b) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff


def vhdx_linkage(path, g):
    g = uuid.UUID(g).bytes_le
    with open(path, 'r+b') as f:
        for off in (64 * 1024, 128 * 1024):
            f.seek(off)
            h = bytearray(f.read(4096))
            assert h[:4] == b'head', 'no VHDX header at %d' % off
            h[32:48] = g
            h[4:8] = bytes(4)
            struct.pack_into('<I', h, 4, crc32c(bytes(h)))
            f.seek(off)
            f.write(h)


def vhd_sum(b, at):
    b[at:at + 4] = bytes(4)
    struct.pack_into('>I', b, at, ~sum(b) & 0xffffffff)


def vhd_child(child, parent, name):
    with open(parent, 'rb') as f:
        f.seek(-512, 2)
        pid = f.read(512)[68:84]
    with open(child, 'r+b') as f:
        f.seek(0)
        foot = bytearray(f.read(512))
        assert foot[:8] == b'conectix', 'not a dynamic VHD'
        struct.pack_into('>I', foot, 60, 4)
        vhd_sum(foot, 64)
        f.seek(0)
        f.write(foot)
        f.seek(-512, 2)
        f.write(foot)
        dyn = struct.unpack('>Q', foot[16:24])[0]
        f.seek(dyn)
        h = bytearray(f.read(1024))
        assert h[:8] == b'cxsparse', 'no dynamic header'
        h[40:56] = pid
        u = name.encode('utf-16-be')
        h[64:576] = u + bytes(512 - len(u))
        vhd_sum(h, 36)
        f.seek(dyn)
        f.write(h)


META_REGION = uuid.UUID('8b7ca206-4790-4b9a-b8fe-575f050f886e')
FILE_PARAMS = uuid.UUID('caa16737-fa36-4d43-b3b6-33f0aa44e76b')
PARENT_LOC = uuid.UUID('a8d35f2d-b30b-454d-abf7-d3d84834ab0c')
LOC_TYPE = uuid.UUID('b04aefb7-d19e-4a81-b789-25b8e9445913')


def locator_item(pairs):
    keys = b''
    head = bytearray(LOC_TYPE.bytes_le + struct.pack('<HH', 0, len(pairs)))
    at = 20 + 12 * len(pairs)
    for k, v in pairs:
        k, v = k.encode('utf-16-le'), v.encode('utf-16-le')
        head += struct.pack('<IIHH', at, at + len(k), len(k), len(v))
        keys += k + v
        at += len(k) + len(v)
    return bytes(head) + keys


def vhdx_child(path, pairs):
    with open(path, 'r+b') as f:
        f.seek(192 * 1024)
        rt = f.read(64 * 1024)
        assert rt[:4] == b'regi', 'no VHDX region table'
        for i in range(struct.unpack_from('<I', rt, 8)[0]):
            e = rt[16 + 32 * i:48 + 32 * i]
            if uuid.UUID(bytes_le=e[:16]) == META_REGION:
                meta = struct.unpack_from('<Q', e, 16)[0]
        f.seek(meta)
        t = bytearray(f.read(64 * 1024))
        assert t[:8] == b'metadata', 'no metadata table'
        n = struct.unpack_from('<H', t, 10)[0]
        end = 64 * 1024
        for i in range(n):
            e = 32 + 32 * i
            off, ln = struct.unpack_from('<II', t, e + 16)
            end = max(end, off + ln)
            if uuid.UUID(bytes_le=bytes(t[e:e + 16])) == FILE_PARAMS:
                f.seek(meta + off + 4)
                flags = struct.unpack('<I', f.read(4))[0] | 2
                f.seek(meta + off + 4)
                f.write(struct.pack('<I', flags))
        item = locator_item(pairs)
        at = (end + 4095) // 4096 * 4096
        e = 32 + 32 * n
        t[e:e + 32] = PARENT_LOC.bytes_le + struct.pack('<IIII', at,
                                                        len(item), 4, 0)
        struct.pack_into('<H', t, 10, n + 1)
        f.seek(meta)
        f.write(t)
        f.seek(meta + at)
        f.write(item)


if sys.argv[1] == 'vhdx-linkage':
    vhdx_linkage(sys.argv[2], sys.argv[3])
elif sys.argv[1] == 'vhdx-child':
    # a key given twice keeps its first place and its last value
    vhdx_child(sys.argv[2],
               list(dict(a.split('=', 1) for a in sys.argv[3:]).items()))
elif sys.argv[1] == 'vhd-child':
    vhd_child(sys.argv[2], sys.argv[3], sys.argv[3].split('/')[-1])
else:
    sys.exit(__doc__)
