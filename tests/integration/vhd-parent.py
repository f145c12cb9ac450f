#!/usr/bin/env python3
"""Make the parents and children of differencing disks from images that
qemu-img wrote (qemu-img cannot write differencing VHD or VHDX).

usage: vhd-parent.py vhdx-linkage PARENT.vhdx GUID
           set the DataWriteGuid of both VHDX headers (CRC-32C updated),
           so that a child whose parent_linkage is GUID accepts PARENT
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


if sys.argv[1] == 'vhdx-linkage':
    vhdx_linkage(sys.argv[2], sys.argv[3])
elif sys.argv[1] == 'vhd-child':
    vhd_child(sys.argv[2], sys.argv[3], sys.argv[3].split('/')[-1])
else:
    sys.exit(__doc__)
