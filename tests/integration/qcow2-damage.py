#!/usr/bin/env python3
"""Damage a qcow2 image's refcounts for the check tests.

usage: qcow2-damage.py IMG set CLUSTER VALUE   set a stored refcount
       qcow2-damage.py IMG grow                append a cluster, refcount 1
       qcow2-damage.py IMG first-data          print the first data cluster
       qcow2-damage.py IMG crash               what a crash leaves in an image
                                               with lazy refcounts: every data
                                               cluster at refcount 0 (their
                                               updates are the ones deferred;
                                               L2 tables are ordered), the
                                               dirty bit set
Only 16-bit refcounts and refcount blocks already present are handled."""
import struct
import sys


def header(f):
    f.seek(0)
    h = f.read(104)
    cb = struct.unpack('>I', h[20:24])[0]
    rt_off = struct.unpack('>Q', h[48:56])[0]
    l1_off = struct.unpack('>Q', h[40:48])[0]
    order = struct.unpack('>I', h[96:100])[0] if struct.unpack('>I', h[4:8])[0] == 3 else 4
    assert order == 4, 'only 16-bit refcounts'
    return cb, rt_off, l1_off


def set_rc(f, cluster, value):
    cb, rt_off, _ = header(f)
    per_block = (1 << cb) // 2
    f.seek(rt_off + 8 * (cluster // per_block))
    blk = struct.unpack('>Q', f.read(8))[0]
    assert blk, 'no refcount block for that cluster'
    f.seek(blk + 2 * (cluster % per_block))
    f.write(struct.pack('>H', value))


def main():
    img, op = sys.argv[1], sys.argv[2]
    with open(img, 'r+b') as f:
        cb, _, l1_off = header(f)
        if op == 'set':
            set_rc(f, int(sys.argv[3]), int(sys.argv[4]))
        elif op == 'grow':
            f.seek(0, 2)
            end = (f.tell() + (1 << cb) - 1) >> cb
            f.truncate((end + 1) << cb)
            set_rc(f, end, 1)
        elif op == 'crash':
            f.seek(36)
            l1_size = struct.unpack('>I', f.read(4))[0]
            f.seek(l1_off)
            l1 = struct.unpack('>%dQ' % l1_size, f.read(8 * l1_size))
            for e in l1:
                l2 = e & 0x00fffffffffffe00
                if not l2:
                    continue
                f.seek(l2)
                n = (1 << cb) // 8
                for d in struct.unpack('>%dQ' % n, f.read(8 * n)):
                    if d & 0x00fffffffffffe00 and not d & (1 << 62):
                        set_rc(f, (d & 0x00fffffffffffe00) >> cb, 0)
            f.seek(72)
            v = struct.unpack('>Q', f.read(8))[0]
            f.seek(72)
            f.write(struct.pack('>Q', v | 1))
        elif op == 'first-data':
            f.seek(l1_off)
            l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
            f.seek(l2)
            for _ in range((1 << cb) // 8):
                e = struct.unpack('>Q', f.read(8))[0]
                if e & 0x00fffffffffffe00 and not e & (1 << 62):
                    print((e & 0x00fffffffffffe00) >> cb)
                    return
            sys.exit('no data cluster')


main()
