#!/usr/bin/python3
"""libvhdi (libyal's VHD/VHDX reader, Debian's python3-libvhdi) as a
second, independent reader where qemu-img has none: VHDX differencing
(qemu-img 7.2 refuses it: "Operation not supported"), VHDX with 4096-byte
logical sectors (refused the same way) and VHD differencing (qemu-img
opens it but ignores the parent and the sector bitmaps).

usage: vhdi-oracle.py IMAGE RAW [PARENT]
       vhdi-oracle.py --blocks IMAGE   (print the blocks IMAGE holds, in
                                        MiB, from its BAT, parsed here)
Reads IMAGE (over PARENT when given) with libvhdi and compares it with
RAW, vmconv's export of it: same size, same bytes.  Images over 1 GiB are
compared over the blocks that IMAGE or PARENT hold (found from their BATs,
parsed here) and RAW must hold only zeros everywhere else.  Exit 0 when
equal, 1 with the first differing offset."""
import os
import struct
import sys
import uuid

MiB = 1 << 20
STEP = 4 * MiB


def guid(s):
    return uuid.UUID(s).bytes_le


BAT = guid('2DC27766-F623-4200-9D64-115E9BFD4A08')
META = guid('8B7CA206-4790-4B9A-B8FE-575F050F886E')
FILE_PARAMS = guid('CAA16737-FA36-4D43-B3B6-33F0AA44E76B')
SECTOR = guid('8141BF1D-A96F-4709-BA47-F233A8FAAB5F')


def vhdx_blocks(f):
    """Payload blocks that are present (fully or partially), as (off, len)."""
    f.seek(192 * 1024)
    rt = f.read(64 * 1024)
    assert rt[:4] == b'regi', 'no VHDX region table'
    regions = {}
    for i in range(struct.unpack('<I', rt[8:12])[0]):
        e = rt[16 + 32 * i:48 + 32 * i]
        regions[e[:16]] = struct.unpack('<QI', e[16:28])
    moff, _ = regions[META]
    f.seek(moff)
    mt = f.read(64 * 1024)
    items = {}
    for i in range(struct.unpack('<H', mt[10:12])[0]):
        e = mt[32 + 32 * i:64 + 32 * i]
        off, ln = struct.unpack('<II', e[16:24])
        f.seek(moff + off)
        items[e[:16]] = f.read(ln)
    bs = struct.unpack('<I', items[FILE_PARAMS][:4])[0]
    ss = struct.unpack('<I', items[SECTOR][:4])[0]
    ratio = (1 << 23) * ss // bs
    boff, blen = regions[BAT]
    f.seek(boff)
    bat = f.read(blen)
    out = []
    for i in range(blen // 8):
        if i % (ratio + 1) == ratio:
            continue			# a sector-bitmap entry
        state = struct.unpack('<Q', bat[8 * i:8 * i + 8])[0] & 7
        if state in (6, 7):		# FULLY / PARTIALLY_PRESENT
            b = i - i // (ratio + 1)
            out.append((b * bs, bs))
    return out


def vhd_blocks(f):
    f.seek(0)
    foot = f.read(512)
    dyn = struct.unpack('>Q', foot[16:24])[0]
    if dyn == 0xffffffffffffffff:
        return [(0, os.fstat(f.fileno()).st_size)]
    f.seek(dyn)
    h = f.read(1024)
    table, entries, bs = struct.unpack('>QII', h[16:32])
    f.seek(table)
    bat = struct.unpack('>%dI' % entries, f.read(4 * entries))
    return [(i * bs, bs) for i, e in enumerate(bat) if e != 0xffffffff]


def blocks(path):
    with open(path, 'rb') as f:
        magic = f.read(8)
        return vhdx_blocks(f) if magic == b'vhdxfile' else vhd_blocks(f)


def data_runs(path):
    """The runs of RAW that are not holes (SEEK_DATA / SEEK_HOLE)."""
    fd = os.open(path, os.O_RDONLY)
    size, off, runs = os.fstat(fd).st_size, 0, []
    try:
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            h = os.lseek(fd, d, os.SEEK_HOLE)
            runs.append((d, h - d))
            off = h
    finally:
        os.close(fd)
    return runs


def merge(runs, size):
    runs = sorted((o, min(o + n, size)) for o, n in runs if o < size)
    out = []
    for s, e in runs:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def uncovered(a, b, ranges):
    """The parts of [a, b) outside the sorted, merged ranges."""
    for s, e in ranges:
        if e <= a or s >= b:
            continue
        if s > a:
            yield a, s
        a = max(a, e)
    if a < b:
        yield a, b


def differ(a, b, base):
    for i in range(0, len(a), 512):
        if a[i:i + 512] != b[i:i + 512]:
            return base + i
    return base


def main():
    if sys.argv[1] == '--blocks':
        for off, n in merge(blocks(sys.argv[2]), 1 << 62):
            print(off >> 20, (n - off) >> 20)
        return
    import pyvhdi
    image, raw = sys.argv[1], sys.argv[2]
    parent = sys.argv[3] if len(sys.argv) > 3 else None
    img = pyvhdi.file()
    img.open(image)
    if parent:
        p = pyvhdi.file()
        p.open(parent)
        img.set_parent(p)
    size = img.media_size
    if os.path.getsize(raw) != size:
        sys.exit('%s: %d bytes, libvhdi reads %d' %
                 (raw, os.path.getsize(raw), size))
    if size <= 1 << 30:
        ranges = [[0, size]]
    else:
        ranges = merge(blocks(image) + (blocks(parent) if parent else []),
                       size)
    print('libvhdi %s: %d bytes, %d bytes compared' %
          (image, size, sum(e - s for s, e in ranges)))
    with open(raw, 'rb') as r:
        for s, e in ranges:
            for off in range(s, e, STEP):
                n = min(STEP, e - off)
                want = img.read_buffer_at_offset(n, off)
                r.seek(off)
                got = r.read(n)
                if want != got:
                    sys.exit('%s differs from libvhdi\'s reading at offset '
                             '%d' % (raw, differ(want, got, off)))
        # outside the blocks both images leave unallocated: zeros
        for d, n in data_runs(raw):
            for a, b in uncovered(d, d + n, ranges):
                for off in range(a, b, STEP):
                    m = min(STEP, b - off)
                    r.seek(off)
                    buf = r.read(m)
                    if buf.count(0) != m:
                        sys.exit('%s has data at %d, where neither image '
                                 'has a block' %
                                 (raw, differ(buf, bytes(m), off)))
    img.close()


main()
